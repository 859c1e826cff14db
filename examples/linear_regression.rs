//! Teaches: the TF1 training loop on the smallest model there is. Placeholders
//! `X` and `Y` for the data, variables `W` and `b` for the parameters, a loss
//! `reduce_mean(square(pred - Y))`, a `GradientDescentOptimizer` whose
//! `minimize` builds the update ops once, then a session that runs the
//! training op on mini-batches fed as zero-copy ndarray views. The data is
//! synthetic (`y = x . W_true + b_true + noise`, from a seeded RNG), so the
//! fitted `W` and `b` can be compared with the true ones.
//!
//! Run: `cargo run --example linear_regression -- [--steps 300]
//! [--batch-size 32] [--learning-rate 0.1] [--print-every 50] [--seed 0]`.
//! Exits non-zero when the fit misses the true parameters.

#[path = "common/args.rs"]
mod args;

use args::Args;
use ndarray::{s, Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tensorgraph::ops::square;
use tensorgraph::train::{GradientDescentOptimizer, Optimizer};
use tensorgraph::{feed, DType, Graph, Session};

const TRUE_W: [f32; 3] = [2.0, -3.4, 0.5];
const TRUE_B: f32 = 4.2;
const SAMPLES: usize = 512;
const NOISE: f32 = 0.1;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::new("usage: cargo run --example linear_regression -- [flags]");
    let steps: usize = args.value("--steps N", 300, "training steps");
    let batch_size: usize = args.value("--batch-size N", 32, "examples per step");
    let learning_rate: f64 = args.value("--learning-rate R", 0.1, "gradient descent's step size");
    let print_every: usize =
        args.value("--print-every N", 50, "print the batch loss every N steps");
    let seed: u64 = args.value("--seed S", 0, "data and graph seed");
    args.finish()?;

    // Synthetic data: x ~ N(0, 1) per feature, y = x . W_true + b_true + noise.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features = TRUE_W.len();
    let x_data = Array2::from_shape_fn((SAMPLES, features), |_| {
        rng.sample::<f32, _>(StandardNormal)
    });
    let noise = Array1::from_shape_fn(SAMPLES, |_| NOISE * rng.sample::<f32, _>(StandardNormal));
    let y_data = (x_data.dot(&Array1::from(TRUE_W.to_vec())) + TRUE_B + noise).insert_axis(Axis(1));

    // The graph: built once, before any session.
    let g = Graph::new();
    g.set_random_seed(seed);
    let x = g.placeholder(DType::Float32, [None, Some(features)], "X");
    let y = g.placeholder(DType::Float32, [None, Some(1)], "Y");
    let w = g.variable(g.random_normal([features, 1], 0.0, 1.0), "W");
    let b = g.variable(g.zeros([1usize], DType::Float32), "b");
    let pred = x.matmul(w) + b;
    let loss = square(pred - y).reduce_mean(None, false);
    let train = GradientDescentOptimizer::new(learning_rate).minimize(loss);
    let init = g.global_variables_initializer();

    let mut sess = Session::new(&g);
    sess.run(init, &feed! {})?;
    for step in 0..steps {
        let start = (step * batch_size) % SAMPLES;
        let end = (start + batch_size).min(SAMPLES);
        let (bx, by) = (
            x_data.slice(s![start..end, ..]),
            y_data.slice(s![start..end, ..]),
        );
        let ((), batch_loss) = sess.run((train, loss), &feed! { x => bx, y => by })?;
        if step % print_every == 0 || step + 1 == steps {
            println!("step {step:>4}  loss {:.6}", batch_loss.scalar::<f32>()?);
        }
    }
    let full_loss = sess.run(loss, &feed! { x => &x_data, y => &y_data })?;
    println!(
        "loss on all {SAMPLES} samples: {:.6}",
        full_loss.scalar::<f32>()?
    );

    let (w_fit, b_fit) = sess.run((w, b), &feed! {})?;
    let w_fit = w_fit.into_array::<f32>()?;
    let b_fit = b_fit.into_array::<f32>()?[0];
    let w_list: Vec<String> = w_fit.iter().map(|v| format!("{v:.3}")).collect();
    println!("fitted W = [{}]  (true {TRUE_W:?})", w_list.join(", "));
    println!("fitted b = {b_fit:.3}  (true {TRUE_B})");

    let w_err = w_fit
        .iter()
        .zip(TRUE_W)
        .map(|(a, t)| (a - t).abs())
        .fold(0f32, f32::max);
    let b_err = (b_fit - TRUE_B).abs();
    if w_err > 0.05 || b_err > 0.05 {
        return Err(format!(
            "the fit is off: max |W - W_true| = {w_err:.4}, |b - b_true| = {b_err:.4} (want <= 0.05); try more --steps"
        )
        .into());
    }
    println!("fit ok: max |W - W_true| = {w_err:.4}, |b - b_true| = {b_err:.4}");
    Ok(())
}
