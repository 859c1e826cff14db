//! Teaches: classification with a fused, numerically stable loss, and the
//! TF1 accuracy idiom. Two Gaussian blobs in the plane are the two classes.
//! With `--loss sigmoid` (the default) the model has one logit per example
//! and the loss is `sigmoid_cross_entropy_with_logits`; with `--loss softmax`
//! it has one logit per class, integer labels turned into one-hot rows by
//! `one_hot`, and `softmax_cross_entropy_with_logits`, as the MNIST
//! tutorial. Either way the model sees logits, never probabilities: applying
//! `sigmoid`/`softmax` first and then a cross-entropy is the classic bug.
//! Accuracy is `reduce_mean(cast(equal(prediction, label), f32))`.
//!
//! Run: `cargo run --example logistic_regression -- [--loss sigmoid|softmax]
//! [--steps 200] [--learning-rate 0.5] [--print-every 50] [--seed 0]`.
//! Exits non-zero when test accuracy stays below 0.9.

#[path = "common/args.rs"]
mod args;

use args::Args;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tensorgraph::ops::{
    argmax, equal, greater, one_hot, sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
};
use tensorgraph::train::{GradientDescentOptimizer, Optimizer};
use tensorgraph::{feed, DType, Graph, Session, Tensor};

/// `n` points: class 0 around (-1, -1), class 1 around (1, 1), each with
/// standard deviation 0.8. Returns the points and the labels (0 or 1).
fn blobs(n: usize, rng: &mut ChaCha8Rng) -> (Array2<f32>, Array1<i64>) {
    let labels = Array1::from_shape_fn(n, |i| (i % 2) as i64);
    let points = Array2::from_shape_fn((n, 2), |(i, _)| {
        let centre = if labels[i] == 1 { 1.0 } else { -1.0 };
        centre + 0.8 * rng.sample::<f32, _>(StandardNormal)
    });
    (points, labels)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::new("usage: cargo run --example logistic_regression -- [flags]");
    let loss_kind: String = args.value(
        "--loss KIND",
        "sigmoid".to_string(),
        "sigmoid (one logit per example) or softmax (one per class)",
    );
    let steps: usize = args.value("--steps N", 200, "training steps");
    let learning_rate: f64 = args.value("--learning-rate R", 0.5, "gradient descent's step size");
    let print_every: usize = args.value("--print-every N", 50, "print the loss every N steps");
    let seed: u64 = args.value("--seed S", 0, "data and graph seed");
    args.finish()?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (train_x, train_labels) = blobs(400, &mut rng);
    let (test_x, test_labels) = blobs(400, &mut rng);

    let g = Graph::new();
    g.set_random_seed(seed);
    let x = g.placeholder(DType::Float32, [None, Some(2)], "X");
    let (loss, accuracy, labels) = match loss_kind.as_str() {
        "sigmoid" => {
            // One logit per example; labels 0.0 / 1.0 of the same shape.
            let y = g.placeholder(DType::Float32, [None, Some(1)], "Y");
            let w = g.variable(g.random_normal([2usize, 1], 0.0, 0.01), "W");
            let b = g.variable(g.zeros([1usize], DType::Float32), "b");
            let logits = x.matmul(w) + b;
            let loss = sigmoid_cross_entropy_with_logits(y, logits).reduce_mean(None, false);
            // sigmoid(logit) > 0.5 exactly when logit > 0.
            let predicted = greater(logits, g.constant(0.0f32)).cast(DType::Float32);
            (loss, mean_of(equal(predicted, y)), y)
        }
        "softmax" => {
            // One logit per class; integer labels.
            let y = g.placeholder(DType::Int64, [None], "Y");
            let w = g.variable(g.random_normal([2usize, 2], 0.0, 0.01), "W");
            let b = g.variable(g.zeros([2usize], DType::Float32), "b");
            let logits = x.matmul(w) + b;
            let loss =
                softmax_cross_entropy_with_logits(one_hot(y, 2), logits).reduce_mean(None, false);
            let predicted = argmax(logits, 1, DType::Int64);
            (loss, mean_of(equal(predicted, y)), y)
        }
        other => return Err(format!("--loss must be sigmoid or softmax, not {other}").into()),
    };
    println!("model ({loss_kind}):\n{}", g.to_text());
    let before = g.len();
    let train = GradientDescentOptimizer::new(learning_rate).minimize(loss);
    let init = g.global_variables_initializer();
    println!(
        "minimize added {} nodes: the gradient graph and the updates (print g.to_text() to see them)",
        g.len() - before
    );

    // The label array in the placeholder's dtype and shape.
    let as_feed = |l: &Array1<i64>| -> tensorgraph::Value {
        if loss_kind == "sigmoid" {
            l.mapv(|v| v as f32)
                .insert_axis(ndarray::Axis(1))
                .into_dyn()
                .into()
        } else {
            l.clone().into_dyn().into()
        }
    };
    let (train_y, test_y) = (as_feed(&train_labels), as_feed(&test_labels));

    let mut sess = Session::new(&g);
    sess.run(init, &feed! {})?;
    for step in 0..steps {
        let ((), l) = sess.run((train, loss), &feed! { x => &train_x, labels => &train_y })?;
        if step % print_every == 0 || step + 1 == steps {
            println!("step {step:>4}  loss {:.4}", l.scalar::<f32>()?);
        }
    }
    let train_acc = sess.run(accuracy, &feed! { x => &train_x, labels => &train_y })?;
    let test_acc = sess.run(accuracy, &feed! { x => &test_x, labels => &test_y })?;
    let test_acc = test_acc.scalar::<f32>()?;
    println!("train accuracy: {:.4}", train_acc.scalar::<f32>()?);
    println!("test accuracy: {test_acc:.4}");
    if test_acc < 0.9 {
        return Err(format!("test accuracy {test_acc:.4} is below 0.9").into());
    }
    Ok(())
}

/// `reduce_mean(cast(correct, float32))`: the fraction of `true`s.
/// `#[track_caller]` makes its nodes point at the caller's line in
/// `g.to_text()` and in error messages, as tensorgraph's own ops do.
#[track_caller]
fn mean_of(correct: Tensor) -> Tensor {
    correct.cast(DType::Float32).reduce_mean(None, false)
}
