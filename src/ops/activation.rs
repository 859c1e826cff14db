//! Elementwise activations and (log-)softmax over an axis, float only.
//! Gradients at kinks follow TF: relu'(0) = 0, relu6'(0) = relu6'(6) = 0,
//! leaky_relu'(0) = alpha. relu's gradient is TF's one-pass [`ReluGrad`]
//! (from relu's output); the other kinked gradients multiply by a
//! [`StepMask`], a piecewise-constant op with no gradient of its own, so
//! second derivatives flow through the smooth factors only.

use super::element::float_dispatch;
use super::{normalize_axis, reduce_sum, Float};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::{ArrayD, Axis};
use num_traits::{One, Zero};

op_kinds! {
    RELU = differentiable("Relu", "relu");
    RELU6 = differentiable("Relu6", "relu6");
    LEAKY_RELU = differentiable("LeakyRelu", "leaky_relu");
    ELU = differentiable("Elu", "elu");
    SIGMOID = differentiable("Sigmoid", "sigmoid");
    TANH = differentiable("Tanh", "tanh");
    SOFTPLUS = differentiable("Softplus", "softplus");
    SOFTMAX = differentiable("Softmax", "softmax");
    LOG_SOFTMAX = differentiable("LogSoftmax", "log_softmax");
    STEP_MASK = not_differentiable("StepMask", "step_mask");
    RELU_GRAD = differentiable("ReluGrad", "relu_grad");
}

/// Static rule of an elementwise float op: same dtype and shape.
fn infer_float(i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
    if !i[0].dtype.is_float() {
        return Err(format!("expected a float tensor, got {}", i[0].dtype));
    }
    Ok(vec![i[0].clone()])
}

/// Applies `f` to every element of input 0 and sets output 0.
fn map_float<T: Float>(
    k: &mut ComputeCtx<'_>,
    f: impl Fn(T) -> T + Sync,
) -> Result<(), KernelError> {
    let x = k.input_as::<T>(0)?;
    k.map_into(0, x, f);
    Ok(())
}

/// 1 where `lo < x < hi`, else 0: the derivative of a piecewise-linear
/// activation between its kinks (0 exactly at the kinks, as TF).
#[derive(Debug)]
struct StepMask {
    lo: f64,
    hi: f64,
}

impl Op for StepMask {
    fn kind(&self) -> &'static OpKind {
        &STEP_MASK
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (lo, hi) = (self.lo, self.hi);
        float_dispatch!(k.input(0), T => {
            let (lo, hi) = (T::from_f64(lo), T::from_f64(hi));
            map_float(k, |x: T| if lo < x && x < hi { T::one() } else { T::zero() })
        })
    }
    fn attrs(&self) -> String {
        format!("lo={}, hi={}", self.lo, self.hi)
    }
}

#[track_caller]
fn step_mask(x: Tensor, lo: f64, hi: f64) -> Tensor {
    x.graph().add_op(StepMask { lo, hi }, &[x])
}

/// `max(x, 0)`.
#[derive(Debug)]
struct Relu;

impl Op for Relu {
    fn kind(&self) -> &'static OpKind {
        &RELU
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => map_float(k, |x: T| if x > T::zero() { x } else { T::zero() }))
    }
    /// relu'(x) = [x > 0] = [relu(x) > 0], read from the output as TF does.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (y, dy) = (c.y(0), c.dy(0));
        vec![Some(y.graph().add_op(ReluGrad, &[dy, y]))]
    }
}

/// TF's `ReluGrad(gradients, outputs)`: `gradients` where `outputs > 0`,
/// else 0, in one pass (instead of a mask and a product).
#[derive(Debug)]
struct ReluGrad;

impl Op for ReluGrad {
    fn kind(&self) -> &'static OpKind {
        &RELU_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (dy, y) = (&i[0], &i[1]);
        if !dy.dtype.is_float() || dy.dtype != y.dtype {
            return Err(format!(
                "ReluGrad needs two float tensors of one dtype, got {dy} and {y}"
            ));
        }
        let shape = dy
            .shape
            .merge(&y.shape)
            .ok_or_else(|| format!("ReluGrad needs equal shapes, got {dy} and {y}"))?;
        Ok(vec![TensorSpec::new(dy.dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let (dy, y) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
            if dy.shape() != y.shape() {
                return Err("the gradient and relu's output differ in shape".into());
            }
            k.zip_into(0, dy, y, |g: T, y: T| if y > T::zero() { g } else { T::zero() })?;
            Ok(())
        })
    }
    /// d/dg = [y > 0] (ReluGrad again); nothing flows to y, as TF's
    /// `_ReluGradGrad`.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let y = c.x(1);
        vec![Some(y.graph().add_op(ReluGrad, &[c.dy(0), y])), None]
    }
}

/// `tf.nn.relu(features)`: `max(features, 0)`, with gradient 0 at 0.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, gradients, ops::relu};
/// let g = Graph::new();
/// let x = g.constant(vec![-1.0f32, 0.0, 2.0]);
/// let y = relu(x);
/// let dx = gradients(&[y], &[x])[0].unwrap();
/// let mut s = Session::new(&g);
/// let (y, dx) = s.run((y, dx), &feed! {}).unwrap();
/// assert_eq!(y.into_array::<f32>().unwrap().as_slice().unwrap(), &[0.0, 0.0, 2.0]);
/// assert_eq!(dx.into_array::<f32>().unwrap().as_slice().unwrap(), &[0.0, 0.0, 1.0]);
/// ```
#[track_caller]
pub fn relu(features: Tensor) -> Tensor {
    features.graph().add_op(Relu, &[features])
}

/// `min(max(x, 0), 6)`.
#[derive(Debug)]
struct Relu6;

impl Op for Relu6 {
    fn kind(&self) -> &'static OpKind {
        &RELU6
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let six = T::from_f64(6.0);
            map_float(k, |x: T| if x > six { six } else if x > T::zero() { x } else { T::zero() })
        })
    }
    /// relu6'(x) = [0 < x < 6].
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(c.dy(0) * step_mask(c.x(0), 0.0, 6.0))]
    }
}

/// `tf.nn.relu6(features)`: `min(max(features, 0), 6)`, with gradient 0
/// at 0 and at 6.
#[track_caller]
pub fn relu6(features: Tensor) -> Tensor {
    features.graph().add_op(Relu6, &[features])
}

/// `x` for `x > 0`, else `alpha * x`.
#[derive(Debug)]
struct LeakyRelu {
    alpha: f64,
}

impl Op for LeakyRelu {
    fn kind(&self) -> &'static OpKind {
        &LEAKY_RELU
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let alpha = self.alpha;
        float_dispatch!(k.input(0), T => {
            let alpha = T::from_f64(alpha);
            map_float(k, |x: T| if x > T::zero() { x } else { alpha * x })
        })
    }
    /// leaky_relu'(x) = 1 for x > 0, else alpha.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let m = step_mask(c.x(0), 0.0, f64::INFINITY);
        vec![Some(c.dy(0) * (m * (1.0 - self.alpha) + self.alpha))]
    }
    fn attrs(&self) -> String {
        format!("alpha={}", self.alpha)
    }
}

/// `tf.nn.leaky_relu(features, alpha)`: `features` where positive, else
/// `alpha * features` (TF's default alpha is 0.2); the gradient at 0 is
/// `alpha`.
#[track_caller]
pub fn leaky_relu(features: Tensor, alpha: f64) -> Tensor {
    features.graph().add_op(LeakyRelu { alpha }, &[features])
}

/// `x` for `x > 0`, else `exp(x) - 1`.
#[derive(Debug)]
struct Elu;

impl Op for Elu {
    fn kind(&self) -> &'static OpKind {
        &ELU
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => map_float(k, |x: T| if x > T::zero() { x } else { x.exp_m1() }))
    }
    /// elu'(x) = 1 for x > 0, else exp(x) = y + 1.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let outside = 1.0 - step_mask(c.x(0), 0.0, f64::INFINITY);
        vec![Some(c.dy(0) * (outside * c.y(0) + 1.0))]
    }
}

/// `tf.nn.elu(features)`: `features` where positive, else
/// `exp(features) - 1`.
#[track_caller]
pub fn elu(features: Tensor) -> Tensor {
    features.graph().add_op(Elu, &[features])
}

/// `1 / (1 + exp(-x))`, without overflow for large `|x|`.
fn sigmoid_of<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// The logistic function.
#[derive(Debug)]
struct Sigmoid;

impl Op for Sigmoid {
    fn kind(&self) -> &'static OpKind {
        &SIGMOID
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => map_float(k, sigmoid_of::<T>))
    }
    /// sigmoid'(x) = y (1 - y).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let y = c.y(0);
        vec![Some(c.dy(0) * (y * (1.0 - y)))]
    }
}

/// `tf.sigmoid(x)`: `1 / (1 + exp(-x))`.
#[track_caller]
pub fn sigmoid(x: Tensor) -> Tensor {
    x.graph().add_op(Sigmoid, &[x])
}

/// The hyperbolic tangent.
#[derive(Debug)]
struct Tanh;

impl Op for Tanh {
    fn kind(&self) -> &'static OpKind {
        &TANH
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => map_float(k, |x: T| x.tanh()))
    }
    /// tanh'(x) = 1 - y^2.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let y = c.y(0);
        vec![Some(c.dy(0) * (1.0 - y * y))]
    }
}

/// `tf.tanh(x)`.
#[track_caller]
pub fn tanh(x: Tensor) -> Tensor {
    x.graph().add_op(Tanh, &[x])
}

/// `log(1 + exp(x))`.
#[derive(Debug)]
struct Softplus;

impl Op for Softplus {
    fn kind(&self) -> &'static OpKind {
        &SOFTPLUS
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        // max(x, 0) + log(1 + exp(-|x|)) neither overflows nor loses the
        // small tail for very negative x.
        float_dispatch!(k.input(0), T => map_float(k, |x: T| x.max(T::zero()) + (-x.abs()).exp().ln_1p()))
    }
    /// softplus'(x) = sigmoid(x).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(c.dy(0) * sigmoid(c.x(0)))]
    }
}

/// `tf.nn.softplus(features)`: `log(1 + exp(features))`, computed stably.
#[track_caller]
pub fn softplus(features: Tensor) -> Tensor {
    features.graph().add_op(Softplus, &[features])
}

/// (Log-)softmax of every lane of `x` along `axis`, max-subtracted.
fn softmax_lanes<T: Float>(x: &ArrayD<T>, axis: usize, log: bool) -> ArrayD<T> {
    let mut out = x.clone();
    for mut lane in out.lanes_mut(Axis(axis)) {
        let max = lane.fold(T::neg_infinity(), |m, &v| if v > m { v } else { m });
        lane.mapv_inplace(|v| v - max);
        let sum: T = lane.iter().map(|v| v.exp()).sum();
        if log {
            let log_sum = sum.ln();
            lane.mapv_inplace(|v| v - log_sum);
        } else {
            lane.mapv_inplace(|v| v.exp() / sum);
        }
    }
    out
}

/// Softmax or log-softmax along one axis.
#[derive(Debug)]
struct Softmax {
    axis: isize,
    log: bool,
}

impl Op for Softmax {
    fn kind(&self) -> &'static OpKind {
        if self.log {
            &LOG_SOFTMAX
        } else {
            &SOFTMAX
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if let Some(rank) = i[0].shape.rank() {
            if rank == 0 {
                return Err(format!(
                    "softmax needs a tensor of rank >= 1, got shape {}",
                    i[0].shape
                ));
            }
            normalize_axis(self.axis, rank)?;
        }
        infer_float(i)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let rank = x.shape().len();
        if rank == 0 {
            return Err("softmax needs a tensor of rank >= 1, got a scalar".into());
        }
        let axis = normalize_axis(self.axis, rank)?;
        float_dispatch!(x, T => {
            let r = softmax_lanes(k.input_as::<T>(0)?, axis, self.log);
            k.set(0, T::into_value(r));
            Ok(())
        })
    }
    /// softmax: dx = (dy - sum(dy y)) y; log_softmax: dx = dy - softmax(x) sum(dy).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (dy, axis) = (c.dy(0), self.axis);
        let dx = if self.log {
            dy - softmax(c.x(0), axis) * reduce_sum(dy, axis, true)
        } else {
            let y = c.y(0);
            (dy - reduce_sum(dy * y, axis, true)) * y
        };
        vec![Some(dx)]
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `tf.nn.softmax(logits, axis)`: `exp(logits) / sum(exp(logits))` along
/// `axis` (TF's default is -1), computed with the maximum subtracted.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::softmax};
/// let g = Graph::new();
/// let logits = g.constant(ndarray::arr2(&[[1000.0f64, 1000.0], [0.0, f64::ln(3.0)]]).into_dyn());
/// let p = softmax(logits, -1);
/// let mut s = Session::new(&g);
/// let p = s.run(p, &feed! {}).unwrap().into_array::<f64>().unwrap();
/// assert!((p[[0, 0]] - 0.5).abs() < 1e-12 && (p[[1, 1]] - 0.75).abs() < 1e-12);
/// ```
#[track_caller]
pub fn softmax(logits: Tensor, axis: isize) -> Tensor {
    logits
        .graph()
        .add_op(Softmax { axis, log: false }, &[logits])
}

/// `tf.nn.log_softmax(logits, axis)`: `logits - log(sum(exp(logits)))`
/// along `axis` (TF's default is -1), computed with the maximum
/// subtracted.
#[track_caller]
pub fn log_softmax(logits: Tensor, axis: isize) -> Tensor {
    logits
        .graph()
        .add_op(Softmax { axis, log: true }, &[logits])
}
