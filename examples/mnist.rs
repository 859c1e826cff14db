//! Teaches: porting a TensorFlow 1.x script line for line. This is the
//! dropout tutorial's MNIST script (`shared/reference/tf1_mnist_dropout.py`):
//! a 784-200-100-10 relu network with dropout, trained with Adam. TF's
//! comments stand next to the Rust lines they describe; docs/mnist.md puts
//! the two side by side.
//!
//! Beyond the script: test-set accuracy as the last line, a progress bar,
//! timing, and flags (`--help`). Run:
//!
//!     cargo run --release --example mnist
//!     cargo run --release --example mnist -- --epochs 10 --plot curves.svg
//!
//! MNIST is read from `--data-dir`, else `$MNIST_DIR`, else `data/mnist`,
//! and downloaded there if absent.

mod common;

use common::{Curves, Flags, Model};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tensorgraph::datasets::mnist;
use tensorgraph::ops as tf;
use tensorgraph::train::{AdamOptimizer, Optimizer, Saver};
use tensorgraph::{feed, nn, DType, Graph, Session};

fn main() -> ExitCode {
    let defaults = Flags {
        steps: 1000,
        batch_size: 128,
        keep_prob: 0.5,
        learning_rate: 0.001,
        seed: 0,
        data_dir: mnist::default_dir(),
        plot: None,
        save: None,
    };
    let result = match Flags::parse("mnist", defaults) {
        Ok(flags) => run(&flags),
        Err(message) => Err(message.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: &Flags) -> Result<(), Box<dyn std::error::Error>> {
    // load mnist dataset
    let mut mnist = common::load(&flags.data_dir, flags.seed)?;

    let g = Graph::new();
    g.set_random_seed(flags.seed);

    // create placeholders for the input and output
    let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
    let y = g.placeholder(DType::Float32, [None, Some(10)], "y");

    // model parameters
    let w1 = g.variable(g.truncated_normal([784, 200], 0.1), "W1");
    let b1 = g.variable(g.ones([200], DType::Float32), "b1");
    let w2 = g.variable(g.truncated_normal([200, 100], 0.1), "W2");
    let b2 = g.variable(g.ones([100], DType::Float32), "b2");
    let w3 = g.variable(g.truncated_normal([100, 10], 0.1), "W3");
    let b3 = g.variable(g.ones([10], DType::Float32), "b3");

    // "p" = probability that a neuron is kept
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");

    // The printed script feeds y1 and y2 (not y1_dropout and y2_dropout)
    // into the next layers, so its dropout nodes are built but unused. This
    // port feeds the dropout outputs forward, as the tutorial means.
    let y1 = nn::relu(tf::add(x.matmul(w1), b1)); // hidden layer 1
    let y1_dropout = nn::dropout(y1, keep_prob); // apply dropout (*)
    let y2 = nn::relu(tf::add(y1_dropout.matmul(w2), b2)); // hidden layer 2
    let y2_dropout = nn::dropout(y2, keep_prob); // apply dropout (*)
    let y_logits = tf::add(y2_dropout.matmul(w3), b3); // output layer
    let y_hat = nn::softmax(y_logits, -1); // softmax

    // cost function
    let cost = tf::reduce_mean(
        nn::softmax_cross_entropy_with_logits(y, y_logits),
        None,
        false,
    );

    // optimizer (adam optimizer)
    let train_step = AdamOptimizer::new(flags.learning_rate).minimize(cost);

    // accuracy
    let true_pred = tf::equal(
        tf::argmax(y_hat, 1, DType::Int64),
        tf::argmax(y, 1, DType::Int64),
    );
    let accuracy = tf::reduce_mean(tf::cast(true_pred, DType::Float32), None, false);

    // train the model
    // (the initializer is built before the session: a session freezes the graph)
    let init = g.global_variables_initializer();
    let mut saver = Saver::new(&g);
    let mut sess = Session::new(&g);
    sess.run(init, &feed! {})?;

    let model = Model {
        x,
        y,
        keep_prob,
        accuracy,
        cost,
    };
    let mut curves = Curves::default();
    let mut plot_time = Duration::ZERO;
    let bar = common::progress_bar(flags.steps);
    let started = Instant::now();
    for i in 0..flags.steps {
        let (batch_x, batch_y) = mnist.train.next_batch(flags.batch_size);
        sess.run(
            train_step,
            &feed! { x => &batch_x, y => &batch_y, keep_prob => flags.keep_prob },
        )?;
        // print accuracy and cost after every 100 iterations
        if i % 100 == 0 {
            // notice keep_prob = 1.0 during test (*)
            let (acc, cost_v) = sess.run(
                (accuracy, cost),
                &feed! { x => &batch_x, y => &batch_y, keep_prob => 1.0f32 },
            )?;
            let (acc, cost_v) = (acc.scalar::<f32>()?, cost_v.scalar::<f32>()?);
            bar.suspend(|| {
                println!("Iteration number: {i}");
                println!("Accuracy {acc}");
                println!("Cost {cost_v}");
            });
            if flags.plot.is_some() {
                let plot_started = Instant::now();
                let validation = common::evaluate(&mut sess, &model, &mnist.validation, 1000)?;
                curves.push(i, (f64::from(acc), f64::from(cost_v)), validation);
                plot_time += plot_started.elapsed();
            }
        }
        bar.inc(1);
    }
    let train_time = started.elapsed() - plot_time;
    bar.finish_and_clear();
    common::print_timing(train_time, flags.steps);

    if let Some(path) = &flags.plot {
        curves.plot(
            path,
            "MLP 784-200-100-10 with dropout, Adam 0.001, batch 128",
        )?;
        println!("curves written to {}", path.display());
    }
    if let Some(path) = &flags.save {
        common::create_parent_dir(path)?;
        let written = saver.save(&sess, path, Some(flags.steps as i64))?;
        println!("checkpoint written to {}", written.display());
    }
    let (test_accuracy, _) = common::evaluate(&mut sess, &model, &mnist.test, 2000)?;
    println!("test accuracy: {test_accuracy:.4}");
    Ok(())
}
