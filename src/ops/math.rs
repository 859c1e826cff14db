//! Elementwise arithmetic with NumPy broadcasting, matmul and cast.
//! Each broadcasting op's gradient sums back through [`unbroadcast`].

use super::{unbroadcast, GradCtx, Kernel, KernelError, Op, OpKind};
use crate::dtype::DType;
use crate::graph::{Tensor, TensorSpec};
use crate::ops::kernel::zip_broadcast;
use crate::value::Element;
use ndarray::{Ix2, LinalgScalar};

static ADD: OpKind = OpKind::differentiable("Add");
static SUB: OpKind = OpKind::differentiable("Sub");
static MUL: OpKind = OpKind::differentiable("Mul");
static DIV: OpKind = OpKind::differentiable("RealDiv");
static NEG: OpKind = OpKind::differentiable("Neg");
static MATMUL: OpKind = OpKind::differentiable("MatMul");
static CAST: OpKind = OpKind::differentiable("Cast");

pub(super) static KINDS: &[&OpKind] = &[&ADD, &SUB, &MUL, &DIV, &NEG, &MATMUL, &CAST, &ADD_N];

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

/// Defines a broadcasting elementwise binary op over numeric dtypes.
macro_rules! numeric_binary {
    ($ty:ident, |$x:ident, $y:ident| $f:expr) => {
        #[derive(Debug)]
        struct $ty;
        impl $ty {
            fn kernel(k: &mut Kernel<'_>) -> Result<(), KernelError> {
                crate::numeric_dispatch!(k.input(0), T => {
                    let a = T::from_value(k.input(0)).expect("dispatched");
                    let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
                    let r = zip_broadcast(a, b, |$x: T, $y: T| $f)?;
                    k.set(0, r);
                    Ok(())
                })
            }
        }
    };
}

numeric_binary!(AddOp, |x, y| x + y);
numeric_binary!(SubOp, |x, y| x - y);
numeric_binary!(MulOp, |x, y| x * y);
numeric_binary!(DivOp, |x, y| x / y);

impl Op for AddOp {
    fn kind(&self) -> &'static OpKind {
        &ADD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_broadcast(i, None)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(x+y) = (dy, dy), each summed back to its input's shape.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let dy = c.dy(0);
        vec![Some(unbroadcast(dy, c.x(0))), Some(unbroadcast(dy, c.x(1)))]
    }
}

impl Op for SubOp {
    fn kind(&self) -> &'static OpKind {
        &SUB
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_broadcast(i, None)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(x-y) = (dy, -dy).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let dy = c.dy(0);
        vec![
            Some(unbroadcast(dy, c.x(0))),
            Some(unbroadcast(-dy, c.x(1))),
        ]
    }
}

impl Op for MulOp {
    fn kind(&self) -> &'static OpKind {
        &MUL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_broadcast(i, None)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(xy) = (dy*y, dy*x).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y, dy) = (c.x(0), c.x(1), c.dy(0));
        vec![Some(unbroadcast(dy * y, x)), Some(unbroadcast(dy * x, y))]
    }
}

impl Op for DivOp {
    fn kind(&self) -> &'static OpKind {
        &DIV
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_broadcast(i, None)
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        Self::kernel(k)
    }
    /// d(x/y) = (dy/y, -dy*x/y^2).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, y, dy) = (c.x(0), c.x(1), c.dy(0));
        vec![
            Some(unbroadcast(dy / y, x)),
            Some(unbroadcast(-dy * x / (y * y), y)),
        ]
    }
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

/// `tf.divide(x, y)` (also `x / y`; TF's `RealDiv`).
#[track_caller]
pub fn divide(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(DivOp, &[x, y])
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
            let r = T::from_value(k.input(0)).expect("dispatched").mapv(|v| -v);
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

/// Matrix product with optional transposes.
#[derive(Debug)]
struct MatMul {
    transpose_a: bool,
    transpose_b: bool,
}

fn matmul_kernel<T: Element + LinalgScalar>(
    a: &ndarray::ArrayD<T>,
    b: &ndarray::ArrayD<T>,
    ta: bool,
    tb: bool,
) -> Result<ndarray::ArrayD<T>, String> {
    let a = a
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| "matmul needs rank-2 inputs")?;
    let b = b
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| "matmul needs rank-2 inputs")?;
    let a = if ta { a.reversed_axes() } else { a };
    let b = if tb { b.reversed_axes() } else { b };
    if a.ncols() != b.nrows() {
        return Err(format!(
            "matmul inner dimensions differ: [{}, {}] x [{}, {}]",
            a.nrows(),
            a.ncols(),
            b.nrows(),
            b.ncols()
        ));
    }
    Ok(a.dot(&b).into_dyn())
}

impl Op for MatMul {
    fn kind(&self) -> &'static OpKind {
        &MATMUL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (a, b) = (&i[0], &i[1]);
        if a.dtype != b.dtype {
            return Err(format!("dtypes differ: {} vs {}", a.dtype, b.dtype));
        }
        if a.dtype == DType::Bool {
            return Err("matmul of bool tensors".into());
        }
        for s in [a, b] {
            if s.shape.rank().is_some_and(|r| r != 2) {
                return Err(format!("matmul needs rank-2 inputs, got shape {}", s.shape));
            }
        }
        // (rows, cols) after the optional transpose.
        let dims = |s: &TensorSpec, t: bool| {
            let (r, c) = (s.shape.dim(0), s.shape.dim(1));
            if t {
                (c, r)
            } else {
                (r, c)
            }
        };
        let (m, ka) = dims(a, self.transpose_a);
        let (kb, n) = dims(b, self.transpose_b);
        if let (Some(x), Some(y)) = (ka, kb) {
            if x != y {
                return Err(format!(
                    "inner dimensions differ ({x} vs {y}) in matmul of {} and {}{}",
                    a.shape,
                    b.shape,
                    match (self.transpose_a, self.transpose_b) {
                        (false, false) => "",
                        (true, false) => " with transpose_a",
                        (false, true) => " with transpose_b",
                        (true, true) => " with transpose_a and transpose_b",
                    }
                ));
            }
        }
        Ok(vec![TensorSpec::new(a.dtype, [m, n])])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let (ta, tb) = (self.transpose_a, self.transpose_b);
        crate::numeric_dispatch!(k.input(0), T => {
            let a = T::from_value(k.input(0)).expect("dispatched");
            let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
            let r = matmul_kernel(a, b, ta, tb)?;
            k.set(0, r);
            Ok(())
        })
    }
    /// C = A B: dA = dC B^T, dB = A^T dC (transposes permute these).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (a, b, g) = (c.x(0), c.x(1), c.dy(0));
        let (da, db) = match (self.transpose_a, self.transpose_b) {
            (false, false) => (matmul(g, b, false, true), matmul(a, g, true, false)),
            (false, true) => (matmul(g, b, false, false), matmul(g, a, true, false)),
            (true, false) => (matmul(b, g, false, true), matmul(a, g, false, false)),
            (true, true) => (matmul(b, g, true, true), matmul(g, a, true, true)),
        };
        vec![Some(da), Some(db)]
    }
    fn attrs(&self) -> String {
        match (self.transpose_a, self.transpose_b) {
            (false, false) => String::new(),
            (ta, tb) => format!("transpose_a={ta}, transpose_b={tb}"),
        }
    }
}

/// `tf.matmul(a, b, transpose_a, transpose_b)` of two rank-2 tensors.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::matmul};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
/// let w = g.placeholder(DType::Float32, [784usize, 200], "W");
/// assert_eq!(matmul(x, w, false, false).shape().to_string(), "[?, 200]");
/// ```
#[track_caller]
pub fn matmul(a: Tensor, b: Tensor, transpose_a: bool, transpose_b: bool) -> Tensor {
    a.graph().add_op(
        MatMul {
            transpose_a,
            transpose_b,
        },
        &[a, b],
    )
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

static ADD_N: OpKind = OpKind::differentiable("AddN");

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
                acc += b;
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
