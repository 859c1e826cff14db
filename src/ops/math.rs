//! Elementwise arithmetic with NumPy broadcasting (add, subtract,
//! multiply, divide, pow, maximum, minimum, clip_by_value), negative, cast
//! and add_n. Each broadcasting op's gradient sums back through
//! [`unbroadcast`](super::unbroadcast). Integer kernels wrap on overflow and report division by
//! zero as an error, so no data can make a kernel panic.

use super::broadcast::unbroadcast_against;
use super::{
    greater, greater_equal, less_equal, log, ones_like, scalar_like, where_, zeros_like, GradCtx,
    Kernel, KernelError, Op, OpKind,
};
use crate::dtype::DType;
use crate::graph::{Tensor, TensorSpec};
use crate::ops::kernel::zip_broadcast;
use crate::value::Element;
use ndarray::ArrayD;

static ADD: OpKind = OpKind::differentiable("Add");
static SUB: OpKind = OpKind::differentiable("Sub");
static MUL: OpKind = OpKind::differentiable("Mul");
static DIV: OpKind = OpKind::differentiable("RealDiv");
static POW: OpKind = OpKind::differentiable("Pow");
static MAXIMUM: OpKind = OpKind::differentiable("Maximum");
static MINIMUM: OpKind = OpKind::differentiable("Minimum");
static NEG: OpKind = OpKind::differentiable("Neg");
static CAST: OpKind = OpKind::differentiable("Cast");
static ADD_N: OpKind = OpKind::differentiable("AddN");

pub(super) static KINDS: &[&OpKind] = &[
    &ADD, &SUB, &MUL, &DIV, &POW, &MAXIMUM, &MINIMUM, &NEG, &CAST, &ADD_N,
];

/// Element arithmetic of the numeric dtypes that never panics on data:
/// integers wrap on overflow (as TF's kernels do), floats follow IEEE.
pub(crate) trait Numeric: Element + PartialOrd {
    fn plus(self, o: Self) -> Self;
    fn minus(self, o: Self) -> Self;
    fn times(self, o: Self) -> Self;
    /// `None` for an integer division by zero (or `MIN / -1`).
    fn divided(self, o: Self) -> Option<Self>;
    fn negated(self) -> Self;
    fn absolute(self) -> Self;
    /// -1, 0 or 1 (0 for a float zero).
    fn sign(self) -> Self;
    /// `None` for an integer raised to a negative power (an error in TF).
    fn power(self, e: Self) -> Option<Self>;
}

macro_rules! numeric_float {
    ($t:ty) => {
        impl Numeric for $t {
            fn plus(self, o: Self) -> Self {
                self + o
            }
            fn minus(self, o: Self) -> Self {
                self - o
            }
            fn times(self, o: Self) -> Self {
                self * o
            }
            fn divided(self, o: Self) -> Option<Self> {
                Some(self / o)
            }
            fn negated(self) -> Self {
                -self
            }
            fn absolute(self) -> Self {
                self.abs()
            }
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    self
                }
            }
            fn power(self, e: Self) -> Option<Self> {
                Some(self.powf(e))
            }
        }
    };
}

macro_rules! numeric_int {
    ($t:ty) => {
        impl Numeric for $t {
            fn plus(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn minus(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn times(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn divided(self, o: Self) -> Option<Self> {
                self.checked_div(o)
            }
            fn negated(self) -> Self {
                self.wrapping_neg()
            }
            fn absolute(self) -> Self {
                self.wrapping_abs()
            }
            fn sign(self) -> Self {
                self.signum()
            }
            fn power(self, e: Self) -> Option<Self> {
                // Square-and-multiply, wrapping like TF's integer pow.
                let mut e = u64::try_from(e).ok()?;
                let (mut base, mut acc): (Self, Self) = (self, 1);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                Some(acc)
            }
        }
    };
}

numeric_float!(f32);
numeric_float!(f64);
numeric_int!(i32);
numeric_int!(i64);

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

/// Defines a broadcasting elementwise binary op over numeric dtypes: with
/// `|x, y| expr` the result, with `try |x, y| expr` an `Option` whose `None`
/// fails the run with the given message.
macro_rules! numeric_binary {
    ($ty:ident, |$x:ident, $y:ident| $f:expr) => {
        #[derive(Debug)]
        struct $ty;
        impl $ty {
            fn kernel(k: &mut Kernel<'_>) -> Result<(), KernelError> {
                crate::numeric_dispatch!(k.input(0), T => {
                    let a = T::from_value(k.input(0)).expect("dispatched");
                    let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
                    k.zip_into(0, a, b, |$x: T, $y: T| $f)?;
                    Ok(())
                })
            }
        }
    };
    ($ty:ident, $err:literal, try |$x:ident, $y:ident| $f:expr) => {
        #[derive(Debug)]
        struct $ty;
        impl $ty {
            fn kernel(k: &mut Kernel<'_>) -> Result<(), KernelError> {
                crate::numeric_dispatch!(k.input(0), T => {
                    let a = T::from_value(k.input(0)).expect("dispatched");
                    let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
                    let r = zip_broadcast(a, b, |$x: T, $y: T| $f)?;
                    let data = r.iter().copied().collect::<Option<Vec<T>>>().ok_or($err)?;
                    let r = ArrayD::from_shape_vec(r.raw_dim(), data).map_err(|e| e.to_string())?;
                    k.set(0, r);
                    Ok(())
                })
            }
        }
    };
}

numeric_binary!(AddOp, |x, y| x.plus(y));
numeric_binary!(SubOp, |x, y| x.minus(y));
numeric_binary!(MulOp, |x, y| x.times(y));
numeric_binary!(DivOp, "integer division by zero", try |x, y| x.divided(y));
numeric_binary!(PowOp, "integers cannot be raised to negative powers", try |x, y| x.power(y));
numeric_binary!(MaximumOp, |x, y| if x >= y { x } else { y });
numeric_binary!(MinimumOp, |x, y| if x <= y { x } else { y });

impl Op for AddOp {
    fn kind(&self) -> &'static OpKind {
        &ADD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(x+y) = (dy, dy), each summed back to its input's shape.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let dy = c.dy(0);
        let (x, y) = (c.x(0), c.x(1));
        vec![
            Some(unbroadcast_against(dy, x, y)),
            Some(unbroadcast_against(dy, y, x)),
        ]
    }
}

impl Op for SubOp {
    fn kind(&self) -> &'static OpKind {
        &SUB
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(x-y) = (dy, -dy).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let dy = c.dy(0);
        vec![
            Some(unbroadcast_against(dy, c.x(0), c.x(1))),
            Some(unbroadcast_against(-dy, c.x(1), c.x(0))),
        ]
    }
}

impl Op for MulOp {
    fn kind(&self) -> &'static OpKind {
        &MUL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(xy) = (dy*y, dy*x).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y, dy) = (c.x(0), c.x(1), c.dy(0));
        vec![
            Some(unbroadcast_against(dy * y, x, y)),
            Some(unbroadcast_against(dy * x, y, x)),
        ]
    }
}

impl Op for DivOp {
    fn kind(&self) -> &'static OpKind {
        &DIV
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(x/y) = (dy/y, -dy*x/y^2).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y, dy) = (c.x(0), c.x(1), c.dy(0));
        vec![
            Some(unbroadcast_against(dy / y, x, y)),
            Some(unbroadcast_against(-dy * x / (y * y), y, x)),
        ]
    }
}

impl Op for PowOp {
    fn kind(&self) -> &'static OpKind {
        &POW
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// z = x^y: dz/dx = y x^(y-1); dz/dy = z log(x) where x > 0, else 0 (as TF).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y, z, dz) = (c.x(0), c.x(1), c.y(0), c.dy(0));
        let dx = dz * y * pow(x, y - 1.0);
        // log is only taken of positive x, so no NaN reaches the product.
        let positive = greater(x, zeros_like(x));
        let safe_x = where_(positive, x, ones_like(x));
        let log_x = where_(positive, log(safe_x), zeros_like(x));
        let dy = dz * z * log_x;
        vec![
            Some(unbroadcast_against(dx, x, y)),
            Some(unbroadcast_against(dy, y, x)),
        ]
    }
}

impl Op for MaximumOp {
    fn kind(&self) -> &'static OpKind {
        &MAXIMUM
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d max(x, y) = (dy where x >= y, dy where x < y): ties go to x, as TF.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y) = (c.x(0), c.x(1));
        let (dx, dy) = split_by_mask(greater_equal(x, y), c.dy(0));
        vec![
            Some(unbroadcast_against(dx, x, y)),
            Some(unbroadcast_against(dy, y, x)),
        ]
    }
}

impl Op for MinimumOp {
    fn kind(&self) -> &'static OpKind {
        &MINIMUM
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_arithmetic(i)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d min(x, y) = (dy where x <= y, dy where x > y): ties go to x, as TF.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y) = (c.x(0), c.x(1));
        let (dx, dy) = split_by_mask(less_equal(x, y), c.dy(0));
        vec![
            Some(unbroadcast_against(dx, x, y)),
            Some(unbroadcast_against(dy, y, x)),
        ]
    }
}

/// `(g where mask, g where !mask)`, zeros elsewhere.
fn split_by_mask(mask: Tensor, g: Tensor) -> (Tensor, Tensor) {
    let zeros = zeros_like(g);
    (where_(mask, g, zeros), where_(mask, zeros, g))
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
    x.graph().add_op(PowOp, &[x, y])
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
    x.graph().add_op(MaximumOp, &[x, y])
}

/// `tf.minimum(x, y)` elementwise, with broadcasting. On ties the whole
/// gradient goes to `x`, as in TF.
#[track_caller]
pub fn minimum(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(MinimumOp, &[x, y])
}

/// A clip bound of [`clip_by_value`]: a tensor, or a number taken as a
/// scalar of the clipped tensor's dtype.
pub trait ClipBound {
    /// The bound as a tensor in `t`'s graph, of `t`'s dtype.
    fn into_bound(self, t: Tensor) -> Tensor;
}

impl ClipBound for Tensor {
    fn into_bound(self, _: Tensor) -> Tensor {
        self
    }
}

impl ClipBound for f64 {
    fn into_bound(self, t: Tensor) -> Tensor {
        scalar_like(self, t)
    }
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
    clip_value_min: impl ClipBound,
    clip_value_max: impl ClipBound,
) -> Tensor {
    let (lo, hi) = (clip_value_min.into_bound(t), clip_value_max.into_bound(t));
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
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        crate::numeric_dispatch!(k.input(0), T => {
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
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
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
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        crate::numeric_dispatch!(k.input(0), T => {
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
