//! Elementwise arithmetic with NumPy broadcasting (add, subtract,
//! multiply, divide, pow, maximum, minimum, clip_by_value), negative, cast
//! and add_n. Each broadcasting op's gradient sums back through
//! [`unbroadcast`](super::unbroadcast). Integer kernels wrap on overflow and report division by
//! zero as an error, so no data can make a kernel panic.

use super::broadcast::unbroadcast_against;
use super::element::numeric_dispatch;
use super::element::{zip_broadcast, Numeric};
use super::{greater, greater_equal, less_equal, log, ones_like, where_, zeros_like, Scalar};
use crate::dtype::DType;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::ArrayD;

op_kinds! {
    ADD = differentiable("Add", "add");
    SUB = differentiable("Sub", "subtract");
    MUL = differentiable("Mul", "multiply");
    DIV = differentiable("RealDiv", "divide");
    POW = differentiable("Pow", "pow");
    MAXIMUM = differentiable("Maximum", "maximum");
    MINIMUM = differentiable("Minimum", "minimum");
    NEG = differentiable("Neg", "negative");
    CAST = differentiable("Cast", "cast");
    ADD_N = differentiable("AddN", "add_n");
}

/// Static rule of a broadcasting binary op: equal dtypes, broadcast shapes.
pub(crate) fn infer_broadcast(
    inputs: &[TensorSpec],
    out: Option<DType>,
) -> Result<Vec<TensorSpec>, String> {
    let (a, b) = (&inputs[0], &inputs[1]);
    if a.dtype != b.dtype {
        return Err(format!("dtypes differ: {} vs {}", a.dtype, b.dtype));
    }
    let shape = a.shape.broadcast(&b.shape).ok_or_else(|| {
        format!(
            "incompatible shapes for broadcasting: {} vs {}",
            a.shape, b.shape
        )
    })?;
    Ok(vec![TensorSpec::new(out.unwrap_or(a.dtype), shape)])
}

/// [`infer_broadcast`] for arithmetic, which bool tensors do not have.
fn infer_arithmetic(inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
    if inputs[0].dtype == DType::Bool {
        return Err("arithmetic on bool tensors; cast them first".into());
    }
    infer_broadcast(inputs, None)
}

/// Defines a broadcasting elementwise binary op over numeric dtypes: its
/// type, its kind, the element function (`|x, y| expr` the result, or
/// `try |x, y| expr` an `Option` whose `None` fails the run with the
/// given message) and its gradient (`|c| [dx, dy]`, each summed back to
/// its input's shape).
macro_rules! numeric_binary {
    ($ty:ident, $kind:ident, |$x:ident, $y:ident| $f:expr,
     $(#[$gdoc:meta])* |$c:ident| $grad:expr) => {
        numeric_binary!(@op $ty, $kind, $(#[$gdoc])* |$c| $grad, |k| {
            numeric_dispatch!(k.input(0), T => {
                let a = T::from_value(k.input(0)).expect("dispatched");
                let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
                k.zip_into(0, a, b, |$x: T, $y: T| $f)?;
                Ok(())
            })
        });
    };
    ($ty:ident, $kind:ident, $err:literal, try |$x:ident, $y:ident| $f:expr,
     $(#[$gdoc:meta])* |$c:ident| $grad:expr) => {
        numeric_binary!(@op $ty, $kind, $(#[$gdoc])* |$c| $grad, |k| {
            numeric_dispatch!(k.input(0), T => {
                let a = T::from_value(k.input(0)).expect("dispatched");
                let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
                let r = zip_broadcast(a, b, |$x: T, $y: T| $f)?;
                let data = r.iter().copied().collect::<Option<Vec<T>>>().ok_or($err)?;
                let r = ArrayD::from_shape_vec(r.raw_dim(), data).map_err(|e| e.to_string())?;
                k.set(0, r);
                Ok(())
            })
        });
    };
    (@op $ty:ident, $kind:ident, $(#[$gdoc:meta])* |$c:ident| $grad:expr, |$k:ident| $compute:expr) => {
        #[derive(Debug)]
        struct $ty;
        impl Op for $ty {
            fn kind(&self) -> &'static OpKind {
                &$kind
            }
            fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
                infer_arithmetic(i)
            }
            fn compute(&self, $k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
                $compute
            }
            $(#[$gdoc])*
            fn grad(&self, $c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
                let (x, y) = ($c.x(0), $c.x(1));
                let [dx, dy]: [Tensor; 2] = $grad;
                vec![
                    Some(unbroadcast_against(dx, x, y)),
                    Some(unbroadcast_against(dy, y, x)),
                ]
            }
        }
    };
}

numeric_binary!(AddOp, ADD, |x, y| x.plus(y),
/// d(x+y) = (dy, dy).
|c| {
    let dy = c.dy(0);
    [dy, dy]
});
numeric_binary!(SubOp, SUB, |x, y| x.minus(y),
/// d(x-y) = (dy, -dy).
|c| {
    let dy = c.dy(0);
    [dy, -dy]
});
numeric_binary!(MulOp, MUL, |x, y| x.times(y),
    /// d(xy) = (dy*y, dy*x).
    |c| [c.dy(0) * c.x(1), c.dy(0) * c.x(0)]);
numeric_binary!(DivOp, DIV, "integer division by zero", try |x, y| x.divided(y),
/// d(x/y) = (dy/y, -dy*x/y^2).
|c| {
    let (x, y, dz) = (c.x(0), c.x(1), c.dy(0));
    [dz / y, -dz * x / (y * y)]
});
numeric_binary!(Pow, POW, "integers cannot be raised to negative powers", try |x, y| x.power(y),
/// z = x^y: dz/dx = y x^(y-1); dz/dy = z log(x) where x > 0, else 0 (as TF).
|c| {
    let (x, y, z, dz) = (c.x(0), c.x(1), c.y(0), c.dy(0));
    let dx = dz * y * pow(x, y - 1.0);
    // log is only taken of positive x, so no NaN reaches the product.
    let positive = greater(x, zeros_like(x));
    let safe_x = where_(positive, x, ones_like(x));
    let log_x = where_(positive, log(safe_x), zeros_like(x));
    [dx, dz * z * log_x]
});
numeric_binary!(Maximum, MAXIMUM, |x, y| if x >= y { x } else { y },
    /// d max(x, y) = (dy where x >= y, dy where x < y): ties go to x, as TF.
    |c| split_by_mask(greater_equal(c.x(0), c.x(1)), c.dy(0)));
numeric_binary!(Minimum, MINIMUM, |x, y| if x <= y { x } else { y },
    /// d min(x, y) = (dy where x <= y, dy where x > y): ties go to x, as TF.
    |c| split_by_mask(less_equal(c.x(0), c.x(1)), c.dy(0)));

/// `[g where mask, g where !mask]`, zeros elsewhere.
fn split_by_mask(mask: Tensor, g: Tensor) -> [Tensor; 2] {
    let zeros = zeros_like(g);
    [where_(mask, g, zeros), where_(mask, zeros, g)]
}

/// `tf.add(x, y)` (also `x + y`), with broadcasting.
#[track_caller]
pub fn add(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(AddOp, &[x, y])
}

/// `tf.subtract(x, y)` (also `x - y`; TF1's old name `tf.sub`).
#[track_caller]
pub fn subtract(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(SubOp, &[x, y])
}

/// `tf.multiply(x, y)` (also `x * y`; TF1's old name `tf.mul`).
#[track_caller]
pub fn multiply(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(MulOp, &[x, y])
}

/// `tf.divide(x, y)` (also `x / y`; TF's `RealDiv`). Integer division
/// truncates, and a zero divisor fails the run.
#[track_caller]
pub fn divide(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(DivOp, &[x, y])
}

/// `tf.pow(x, y)`: `x` to the power `y` elementwise, with broadcasting.
/// Integer tensors work too (wrapping on overflow; a negative exponent
/// fails the run, as in TF). The gradient with respect to `y` is taken as
/// 0 where `x <= 0`, as TF does.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::pow};
/// let g = Graph::new();
/// let x = g.constant(vec![1.0f32, 2.0, 3.0]);
/// let y = g.constant(2.0f32);
/// let z = pow(x, y);
/// let mut s = Session::new(&g);
/// let r = s.run(z, &feed!{}).unwrap().into_array::<f32>().unwrap();
/// assert_eq!(r.as_slice().unwrap(), &[1.0, 4.0, 9.0]);
/// ```
#[track_caller]
pub fn pow(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Pow, &[x, y])
}

/// `tf.maximum(x, y)` elementwise, with broadcasting. On ties the whole
/// gradient goes to `x`, as in TF.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::maximum};
/// let g = Graph::new();
/// let x = g.constant(vec![-1.0f32, 2.0, 0.5]);
/// let zero = g.constant(0.0f32);
/// let relu = maximum(x, zero);
/// let mut s = Session::new(&g);
/// let r = s.run(relu, &feed!{}).unwrap().into_array::<f32>().unwrap();
/// assert_eq!(r.as_slice().unwrap(), &[0.0, 2.0, 0.5]);
/// ```
#[track_caller]
pub fn maximum(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Maximum, &[x, y])
}

/// `tf.minimum(x, y)` elementwise, with broadcasting. On ties the whole
/// gradient goes to `x`, as in TF.
#[track_caller]
pub fn minimum(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Minimum, &[x, y])
}

/// `tf.clip_by_value(t, clip_value_min, clip_value_max)`: `t` clipped to
/// `[min, max]` elementwise; the bounds are tensors that broadcast to `t`
/// or plain numbers. Built as TF builds it, `maximum(minimum(t, max), min)`,
/// so the gradient reaches `t` where `min <= t <= max` (bounds included)
/// and the bounds elsewhere.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::clip_by_value};
/// let g = Graph::new();
/// let t = g.constant(vec![-3.0f32, 0.5, 7.0]);
/// let c = clip_by_value(t, -1.0, 1.5);
/// let mut s = Session::new(&g);
/// let r = s.run(c, &feed!{}).unwrap().into_array::<f32>().unwrap();
/// assert_eq!(r.as_slice().unwrap(), &[-1.0, 0.5, 1.5]);
/// ```
#[track_caller]
pub fn clip_by_value(
    t: Tensor,
    clip_value_min: impl Into<Scalar>,
    clip_value_max: impl Into<Scalar>,
) -> Tensor {
    let lo = clip_value_min.into().tensor_like(t);
    let hi = clip_value_max.into().tensor_like(t);
    maximum(minimum(t, hi), lo)
}

/// `-x`.
#[derive(Debug)]
struct NegOp;

impl Op for NegOp {
    fn kind(&self) -> &'static OpKind {
        &NEG
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if i[0].dtype == DType::Bool {
            return Err("cannot negate a bool tensor".into());
        }
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        numeric_dispatch!(k.input(0), T => {
            let r = T::from_value(k.input(0)).expect("dispatched").mapv(|v| v.negated());
            k.set(0, r);
            Ok(())
        })
    }
    /// d(-x) = -dy.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(-c.dy(0))]
    }
}

/// `tf.negative(x)` (also `-x`; TF1's old name `tf.neg`).
#[track_caller]
pub fn negative(x: Tensor) -> Tensor {
    x.graph().add_op(NegOp, &[x])
}

/// Converts the element type.
#[derive(Debug)]
struct Cast {
    to: DType,
}

impl Op for Cast {
    fn kind(&self) -> &'static OpKind {
        &CAST
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![TensorSpec::new(self.to, i[0].shape.clone())])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let v = k.input(0).cast(self.to);
        k.set(0, v);
        Ok(())
    }
    /// Between floats, dx = cast(dy) back; to or from non-floats, none.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let from = c.x(0).dtype();
        if from.is_float() && self.to.is_float() {
            vec![Some(cast(c.dy(0), from))]
        } else {
            vec![None]
        }
    }
    fn attrs(&self) -> String {
        format!("DstT={}", self.to)
    }
}

/// `tf.cast(x, dtype)`: floats to ints truncate toward zero; bools become
/// 0/1. A cast to the same dtype returns `x` itself.
#[track_caller]
pub fn cast(x: Tensor, dtype: DType) -> Tensor {
    if x.dtype() == dtype {
        return x;
    }
    x.graph().add_op(Cast { to: dtype }, &[x])
}

/// Sum of a list of same-shaped tensors.
#[derive(Debug)]
struct AddN;

impl Op for AddN {
    fn kind(&self) -> &'static OpKind {
        &ADD_N
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let mut shape = i[0].shape.clone();
        for s in &i[1..] {
            if s.dtype != i[0].dtype {
                return Err(format!("dtypes differ: {} vs {}", i[0].dtype, s.dtype));
            }
            shape = shape.merge(&s.shape).ok_or_else(|| {
                format!(
                    "add_n needs equal shapes, got {} and {}",
                    i[0].shape, s.shape
                )
            })?;
        }
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        numeric_dispatch!(k.input(0), T => {
            let mut acc = T::from_value(k.input(0)).expect("dispatched").clone();
            for v in &k.inputs()[1..] {
                let b = T::from_value(v).ok_or("dtypes differ")?;
                if b.shape() != acc.shape() {
                    return Err(format!("add_n inputs have shapes {:?} and {:?}", acc.shape(), b.shape()).into());
                }
                acc.zip_mut_with(b, |x, &y| *x = x.plus(y));
            }
            k.set(0, acc);
            Ok(())
        })
    }
    /// d(sum x_i) = dy for each input.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(c.dy(0)); c.inputs.len()]
    }
}

/// `tf.add_n(inputs)`: elementwise sum of same-shaped tensors.
///
/// # Panics
/// When `inputs` is empty.
#[track_caller]
pub fn add_n(inputs: &[Tensor]) -> Tensor {
    let first = *inputs.first().expect("add_n needs at least one input");
    first.graph().add_op(AddN, inputs)
}

/// The sum of gradient contributions: `None` for none, the tensor itself
/// for one, `add_n` for several.
#[track_caller]
pub(crate) fn sum_contributions(parts: &[Tensor]) -> Option<Tensor> {
    match parts {
        [] => None,
        [one] => Some(*one),
        _ => Some(add_n(parts)),
    }
}
