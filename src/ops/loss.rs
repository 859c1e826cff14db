//! Losses: softmax and sigmoid cross-entropy with numerically stable fused
//! kernels, and `l2_loss`. Each fused op also outputs the activations its
//! gradient needs (softmax, log-softmax, sigmoid) and back-propagates
//! through them, so its gradient is made of graph nodes that can be
//! differentiated again (gradient-norm penalties, Hessian products).

use super::element::float_dispatch;
use super::{broadcast_reduced, reduce_sum, Float};
use crate::dtype::{DType, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::array_mut;
use ndarray::{ArrayD, IxDyn};

op_kinds! {
    SOFTMAX_XENT = differentiable("SoftmaxCrossEntropyWithLogits", "softmax_cross_entropy_with_logits");
    SIGMOID_XENT = differentiable("SigmoidCrossEntropyWithLogits", "sigmoid_cross_entropy_with_logits");
    SPARSE_LABELS = not_differentiable("SparseLabelsToOneHot", "sparse_labels_to_one_hot");
}

/// Static rule shared by the cross-entropies: float `labels` and `logits`
/// of one dtype and compatible shapes; returns the merged shape.
fn infer_labels_logits(i: &[TensorSpec]) -> Result<Shape, String> {
    let (z, x) = (&i[0], &i[1]);
    if !x.dtype.is_float() || z.dtype != x.dtype {
        return Err(format!(
            "labels and logits must be floats of one dtype, got {} and {}",
            z.dtype, x.dtype
        ));
    }
    z.shape.merge(&x.shape).ok_or_else(|| {
        format!(
            "labels and logits must have the same shape, got {} and {}",
            z.shape, x.shape
        )
    })
}

/// `shape` without its last dimension.
fn drop_last(shape: &Shape) -> Shape {
    match shape.dims() {
        Some(d) => Shape::from(d[..d.len().saturating_sub(1)].to_vec()),
        None => Shape::unknown(),
    }
}

/// Softmax cross-entropy over the last axis, with softmax and log-softmax
/// as extra outputs 1 and 2.
#[derive(Debug)]
struct SoftmaxXent;

/// Per-row `(loss, softmax, log_softmax)` over the last axis, stable:
/// `log_softmax = x - max - ln(sum(exp(x - max)))`, written into the
/// kernel's outputs 0, 1 and 2 (reusing their buffers).
fn softmax_xent<T: Float>(k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
    let (labels, logits) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
    if labels.shape() != logits.shape() {
        return Err(format!(
            "labels and logits must have the same shape, got {:?} and {:?}",
            labels.shape(),
            logits.shape()
        )
        .into());
    }
    let shape = logits.shape();
    let (&c, outer) = shape
        .split_last()
        .ok_or("softmax cross-entropy needs logits of rank >= 1")?;
    let (x, z) = (logits.as_standard_layout(), labels.as_standard_layout());
    let (x, z) = (
        x.as_slice().expect("standard layout"),
        z.as_slice().expect("standard layout"),
    );
    k.stale_output::<T>(0, outer);
    k.stale_output::<T>(1, shape);
    k.stale_output::<T>(2, shape);
    let [loss, sm, lsm] = k.outputs_mut() else {
        return Err("softmax cross-entropy has three outputs".into());
    };
    let loss_s = array_mut::<T>(loss)
        .and_then(|a| a.as_slice_mut())
        .ok_or("loss buffer")?;
    let sm_s = array_mut::<T>(sm)
        .and_then(|a| a.as_slice_mut())
        .ok_or("softmax buffer")?;
    let lsm = array_mut::<T>(lsm)
        .and_then(|a| a.as_slice_mut())
        .ok_or("log-softmax buffer")?;
    loss_s.fill(T::zero());
    if c > 0 {
        let rows = x.chunks_exact(c).zip(z.chunks_exact(c));
        let outs = lsm.chunks_exact_mut(c).zip(sm_s.chunks_exact_mut(c));
        for (((xr, zr), (lr, sr)), l) in rows.zip(outs).zip(loss_s.iter_mut()) {
            let m = xr.iter().fold(T::neg_infinity(), |a, &b| a.max(b));
            let lse = m + xr.iter().map(|&v| (v - m).exp()).sum::<T>().ln();
            for k in 0..c {
                lr[k] = xr[k] - lse;
                sr[k] = lr[k].exp();
                *l -= zr[k] * lr[k];
            }
        }
    }
    Ok(())
}

impl Op for SoftmaxXent {
    fn kind(&self) -> &'static OpKind {
        &SOFTMAX_XENT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let shape = infer_labels_logits(i)?;
        if shape.rank() == Some(0) {
            return Err("softmax cross-entropy needs logits of rank >= 1".into());
        }
        let dt = i[1].dtype;
        Ok(vec![
            TensorSpec::new(dt, drop_last(&shape)),
            TensorSpec::new(dt, shape.clone()),
            TensorSpec::new(dt, shape),
        ])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(1), T => softmax_xent::<T>(k))
    }
    /// loss = -sum(z log_softmax(x)): dx = (softmax(x) - z) dy, dz = -log_softmax(x) dy
    /// (TF's rule, whatever sum(z)); softmax s and log-softmax outputs
    /// add s (g - sum(g s)) and g - s sum(g).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (z, x) = (c.x(0), c.x(1));
        let (s, lsm) = (c.y(1), c.y(2));
        let mut dx = Vec::new();
        let mut dz = None;
        if let Some(g) = c.grads[0] {
            let g = broadcast_reduced(g, x, (-1).into(), false);
            dx.push((s - z) * g);
            dz = Some(-(lsm * g));
        }
        if let Some(g) = c.grads[1] {
            dx.push((g - reduce_sum(g * s, -1, true)) * s);
        }
        if let Some(g) = c.grads[2] {
            dx.push(g - s * reduce_sum(g, -1, true));
        }
        vec![dz, super::math::sum_contributions(&dx)]
    }
}

/// `tf.nn.softmax_cross_entropy_with_logits_v2(labels=, logits=)`: the
/// per-example cross-entropy `-sum(labels * log_softmax(logits))` over the
/// last axis (shape: `logits`' without its last dimension), computed
/// stably. Gradients flow into both `logits` (`softmax - labels`) and
/// `labels` (`-log_softmax`), and can be differentiated again.
///
/// ```
/// use tensorgraph::{Graph, DType, Session, feed, ops::softmax_cross_entropy_with_logits};
/// let g = Graph::new();
/// let logits = g.placeholder(DType::Float32, [None, Some(3)], "logits");
/// let labels = g.placeholder(DType::Float32, [None, Some(3)], "labels");
/// let loss = softmax_cross_entropy_with_logits(labels, logits);
/// assert_eq!(loss.shape().to_string(), "[?]");
/// let mut s = Session::new(&g);
/// let v = s.run(loss, &feed!{
///     logits => ndarray::array![[0f32, 0.0, 0.0]].into_dyn(),
///     labels => ndarray::array![[1f32, 0.0, 0.0]].into_dyn(),
/// }).unwrap();
/// assert!((v.into_array::<f32>().unwrap()[0] - 3f32.ln()).abs() < 1e-6);
/// ```
#[track_caller]
pub fn softmax_cross_entropy_with_logits(labels: Tensor, logits: Tensor) -> Tensor {
    labels
        .graph()
        .add_node(SoftmaxXent, &[labels, logits], None)
        .output(0)
}

/// Integer class labels as one-hot rows of `logits`' dtype and shape;
/// rejects labels outside `[0, classes)` as TF does.
#[derive(Debug)]
struct SparseLabelsToOneHot;

impl Op for SparseLabelsToOneHot {
    fn kind(&self) -> &'static OpKind {
        &SPARSE_LABELS
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (z, x) = (&i[0], &i[1]);
        if !matches!(z.dtype, DType::Int32 | DType::Int64) || !x.dtype.is_float() {
            return Err(format!(
                "sparse labels must be int32 or int64 and logits float, got {} and {}",
                z.dtype, x.dtype
            ));
        }
        let shape = match (z.shape.dims(), x.shape.dims()) {
            (Some(zd), Some(xd)) => {
                let lead = Shape::from(zd.to_vec()).merge(&drop_last(&x.shape));
                match (lead, xd.last()) {
                    (Some(lead), Some(&c)) if xd.len() == zd.len() + 1 => {
                        let mut d = lead.dims().expect("known rank").to_vec();
                        d.push(c);
                        Shape::from(d)
                    }
                    _ => {
                        return Err(format!(
                        "labels must have logits' shape without its last dimension, got {} and {}",
                        z.shape, x.shape
                    ))
                    }
                }
            }
            _ => x.shape.clone(),
        };
        Ok(vec![TensorSpec::new(x.dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let shape = k.input(1).shape().to_vec();
        let labels: Vec<i64> = k.input(0).to_array::<i64>().iter().copied().collect();
        let (&c, outer) = shape.split_last().ok_or("logits must have rank >= 1")?;
        if outer != k.input(0).shape() {
            return Err(format!(
                "labels must have logits' shape without its last dimension, got {:?} and {:?}",
                k.input(0).shape(),
                shape
            )
            .into());
        }
        let mut hot = vec![0.0f64; labels.len() * c];
        for (row, &l) in labels.iter().enumerate() {
            let j = usize::try_from(l).ok().filter(|&j| j < c).ok_or_else(|| {
                format!(
                    "received a label value of {l} which is outside the valid range of [0, {c})"
                )
            })?;
            hot[row * c + j] = 1.0;
        }
        let hot = crate::Value::F64(ArrayD::from_shape_vec(IxDyn(&shape), hot).expect("sized"));
        k.set(0, hot.cast(k.input(1).dtype()));
        Ok(())
    }
}

/// `tf.nn.sparse_softmax_cross_entropy_with_logits(labels=, logits=)`:
/// `labels` are int32/int64 class indices of shape `[N]` (in general,
/// `logits`' shape without its last axis), `logits` `[N, C]`. Equal to the
/// dense loss with one-hot labels; no gradient flows into `labels`, and a
/// label outside `[0, C)` is a run-time error.
#[track_caller]
pub fn sparse_softmax_cross_entropy_with_logits(labels: Tensor, logits: Tensor) -> Tensor {
    let hot = labels
        .graph()
        .add_op(SparseLabelsToOneHot, &[labels, logits]);
    softmax_cross_entropy_with_logits(hot, logits)
}

/// Sigmoid cross-entropy, with sigmoid(logits) as extra output 1.
#[derive(Debug)]
struct SigmoidXent;

/// `(max(x, 0) - x z + ln(1 + exp(-|x|)), sigmoid(x))`, both stable.
fn sigmoid_xent<T: Float>(z: T, x: T) -> (T, T) {
    let e = (-x.abs()).exp();
    let loss = x.max(T::zero()) - x * z + e.ln_1p();
    let s = if x >= T::zero() {
        T::one() / (T::one() + e)
    } else {
        e / (T::one() + e)
    };
    (loss, s)
}

impl Op for SigmoidXent {
    fn kind(&self) -> &'static OpKind {
        &SIGMOID_XENT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let shape = infer_labels_logits(i)?;
        Ok(vec![TensorSpec::new(i[1].dtype, shape); 2])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(1), T => {
            let (z, x) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
            if z.shape() != x.shape() {
                return Err(format!(
                    "labels and logits must have the same shape, got {:?} and {:?}",
                    z.shape(),
                    x.shape()
                )
                .into());
            }
            let both = ndarray::Zip::from(z).and(x).map_collect(|&z, &x| sigmoid_xent(z, x));
            k.set(0, both.mapv(|p| p.0));
            k.set(1, both.mapv(|p| p.1));
            Ok(())
        })
    }
    /// dx = (sigmoid(x) - z) dy, dz = -x dy; the sigmoid output s adds g s (1 - s).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (z, x, s) = (c.x(0), c.x(1), c.y(1));
        let mut dx = Vec::new();
        let mut dz = None;
        if let Some(g) = c.grads[0] {
            dx.push((s - z) * g);
            dz = Some(-(x * g));
        }
        if let Some(g) = c.grads[1] {
            dx.push(g * (s - s * s));
        }
        vec![dz, super::math::sum_contributions(&dx)]
    }
}

/// `tf.nn.sigmoid_cross_entropy_with_logits(labels=, logits=)`: elementwise
/// `max(x, 0) - x * z + log(1 + exp(-|x|))` for logits `x` and labels `z`
/// of the same shape. Gradients: `sigmoid(x) - z` to logits, `-x` to labels.
#[track_caller]
pub fn sigmoid_cross_entropy_with_logits(labels: Tensor, logits: Tensor) -> Tensor {
    labels
        .graph()
        .add_node(SigmoidXent, &[labels, logits], None)
        .output(0)
}

/// `tf.nn.l2_loss(t)`: `sum(t^2) / 2`, a scalar; its gradient is `t * dy`.
#[track_caller]
pub fn l2_loss(t: Tensor) -> Tensor {
    reduce_sum(t * t, None, false) * 0.5
}
