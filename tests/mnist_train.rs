//! End to end on real MNIST: the dropout MLP of examples/mnist.rs, trained
//! for a few hundred steps, must classify at least 90% of the test set.
//!
//! The data comes from `$MNIST_DIR`, else `../shared/mnist` next to the
//! crate root, and is never downloaded here. Without it the test is skipped
//! with a note, except under `CI=true`, where missing data is a failure.

mod common;

use tensorgraph::datasets::mnist::{self, Options};
use tensorgraph::ops as tf;
use tensorgraph::train::{AdamOptimizer, Optimizer};
use tensorgraph::{feed, nn, DType, Graph, Session};

const STEPS: usize = 500;

#[test]
fn dropout_mlp_reaches_90_percent_on_the_test_set() {
    let Some(dir) = common::real_mnist_dir("the MNIST training test") else {
        return;
    };
    let mut data = mnist::read_data_sets_with(&dir, &Options::new().one_hot(true).offline())
        .expect("MNIST files are readable");

    let g = Graph::new();
    g.set_random_seed(0);
    let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
    let y = g.placeholder(DType::Float32, [None, Some(10)], "y");
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let layer = |input, n_in: usize, n_out: usize, name: &str| {
        let w = g.variable(g.truncated_normal([n_in, n_out], 0.1), &format!("W{name}"));
        let b = g.variable(g.ones([n_out], DType::Float32), &format!("b{name}"));
        tf::add(tf::matmul(input, w, false, false), b)
    };
    let y1_dropout = nn::dropout(nn::relu(layer(x, 784, 200, "1")), keep_prob);
    let y2_dropout = nn::dropout(nn::relu(layer(y1_dropout, 200, 100, "2")), keep_prob);
    let y_logits = layer(y2_dropout, 100, 10, "3");
    let cost = tf::reduce_mean(
        nn::softmax_cross_entropy_with_logits(y, y_logits),
        None,
        false,
    );
    let train_step = AdamOptimizer::new(0.001).minimize(cost);
    let true_pred = tf::equal(
        tf::argmax(nn::softmax(y_logits, -1), 1, DType::Int64),
        tf::argmax(y, 1, DType::Int64),
    );
    let accuracy = tf::reduce_mean(tf::cast(true_pred, DType::Float32), None, false);
    let init = g.global_variables_initializer();

    let mut sess = Session::new(&g);
    sess.run(init, &feed! {}).unwrap();
    for _ in 0..STEPS {
        let (batch_x, batch_y) = data.train.next_batch(128);
        sess.run(
            train_step,
            &feed! { x => &batch_x, y => &batch_y, keep_prob => 0.5f32 },
        )
        .unwrap();
    }
    let (test_x, test_y) = (data.test.images(), data.test.labels());
    let test_accuracy = sess
        .run(
            accuracy,
            &feed! { x => &test_x, y => &test_y, keep_prob => 1.0f32 },
        )
        .unwrap()
        .scalar::<f32>()
        .unwrap();
    assert!(
        test_accuracy >= 0.9,
        "test accuracy after {STEPS} steps is {test_accuracy}, expected at least 0.9"
    );
}
