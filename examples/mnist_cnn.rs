//! Teaches: a convolutional network in graph mode, ported from TF's "Deep
//! MNIST for experts" tutorial: conv 5x5x32 + relu + 2x2 max pool, conv
//! 5x5x64 + relu + pool, fully connected 1024 + relu, dropout, fully
//! connected 10; Adam 1e-4, batch 50, 20,000 steps. Run:
//!
//!     cargo run --release --example mnist_cnn -- --steps 2000
//!
//! The flags are the MLP example's (`--help`); `--steps` shortens the
//! tutorial's 20,000 steps.

mod common;

use common::{Curves, Flags, Model};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tensorgraph::datasets::mnist;
use tensorgraph::ops as tf;
use tensorgraph::train::{AdamOptimizer, Optimizer, Saver};
use tensorgraph::{feed, nn, DType, Graph, Session, Tensor};

fn main() -> ExitCode {
    let defaults = Flags {
        steps: 20_000,
        batch_size: 50,
        keep_prob: 0.5,
        learning_rate: 1e-4,
        seed: 0,
        data_dir: mnist::default_dir(),
        plot: None,
        save: None,
    };
    let result = match Flags::parse("mnist_cnn", defaults) {
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

fn weight_variable(g: &Graph, shape: &[usize], name: &str) -> Tensor {
    g.variable(g.truncated_normal(shape, 0.1), name)
}

fn bias_variable(g: &Graph, size: usize, name: &str) -> Tensor {
    g.variable(g.fill([size], 0.1, DType::Float32), name)
}

fn conv2d(x: Tensor, w: Tensor) -> Tensor {
    nn::conv2d(x, w, [1, 1, 1, 1], nn::Padding::Same)
}

fn max_pool_2x2(x: Tensor) -> Tensor {
    nn::max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], nn::Padding::Same)
}

fn run(flags: &Flags) -> Result<(), Box<dyn std::error::Error>> {
    let mut mnist = common::load(&flags.data_dir, flags.seed)?;

    let g = Graph::new();
    g.set_random_seed(flags.seed);
    let x = g.placeholder(DType::Float32, [None, Some(784)], "x");
    let y_ = g.placeholder(DType::Float32, [None, Some(10)], "y_");

    // First convolutional layer: 32 features for each 5x5 patch.
    let w_conv1 = weight_variable(&g, &[5, 5, 1, 32], "W_conv1");
    let b_conv1 = bias_variable(&g, 32, "b_conv1");
    let x_image = tf::reshape(x, [-1, 28, 28, 1]);
    let h_conv1 = nn::relu(conv2d(x_image, w_conv1) + b_conv1);
    let h_pool1 = max_pool_2x2(h_conv1); // 14x14

    // Second convolutional layer: 64 features for each 5x5 patch.
    let w_conv2 = weight_variable(&g, &[5, 5, 32, 64], "W_conv2");
    let b_conv2 = bias_variable(&g, 64, "b_conv2");
    let h_conv2 = nn::relu(conv2d(h_pool1, w_conv2) + b_conv2);
    let h_pool2 = max_pool_2x2(h_conv2); // 7x7

    // Densely connected layer: 1024 neurons on the whole image.
    let w_fc1 = weight_variable(&g, &[7 * 7 * 64, 1024], "W_fc1");
    let b_fc1 = bias_variable(&g, 1024, "b_fc1");
    let h_pool2_flat = tf::reshape(h_pool2, [-1, 7 * 7 * 64]);
    let h_fc1 = nn::relu(h_pool2_flat.matmul(w_fc1) + b_fc1);

    // Dropout
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let h_fc1_drop = nn::dropout(h_fc1, keep_prob);

    // Readout layer
    let w_fc2 = weight_variable(&g, &[1024, 10], "W_fc2");
    let b_fc2 = bias_variable(&g, 10, "b_fc2");
    let y_conv = h_fc1_drop.matmul(w_fc2) + b_fc2;

    // Train and evaluate the model
    let cross_entropy = tf::reduce_mean(
        nn::softmax_cross_entropy_with_logits(y_, y_conv),
        None,
        false,
    );
    let train_step = AdamOptimizer::new(flags.learning_rate).minimize(cross_entropy);
    let correct_prediction = tf::equal(
        tf::argmax(y_conv, 1, DType::Int64),
        tf::argmax(y_, 1, DType::Int64),
    );
    let accuracy = tf::reduce_mean(tf::cast(correct_prediction, DType::Float32), None, false);

    let init = g.global_variables_initializer();
    let mut saver = Saver::new(&g);
    let mut sess = Session::new(&g);
    sess.run(init, &feed! {})?;

    let model = Model {
        x,
        y: y_,
        keep_prob,
        accuracy,
        cost: cross_entropy,
    };
    let mut curves = Curves::default();
    let mut plot_time = Duration::ZERO;
    let bar = common::progress_bar(flags.steps);
    let started = Instant::now();
    for i in 0..flags.steps {
        let (batch_x, batch_y) = mnist.train.next_batch(flags.batch_size);
        if i % 100 == 0 {
            let (train_accuracy, train_cost) = sess.run(
                (accuracy, cross_entropy),
                &feed! { x => &batch_x, y_ => &batch_y, keep_prob => 1.0f32 },
            )?;
            let (train_accuracy, train_cost) =
                (train_accuracy.scalar::<f32>()?, train_cost.scalar::<f32>()?);
            bar.suspend(|| println!("step {i}, training accuracy {train_accuracy}"));
            if flags.plot.is_some() {
                let plot_started = Instant::now();
                let validation = common::evaluate(&mut sess, &model, &mnist.validation, 100)?;
                let train = (f64::from(train_accuracy), f64::from(train_cost));
                curves.push(i, train, validation);
                plot_time += plot_started.elapsed();
            }
        }
        sess.run(
            train_step,
            &feed! { x => &batch_x, y_ => &batch_y, keep_prob => flags.keep_prob },
        )?;
        bar.inc(1);
    }
    let train_time = started.elapsed() - plot_time;
    bar.finish_and_clear();
    common::print_timing(train_time, flags.steps);

    if let Some(path) = &flags.plot {
        curves.plot(path, "Deep MNIST CNN, Adam 1e-4, batch 50")?;
        println!("curves written to {}", path.display());
    }
    if let Some(path) = &flags.save {
        common::create_parent_dir(path)?;
        let written = saver.save(&sess, path, Some(flags.steps as i64))?;
        println!("checkpoint written to {}", written.display());
    }
    // In pieces of 100 images: the 10,000 at once would need gigabytes of
    // im2col buffers.
    let (test_accuracy, _) = common::evaluate(&mut sess, &model, &mnist.test, 100)?;
    println!("test accuracy: {test_accuracy:.4}");
    Ok(())
}
