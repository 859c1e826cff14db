//! Teaches: what `gradients()` computes, by doing its job by hand. A
//! two-layer network (`relu(X W1 + b1) W2 + b2`, softmax cross-entropy,
//! mean over the batch) is built as a graph; its backward pass is then
//! written out with plain ndarray, one chain-rule line per forward line,
//! exactly as in a course's first backprop assignment. Both run on the same
//! float64 weights and data; the example prints both gradients and their
//! largest difference, and fails unless they agree to 1e-10.
//!
//! Run: `cargo run --example hand_vs_auto -- [--batch 8] [--inputs 4]
//! [--hidden 5] [--classes 3] [--seed 0] [--show-graph]`; `--show-graph`
//! lists the graph, whose `gradients/` nodes mirror `by_hand` line by line.

#[path = "common/args.rs"]
mod args;

use args::Args;
use ndarray::{Array1, Array2, ArrayD, Axis, Ix1, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tensorgraph::ops::{relu, softmax_cross_entropy_with_logits};
use tensorgraph::{feed, gradients, Graph, Session, Value};

/// The network's parameters and data, as plain arrays.
struct Problem {
    x: Array2<f64>,
    labels: Array2<f64>,
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

/// The gradients of the loss with respect to each parameter.
struct Grads {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

/// Forward and backward by hand. Each backward line is the chain rule
/// applied to the forward line with the same name, in reverse order.
fn by_hand(p: &Problem) -> (f64, Grads) {
    let n = p.x.nrows() as f64;
    // Forward.
    let z1 = p.x.dot(&p.w1) + &p.b1; // [N, H]
    let h = z1.mapv(|v| v.max(0.0)); // relu
    let z2 = h.dot(&p.w2) + &p.b2; // [N, C] logits
    let max = z2.map_axis(Axis(1), |r| r.fold(f64::NEG_INFINITY, |a, &b| a.max(b)));
    let e = (&z2 - &max.insert_axis(Axis(1))).mapv(f64::exp);
    let probs = &e / &e.sum_axis(Axis(1)).insert_axis(Axis(1)); // softmax
    let loss = -(&p.labels * &probs.mapv(f64::ln)).sum() / n; // mean cross-entropy

    // Backward: d loss / d z2 of the mean softmax cross-entropy.
    let dz2 = (&probs - &p.labels) / n;
    let dw2 = h.t().dot(&dz2); // z2 = h W2 + b2
    let db2 = dz2.sum_axis(Axis(0)); // b2 is broadcast over the batch: sum it back
    let dh = dz2.dot(&p.w2.t());
    let dz1 = &dh * &z1.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }); // relu' (0 at 0, as TF)
    let dw1 = p.x.t().dot(&dz1); // z1 = X W1 + b1
    let db1 = dz1.sum_axis(Axis(0));
    let grads = Grads {
        w1: dw1,
        b1: db1,
        w2: dw2,
        b2: db2,
    };
    (loss, grads)
}

/// The same network as a graph, differentiated by `gradients()`.
/// With `show_graph`, prints the graph's text listing, where the nodes
/// under `gradients/` are the graph's own version of `by_hand`'s backward.
fn by_graph(p: &Problem, show_graph: bool) -> Result<(f64, Grads), Box<dyn std::error::Error>> {
    let g = Graph::new();
    let constant = |a: ArrayD<f64>| g.constant(a);
    let x = constant(p.x.clone().into_dyn());
    let labels = constant(p.labels.clone().into_dyn());
    let w1 = g.variable(constant(p.w1.clone().into_dyn()), "W1");
    let b1 = g.variable(constant(p.b1.clone().into_dyn()), "b1");
    let w2 = g.variable(constant(p.w2.clone().into_dyn()), "W2");
    let b2 = g.variable(constant(p.b2.clone().into_dyn()), "b2");

    let h = relu(x.matmul(w1) + b1);
    let logits = h.matmul(w2) + b2;
    let loss = softmax_cross_entropy_with_logits(labels, logits).reduce_mean(None, false);

    let grads = gradients(&[loss], &[w1, b1, w2, b2]);
    let grads: Vec<_> = grads
        .into_iter()
        .map(|d| d.ok_or("every parameter reaches the loss"))
        .collect::<Result<_, _>>()?;
    let init = g.global_variables_initializer();
    if show_graph {
        println!("{}", g.to_text());
    }

    let mut sess = Session::new(&g);
    sess.run(init, &feed! {})?;
    let (l, values) = sess.run((loss, grads), &feed! {})?;
    let mut values = values.into_iter().map(Value::into_array::<f64>);
    let mut next = || values.next().ok_or("four gradients");
    let w1 = next()??.into_dimensionality::<Ix2>()?;
    let b1 = next()??.into_dimensionality::<Ix1>()?;
    let w2 = next()??.into_dimensionality::<Ix2>()?;
    let b2 = next()??.into_dimensionality::<Ix1>()?;
    Ok((l.scalar::<f64>()?, Grads { w1, b1, w2, b2 }))
}

/// Prints both versions of one gradient and returns their largest difference.
fn compare(name: &str, hand: &ArrayD<f64>, auto: &ArrayD<f64>) -> f64 {
    let diff = hand
        .iter()
        .zip(auto.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let show = |a: &ArrayD<f64>| {
        let v: Vec<String> = a.iter().take(4).map(|v| format!("{v:+.6}")).collect();
        format!(
            "[{}{}]",
            v.join(", "),
            if a.len() > 4 { ", ..." } else { "" }
        )
    };
    println!("d loss/d {name:<2} {:?}", hand.shape());
    println!("  by hand     {}", show(hand));
    println!("  gradients() {}", show(auto));
    println!("  max |difference| = {diff:.3e}");
    diff
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::new("usage: cargo run --example hand_vs_auto -- [flags]");
    let batch: usize = args.value("--batch N", 8, "examples");
    let inputs: usize = args.value("--inputs N", 4, "input features");
    let hidden: usize = args.value("--hidden N", 5, "hidden units");
    let classes: usize = args.value("--classes N", 3, "classes");
    let seed: u64 = args.value("--seed S", 0, "seed of the weights and data");
    let show_graph = args.value(
        "--show-graph",
        false,
        "list the graph, whose gradients/ nodes mirror by_hand line by line",
    );
    args.finish()?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = |shape: (usize, usize), scale: f64| {
        Array2::from_shape_fn(shape, |_| scale * rng.sample::<f64, _>(StandardNormal))
    };
    let x = normal((batch, inputs), 1.0);
    let w1 = normal((inputs, hidden), 0.5);
    let b1 = normal((1, hidden), 0.1).remove_axis(Axis(0));
    let w2 = normal((hidden, classes), 0.5);
    let b2 = normal((1, classes), 0.1).remove_axis(Axis(0));
    let labels = Array2::from_shape_fn((batch, classes), |(i, j)| {
        if j == (i * 7 + 3) % classes {
            1.0
        } else {
            0.0
        }
    });
    let p = Problem {
        x,
        labels,
        w1,
        b1,
        w2,
        b2,
    };

    let (hand_loss, hand) = by_hand(&p);
    let (auto_loss, auto) = by_graph(&p, show_graph)?;
    println!("loss: by hand {hand_loss:.12}, by the graph {auto_loss:.12}");
    let worst = [
        compare("W1", &hand.w1.into_dyn(), &auto.w1.into_dyn()),
        compare("b1", &hand.b1.into_dyn(), &auto.b1.into_dyn()),
        compare("W2", &hand.w2.into_dyn(), &auto.w2.into_dyn()),
        compare("b2", &hand.b2.into_dyn(), &auto.b2.into_dyn()),
        (hand_loss - auto_loss).abs(),
    ]
    .into_iter()
    .fold(0.0, f64::max);
    println!("largest difference overall: {worst:.3e}");
    if worst > 1e-10 {
        return Err(format!("hand-written and automatic gradients differ by {worst:e}").into());
    }
    println!("the hand-written backward pass and gradients() agree");
    Ok(())
}
