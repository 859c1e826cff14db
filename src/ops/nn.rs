//! Neural-network building blocks: `bias_add`, `batch_normalization`
//! (composed from arithmetic and one inverse-standard-deviation op) and
//! `check_numerics`.

use super::element::zip_broadcast;
use super::element::{float_dispatch, numeric_dispatch};
use super::{unbroadcast, Float};
use crate::dtype::DType;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};

op_kinds! {
    BIAS_ADD = differentiable("BiasAdd", "bias_add");
    INV_STD = differentiable("BatchNormInvStd", "batch_norm_inv_std");
    CHECK_NUMERICS = differentiable("CheckNumerics", "check_numerics");
}

/// `value + bias` with `bias` along the last axis.
#[derive(Debug)]
struct BiasAdd;

impl Op for BiasAdd {
    fn kind(&self) -> &'static OpKind {
        &BIAS_ADD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (v, b) = (&i[0], &i[1]);
        if v.dtype != b.dtype || v.dtype == DType::Bool {
            return Err(format!(
                "value and bias must be numbers of one dtype, got {} and {}",
                v.dtype, b.dtype
            ));
        }
        if v.shape.rank().is_some_and(|r| r < 2) || b.shape.rank().is_some_and(|r| r != 1) {
            return Err(format!(
                "bias_add needs a value of rank >= 2 and a bias of rank 1, got {} and {}",
                v.shape, b.shape
            ));
        }
        if let (Some(c), Some(n)) = (v.shape.dim(-1), b.shape.dim(0)) {
            if c != n {
                return Err(format!(
                    "bias of shape {} does not match the last dimension of value {}",
                    b.shape, v.shape
                ));
            }
        }
        let shape = v
            .shape
            .broadcast(&b.shape)
            .ok_or("shapes cannot broadcast")?;
        Ok(vec![TensorSpec::new(v.dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (vs, bs) = (k.input(0).shape(), k.input(1).shape());
        if vs.len() < 2 || bs.len() != 1 || vs[vs.len() - 1] != bs[0] {
            return Err(format!(
                "bias_add needs a value [..., C] of rank >= 2 and a bias [C], got {vs:?} and {bs:?}"
            )
            .into());
        }
        numeric_dispatch!(k.input(0), T => {
            let v = T::from_value(k.input(0)).expect("dispatched");
            let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
            let r = zip_broadcast(v, b, |x: T, y: T| x + y)?;
            k.set(0, r);
            Ok(())
        })
    }
    /// d(v + b) = (dy, dy summed over all axes but the last).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let dy = c.dy(0);
        vec![Some(dy), Some(unbroadcast(dy, c.x(1)))]
    }
}

/// `tf.nn.bias_add(value, bias)`: adds the rank-1 `bias` along the last
/// axis of `value` (rank >= 2, NHWC for images). The bias gradient sums
/// the upstream gradient over every other axis.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::bias_add};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(28), Some(28), Some(32)], "x");
/// let b = g.placeholder(DType::Float32, [32usize], "b");
/// assert_eq!(bias_add(x, b).shape().to_string(), "[?, 28, 28, 32]");
/// ```
#[track_caller]
pub fn bias_add(value: Tensor, bias: Tensor) -> Tensor {
    value.graph().add_op(BiasAdd, &[value, bias])
}

/// `(variance + epsilon)^(-1/2)`, TF's `rsqrt(variance + epsilon)`.
#[derive(Debug)]
struct InvStd {
    epsilon: f64,
}

impl Op for InvStd {
    fn kind(&self) -> &'static OpKind {
        &INV_STD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if !i[0].dtype.is_float() {
            return Err(format!(
                "variance must be a float tensor, got {}",
                i[0].dtype
            ));
        }
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let eps = <T as Float>::from_f64(self.epsilon);
            let r = k.input_as::<T>(0)?.mapv(|v| (v + eps).sqrt().recip());
            k.set(0, r);
            Ok(())
        })
    }
    /// d (v + eps)^(-1/2) = -dy y^3 / 2.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let y = c.y(0);
        vec![Some(c.dy(0) * (y * y * y) * -0.5)]
    }
    fn attrs(&self) -> String {
        format!("variance_epsilon={}", self.epsilon)
    }
}

/// `tf.nn.batch_normalization(x, mean, variance, offset, scale,
/// variance_epsilon)`: `(x - mean) * scale / sqrt(variance + epsilon) +
/// offset`, with `offset` / `scale` optional (0 / 1 when `None`), all
/// broadcasting against `x`. Computed as TF does,
/// `x * inv + (offset - mean * inv)` with `inv = scale * rsqrt(variance +
/// epsilon)`, so gradients reach every input.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::batch_normalization};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
/// let m = g.placeholder(DType::Float32, [3usize], "mean");
/// let v = g.placeholder(DType::Float32, [3usize], "variance");
/// let y = batch_normalization(x, m, v, None, None, 1e-3);
/// assert_eq!(y.shape().to_string(), "[?, 3]");
/// ```
#[track_caller]
pub fn batch_normalization(
    x: Tensor,
    mean: Tensor,
    variance: Tensor,
    offset: Option<Tensor>,
    scale: Option<Tensor>,
    variance_epsilon: f64,
) -> Tensor {
    let eps = InvStd {
        epsilon: variance_epsilon,
    };
    let mut inv = variance.graph().add_op(eps, &[variance]);
    if let Some(s) = scale {
        inv = inv * s;
    }
    let shift = match offset {
        Some(o) => o - mean * inv,
        None => -(mean * inv),
    };
    x * inv + shift
}

/// Identity that fails the run when its input holds NaN or Inf.
#[derive(Debug)]
struct CheckNumerics {
    message: String,
}

/// `"NaN"`, `"Inf"`, `"NaN and Inf"` or `None` for finite data.
fn non_finite<T: Float>(a: &ndarray::ArrayD<T>) -> Option<&'static str> {
    let nan = a.iter().any(|v| v.is_nan());
    let inf = a.iter().any(|v| v.is_infinite());
    match (nan, inf) {
        (false, false) => None,
        (true, false) => Some("NaN"),
        (false, true) => Some("Inf"),
        (true, true) => Some("NaN and Inf"),
    }
}

impl Op for CheckNumerics {
    fn kind(&self) -> &'static OpKind {
        &CHECK_NUMERICS
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if !i[0].dtype.is_float() {
            return Err(format!(
                "check_numerics needs a float tensor, got {}",
                i[0].dtype
            ));
        }
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let found = float_dispatch!(k.input(0), T => Ok(non_finite(k.input_as::<T>(0)?)))?;
        if let Some(what) = found {
            return Err(KernelError::NonFinite {
                message: self.message.clone(),
                what,
            });
        }
        k.set(0, k.input(0).clone());
        Ok(())
    }
    /// Identity: dx = dy, itself checked for NaN/Inf as TF does.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let message = format!(
            "Not a number (NaN) or infinity (Inf) values detected in gradient. {}",
            self.message
        );
        vec![Some(check_numerics(c.dy(0), &message))]
    }
    fn attrs(&self) -> String {
        format!("message={:?}", self.message)
    }
}

/// `tf.debugging.check_numerics(t, message)`: returns `t`, but running it
/// on data holding NaN or Inf fails with [`KernelError::NonFinite`]
/// carrying `message`. Its gradient is checked the same way.
///
/// ```
/// use tensorgraph::{Graph, DType, Session, feed, ops::check_numerics};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [2usize], "x");
/// let y = check_numerics(x, "x went bad");
/// let mut s = Session::new(&g);
/// assert!(s.run(y, &feed!{x => vec![1f32, 2.0]}).is_ok());
/// let e = s.run(y, &feed!{x => vec![f32::NAN, f32::INFINITY]}).unwrap_err();
/// assert!(e.to_string().contains("x went bad: tensor had NaN and Inf values"));
/// ```
#[track_caller]
pub fn check_numerics(t: Tensor, message: &str) -> Tensor {
    let op = CheckNumerics {
        message: message.to_string(),
    };
    t.graph().add_op(op, &[t])
}
