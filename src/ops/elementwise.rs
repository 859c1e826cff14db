//! Elementwise unary math (abs, sign, square, sqrt, rsqrt, exp, log,
//! reciprocal, sin, cos) and the pass-through ops identity and stop_gradient. Every
//! output has its input's shape and dtype; float-only ops reject integer
//! inputs statically, as TF does.

use super::element::Numeric;
use super::element::{float_dispatch, numeric_dispatch};
use crate::dtype::DType;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};

op_kinds! {
    ABS = differentiable("Abs", "abs");
    SIGN = differentiable("Sign", "sign");
    SQUARE = differentiable("Square", "square");
    SQRT = differentiable("Sqrt", "sqrt");
    RSQRT = differentiable("Rsqrt", "rsqrt");
    EXP = differentiable("Exp", "exp");
    LOG = differentiable("Log", "log");
    RECIPROCAL = differentiable("Reciprocal", "reciprocal");
    SIN = differentiable("Sin", "sin");
    COS = differentiable("Cos", "cos");
    IDENTITY = differentiable("Identity", "identity");
    STOP_GRADIENT = not_differentiable("StopGradient", "stop_gradient");
}

/// Static rule of a unary op: the input's spec, if its dtype is allowed.
fn infer_unary(i: &[TensorSpec], name: &str, floats_only: bool) -> Result<Vec<TensorSpec>, String> {
    let dt = i[0].dtype;
    if dt == DType::Bool || (floats_only && !dt.is_float()) {
        let wanted = if floats_only { "a float" } else { "a numeric" };
        return Err(format!("{name} needs {wanted} tensor, got {dt}"));
    }
    Ok(vec![i[0].clone()])
}

/// Defines a unary elementwise op: its type, kind, the dispatch
/// (`numeric` for ints and floats, `float` for floats only), the element
/// map and the gradient.
macro_rules! unary {
    ($ty:ident, $kind:ident, numeric, |$v:ident| $f:expr,
     $(#[$gdoc:meta])* |$c:ident| $grad:expr) => {
        #[derive(Debug)]
        struct $ty;
        impl Op for $ty {
            fn kind(&self) -> &'static OpKind {
                &$kind
            }
            fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
                infer_unary(i, $kind.python, false)
            }
            fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
                numeric_dispatch!(k.input(0), T => {
                    let r = T::from_value(k.input(0)).expect("dispatched").mapv(|$v: T| $f);
                    k.set(0, r);
                    Ok(())
                })
            }
            $(#[$gdoc])*
            fn grad(&self, $c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
                vec![Some($grad)]
            }
        }
    };
    ($ty:ident, $kind:ident, float, |$v:ident| $f:expr,
     $(#[$gdoc:meta])* |$c:ident| $grad:expr) => {
        #[derive(Debug)]
        struct $ty;
        impl Op for $ty {
            fn kind(&self) -> &'static OpKind {
                &$kind
            }
            fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
                infer_unary(i, $kind.python, true)
            }
            fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
                float_dispatch!(k.input(0), T => {
                    let r = k.input_as::<T>(0)?.mapv(|$v: T| $f);
                    k.set(0, r);
                    Ok(())
                })
            }
            $(#[$gdoc])*
            fn grad(&self, $c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
                vec![Some($grad)]
            }
        }
    };
}

unary!(Abs, ABS, numeric, |v| v.absolute(),
    /// d|x| = dy * sign(x), so 0 at x = 0 (as TF).
    |c| c.dy(0) * sign(c.x(0)));
unary!(Sign, SIGN, numeric, |v| v.sign(),
    /// d sign(x) = 0 (TF's convention, also at 0).
    |c| super::zeros_like(c.x(0)));
unary!(Square, SQUARE, numeric, |v| v.times(v),
    /// d x^2 = dy * 2x.
    |c| c.dy(0) * (c.x(0) * 2.0));
unary!(Sqrt, SQRT, float, |v| v.sqrt(),
    /// d sqrt(x) = dy * 0.5 / y.
    |c| c.dy(0) * 0.5 / c.y(0));
unary!(Rsqrt, RSQRT, float, |v| v.sqrt().recip(),
    /// d x^(-1/2) = dy * -0.5 * y^3.
    |c| c.dy(0) * (c.y(0) * c.y(0) * c.y(0) * -0.5));
unary!(Exp, EXP, float, |v| v.exp(),
    /// d e^x = dy * y.
    |c| c.dy(0) * c.y(0));
unary!(Log, LOG, float, |v| v.ln(),
    /// d log(x) = dy / x.
    |c| c.dy(0) / c.x(0));
unary!(Reciprocal, RECIPROCAL, float, |v| v.recip(),
    /// d (1/x) = -dy * y^2.
    |c| -c.dy(0) * (c.y(0) * c.y(0)));

unary!(Sin, SIN, float, |v| v.sin(),
    /// d sin(x) = dy * cos(x).
    |c| c.dy(0) * cos(c.x(0)));
unary!(Cos, COS, float, |v| v.cos(),
    /// d cos(x) = -dy * sin(x).
    |c| -c.dy(0) * sin(c.x(0)));

/// `tf.sin(x)` of a float tensor.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::{sin, cos}};
/// let g = Graph::new();
/// let x = g.constant(vec![0.0f64]);
/// let y = sin(x) + cos(x);
/// let mut s = Session::new(&g);
/// assert_eq!(s.run(y, &feed!{}).unwrap().scalar::<f64>().unwrap(), 1.0);
/// ```
#[track_caller]
pub fn sin(x: Tensor) -> Tensor {
    x.graph().add_op(Sin, &[x])
}

/// `tf.cos(x)` of a float tensor.
#[track_caller]
pub fn cos(x: Tensor) -> Tensor {
    x.graph().add_op(Cos, &[x])
}

/// `tf.abs(x)`: the absolute value (integers wrap at their minimum, as in
/// TF). Its gradient at exactly 0 is 0.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::abs};
/// let g = Graph::new();
/// let x = g.constant(vec![-2.0f32, 0.0, 3.0]);
/// let y = abs(x);
/// let mut s = Session::new(&g);
/// let r = s.run(y, &feed!{}).unwrap().into_array::<f32>().unwrap();
/// assert_eq!(r.as_slice().unwrap(), &[2.0, 0.0, 3.0]);
/// ```
#[track_caller]
pub fn abs(x: Tensor) -> Tensor {
    x.graph().add_op(Abs, &[x])
}

/// `tf.sign(x)`: -1, 0 or 1 elementwise; its gradient is zero.
#[track_caller]
pub fn sign(x: Tensor) -> Tensor {
    x.graph().add_op(Sign, &[x])
}

/// `tf.square(x)`: `x * x` elementwise (floats and integers).
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::square};
/// let g = Graph::new();
/// let x = g.constant(vec![-2.0f64, 3.0]);
/// let y = square(x);
/// let mut s = Session::new(&g);
/// let r = s.run(y, &feed!{}).unwrap().into_array::<f64>().unwrap();
/// assert_eq!(r.as_slice().unwrap(), &[4.0, 9.0]);
/// ```
#[track_caller]
pub fn square(x: Tensor) -> Tensor {
    x.graph().add_op(Square, &[x])
}

/// `tf.sqrt(x)` of a float tensor.
#[track_caller]
pub fn sqrt(x: Tensor) -> Tensor {
    x.graph().add_op(Sqrt, &[x])
}

/// `tf.rsqrt(x)`: `1 / sqrt(x)` of a float tensor.
#[track_caller]
pub fn rsqrt(x: Tensor) -> Tensor {
    x.graph().add_op(Rsqrt, &[x])
}

/// `tf.exp(x)` of a float tensor.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::{exp, log}};
/// let g = Graph::new();
/// let x = g.constant(vec![0.0f64, 1.0]);
/// let y = log(exp(x));
/// let mut s = Session::new(&g);
/// let r = s.run(y, &feed!{}).unwrap().into_array::<f64>().unwrap();
/// assert_eq!(r.as_slice().unwrap(), &[0.0, 1.0]);
/// ```
#[track_caller]
pub fn exp(x: Tensor) -> Tensor {
    x.graph().add_op(Exp, &[x])
}

/// `tf.log(x)` (`tf.math.log`): the natural logarithm of a float tensor.
#[track_caller]
pub fn log(x: Tensor) -> Tensor {
    x.graph().add_op(Log, &[x])
}

/// `tf.reciprocal(x)`: `1 / x` of a float tensor.
#[track_caller]
pub fn reciprocal(x: Tensor) -> Tensor {
    x.graph().add_op(Reciprocal, &[x])
}

/// `tf.identity` and `tf.stop_gradient`: the input, unchanged.
#[derive(Debug)]
struct PassThrough {
    stop_gradient: bool,
}

impl Op for PassThrough {
    fn kind(&self) -> &'static OpKind {
        if self.stop_gradient {
            &STOP_GRADIENT
        } else {
            &IDENTITY
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let v = k.input(0).clone();
        k.set(0, v);
        Ok(())
    }
    /// d identity(x) = dy (stop_gradient is not differentiable).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(c.dy(0))]
    }
}

/// `tf.identity(x)`: a new node with `x`'s value (any dtype).
#[track_caller]
pub fn identity(x: Tensor) -> Tensor {
    x.graph().add_op(
        PassThrough {
            stop_gradient: false,
        },
        &[x],
    )
}

/// `tf.stop_gradient(x)`: `x`'s value, but a barrier to gradients:
/// [`gradients`](crate::gradients()) treats it as a constant, so nothing flows
/// back into `x` through it (`None` when that is the only path).
///
/// ```
/// use tensorgraph::{Graph, DType, gradients, ops::stop_gradient};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [3usize], "x");
/// let y = stop_gradient(x * 2.0);
/// assert!(gradients(&[y], &[x])[0].is_none());
/// ```
#[track_caller]
pub fn stop_gradient(x: Tensor) -> Tensor {
    x.graph().add_op(
        PassThrough {
            stop_gradient: true,
        },
        &[x],
    )
}
