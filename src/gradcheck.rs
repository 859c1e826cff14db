//! Numeric gradient checking, like TF's `tf.test.compute_gradient_error`:
//! the Jacobian built from the graph's symbolic gradients is compared with
//! central finite differences, in float64.

use crate::error::{Error, Result};
use crate::gradients::gradients_with_grad_ys;
use crate::graph::Tensor;
use crate::session::{Feeds, Session};
use crate::value::Value;
use crate::DType;
use ndarray::{ArrayD, IxDyn};

/// Both Jacobians of `y` with respect to each `x`, and their largest
/// absolute difference.
#[derive(Clone, Debug)]
pub struct GradientCheck {
    /// Per x: the Jacobian from symbolic gradients, shape `[x.len(), y.len()]`.
    pub symbolic: Vec<ndarray::Array2<f64>>,
    /// Per x: the Jacobian from central differences, same shape.
    pub numeric: Vec<ndarray::Array2<f64>>,
    /// The largest `|symbolic - numeric|` over all entries.
    pub max_error: f64,
}

/// Compares symbolic and numeric Jacobians of `y` with respect to each of
/// `xs` at the points `x_values`, with `feeds` supplying every other input.
/// `y` and the `xs` must be float64. Builds the gradient nodes, so call it
/// before any session on the graph exists.
///
/// A `None` symbolic gradient (x does not reach y) counts as zeros.
///
/// ```
/// use tensorgraph::{Graph, DType, Value, feed, gradcheck::compute_gradient_error};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float64, [3usize], "x");
/// let y = x * x;
/// let at = Value::from(vec![1.0f64, -2.0, 0.5]);
/// let check = compute_gradient_error(y, &[x], &[at], &feed!{}, 1e-6).unwrap();
/// assert!(check.max_error < 1e-6);
/// ```
///
/// # Errors
/// Whatever running the graph reports, or [`Error::InvalidArgument`] when
/// a tensor is not float64.
#[track_caller]
pub fn compute_gradient_error(
    y: Tensor,
    xs: &[Tensor],
    x_values: &[Value],
    feeds: &Feeds<'_>,
    delta: f64,
) -> Result<GradientCheck> {
    for t in std::iter::once(&y).chain(xs) {
        if t.dtype() != DType::Float64 {
            return Err(Error::InvalidArgument(format!(
                "gradient checks run in float64; `{}` is {}",
                t.name(),
                t.dtype()
            )));
        }
    }
    let graph = y.graph();
    let dy = graph.placeholder(DType::Float64, y.shape(), "gradcheck_dy");
    let grads = gradients_with_grad_ys(&[y], xs, &[Some(dy)]);
    let mut sess = Session::new(&graph);
    // Feeds with every x at its point, except `moved` (x index, value).
    let with = |moved: Option<(usize, Value)>| -> Feeds<'_> {
        let mut f = feeds.clone();
        for (i, &x) in xs.iter().enumerate() {
            match &moved {
                Some((m, v)) if *m == i => f.insert(x, v.clone()),
                _ => f.insert(x, x_values[i].clone()),
            }
        }
        f
    };
    let y0 = sess.run(y, &with(None))?;
    let ny = y0.len();
    let yshape = y0.shape().to_vec();
    let mut symbolic = Vec::new();
    let mut numeric = Vec::new();
    for i in 0..xs.len() {
        let xv = x_values[i].to_array::<f64>();
        let nx = xv.len();
        let mut sym = ndarray::Array2::<f64>::zeros((nx, ny));
        if let Some(gx) = grads[i] {
            for j in 0..ny {
                let mut onehot = ArrayD::<f64>::zeros(IxDyn(&yshape));
                onehot.as_slice_mut().expect("standard layout")[j] = 1.0;
                let mut f = with(None);
                f.insert(dy, onehot);
                let g = sess.run(gx, &f)?.to_array::<f64>();
                for (k, v) in g.iter().enumerate() {
                    sym[[k, j]] = *v;
                }
            }
        }
        let mut num = ndarray::Array2::<f64>::zeros((nx, ny));
        let flat: Vec<f64> = xv.iter().copied().collect();
        for k in 0..nx {
            let mut eval = |sign: f64| -> Result<ArrayD<f64>> {
                let mut p = flat.clone();
                p[k] += sign * delta;
                let pv = Value::F64(ArrayD::from_shape_vec(IxDyn(xv.shape()), p).expect("sized"));
                Ok(sess.run(y, &with(Some((i, pv))))?.to_array::<f64>())
            };
            let (hi, lo) = (eval(1.0)?, eval(-1.0)?);
            for (j, (a, b)) in hi.iter().zip(lo.iter()).enumerate() {
                num[[k, j]] = (a - b) / (2.0 * delta);
            }
        }
        symbolic.push(sym);
        numeric.push(num);
    }
    let max_error = symbolic
        .iter()
        .zip(&numeric)
        .flat_map(|(s, n)| s.iter().zip(n.iter()).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max);
    Ok(GradientCheck {
        symbolic,
        numeric,
        max_error,
    })
}
