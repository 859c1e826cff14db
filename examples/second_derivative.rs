//! Teaches: gradients are graph nodes, so they can be differentiated again.
//!
//! Part 1 differentiates `f(x) = x^2 sin(x)` three times by calling
//! `gradients()` on the previous gradient, and checks each derivative
//! against its formula.
//!
//! Part 2 computes a Hessian-vector product `H v` of a logistic-regression
//! loss without ever building `H`: `H v = d/dw (dL/dw . v)` ("double
//! backprop", Pearlmutter's trick), one more gradient of a scalar. It is
//! checked against the explicit Hessian `X^T diag(s (1 - s)) X / N` written
//! with ndarray, and against central finite differences of the gradient.
//! Running `H e_i` for each basis vector `e_i` then gives the whole Hessian.
//!
//! Run: `cargo run --example second_derivative -- [--x 1.3] [--dim 5]
//! [--samples 40] [--seed 0]`. Exits non-zero when a check fails.

#[path = "common/args.rs"]
mod args;

use args::Args;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tensorgraph::ops::{sigmoid_cross_entropy_with_logits, sin};
use tensorgraph::{feed, gradients, DType, Graph, Session};

/// Fails with a message when `got` and `want` differ by more than `tol`.
fn check(what: &str, got: f64, want: f64, tol: f64) -> Result<(), String> {
    let err = (got - want).abs();
    println!("{what:<24} graph {got:+.12}  formula {want:+.12}  |diff| {err:.1e}");
    if err > tol {
        return Err(format!("{what}: {got} differs from {want} by {err:e}"));
    }
    Ok(())
}

/// Part 1: first, second and third derivatives of `x^2 sin(x)`.
fn scalar_derivatives(x0: f64) -> Result<(), Box<dyn std::error::Error>> {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [0usize; 0], "x");
    let f = x * x * sin(x);
    let mut derivatives = vec![f];
    for order in 1..=3 {
        let before = g.len();
        let d = gradients(&[derivatives[order - 1]], &[x])[0].ok_or("x reaches f")?;
        println!(
            "derivative {order}: {} new nodes ({} in the graph)",
            g.len() - before,
            g.len()
        );
        derivatives.push(d);
    }

    let mut sess = Session::new(&g);
    let values = sess.run(derivatives, &feed! { x => x0 })?;
    let got: Vec<f64> = values
        .iter()
        .map(|v| v.scalar::<f64>())
        .collect::<Result<_, _>>()?;
    let (s, c) = (x0.sin(), x0.cos());
    println!("f(x) = x^2 sin(x) at x = {x0}:");
    check("f", got[0], x0 * x0 * s, 1e-12)?;
    check(
        "f' = 2x s + x^2 c",
        got[1],
        2.0 * x0 * s + x0 * x0 * c,
        1e-12,
    )?;
    check(
        "f'' = 2s + 4x c - x^2 s",
        got[2],
        2.0 * s + 4.0 * x0 * c - x0 * x0 * s,
        1e-12,
    )?;
    check(
        "f''' = 6c - 6x s - x^2 c",
        got[3],
        6.0 * c - 6.0 * x0 * s - x0 * x0 * c,
        1e-12,
    )?;
    Ok(())
}

/// Part 2: Hessian-vector products of a logistic-regression loss.
fn hessian_vector_product(
    dim: usize,
    samples: usize,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = |r: usize, c: usize| {
        Array2::from_shape_fn((r, c), |_| rng.sample::<f64, _>(StandardNormal))
    };
    let x_data = normal(samples, dim);
    let labels = normal(samples, 1).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let w0 = normal(dim, 1);
    let v0 = normal(dim, 1);

    // L(w) = mean(sigmoid_xent(labels, X w)); w and v are fed.
    let g = Graph::new();
    let w = g.placeholder(DType::Float64, [dim, 1], "w");
    let v = g.placeholder(DType::Float64, [dim, 1], "v");
    let x = g.constant(x_data.clone().into_dyn());
    let y = g.constant(labels.clone().into_dyn());
    let loss = sigmoid_cross_entropy_with_logits(y, x.matmul(w)).reduce_mean(None, false);
    let grad = gradients(&[loss], &[w])[0].ok_or("w reaches the loss")?;
    // H v = d/dw (grad . v): the gradient of a scalar, built like any other.
    let grad_dot_v = (grad * v).reduce_sum(None, false);
    let hv = gradients(&[grad_dot_v], &[w])[0].ok_or("w reaches grad . v")?;

    let mut sess = Session::new(&g);
    let as_matrix = |val: tensorgraph::Value| -> Result<Array2<f64>, Box<dyn std::error::Error>> {
        Ok(val.into_array::<f64>()?.into_dimensionality()?)
    };
    let hv_graph = as_matrix(sess.run(hv, &feed! { w => &w0, v => &v0 })?)?;

    // The explicit Hessian: X^T diag(s (1 - s)) X / N with s = sigmoid(X w).
    let s = x_data.dot(&w0).mapv(|z| 1.0 / (1.0 + (-z).exp()));
    let weights = (&s * &s.mapv(|p| 1.0 - p)).remove_axis(Axis(1));
    let weighted = &x_data * &weights.insert_axis(Axis(1));
    let hessian = x_data.t().dot(&weighted) / samples as f64;
    let hv_explicit = hessian.dot(&v0);

    // Central differences of the gradient along v.
    let eps = 1e-5;
    let (w_plus, w_minus) = (&w0 + &(eps * &v0), &w0 - &(eps * &v0));
    let g_plus = as_matrix(sess.run(grad, &feed! { w => &w_plus })?)?;
    let g_minus = as_matrix(sess.run(grad, &feed! { w => &w_minus })?)?;
    let hv_numeric = (g_plus - g_minus) / (2.0 * eps);

    let max_diff =
        |a: &Array2<f64>, b: &Array2<f64>| (a - b).iter().fold(0.0f64, |m, d| m.max(d.abs()));
    let show = |a: &Array2<f64>| {
        let v: Vec<String> = a.iter().map(|x| format!("{x:+.6}")).collect();
        format!("[{}]", v.join(", "))
    };
    println!("\nHessian-vector product of a logistic-regression loss ({dim} weights):");
    println!("H v by double backprop  {}", show(&hv_graph));
    println!("H v, explicit Hessian   {}", show(&hv_explicit));
    println!("H v, finite differences {}", show(&hv_numeric));
    let (e_explicit, e_numeric) = (
        max_diff(&hv_graph, &hv_explicit),
        max_diff(&hv_graph, &hv_numeric),
    );
    println!("max |diff| vs explicit {e_explicit:.1e}, vs finite differences {e_numeric:.1e}");
    if e_explicit > 1e-12 || e_numeric > 1e-7 {
        return Err("the Hessian-vector product disagrees".into());
    }

    // The whole Hessian, one column per basis vector.
    let mut columns = Vec::with_capacity(dim);
    for i in 0..dim {
        let e_i =
            Array1::from_shape_fn(dim, |j| if i == j { 1.0 } else { 0.0 }).insert_axis(Axis(1));
        columns.push(as_matrix(sess.run(hv, &feed! { w => &w0, v => &e_i })?)?);
    }
    let views: Vec<_> = columns.iter().map(|c| c.view()).collect();
    let hessian_graph = ndarray::concatenate(Axis(1), &views)?;
    let e_full = max_diff(&hessian_graph, &hessian);
    println!("full Hessian from {dim} products: max |diff| vs explicit {e_full:.1e}");
    if e_full > 1e-12 {
        return Err("the Hessian built from products disagrees".into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::new("usage: cargo run --example second_derivative -- [flags]");
    let x0: f64 = args.value("--x X", 1.3, "where part 1 differentiates x^2 sin(x)");
    let dim: usize = args.value("--dim N", 5, "features of part 2's logistic regression");
    let samples: usize = args.value(
        "--samples N",
        40,
        "examples of part 2's logistic regression",
    );
    let seed: u64 = args.value("--seed S", 0, "seed of part 2's data and vector");
    args.finish()?;
    scalar_derivatives(x0)?;
    hessian_vector_product(dim, samples, seed)?;
    println!("all second-derivative checks passed");
    Ok(())
}
