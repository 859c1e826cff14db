//! Matrix products: `matmul` of the last two axes with optional
//! transposes; leading (batch) axes broadcast, and their gradients are
//! summed back through [`unbroadcast`].

use super::element::{float_dispatch, numeric_dispatch};
use super::fused::{in_fused, not_a_graph_node};
use super::{unbroadcast, Float};
use crate::dtype::broadcast_shapes;
use crate::dtype::{DType, Shape};
use crate::gemm::mat_mul;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::Element;
use ndarray::{s, Array3, ArrayD, ArrayView2, ArrayViewMut2, Axis, Ix2, IxDyn, LinalgScalar};
use std::sync::Arc;

op_kinds! {
    MATMUL = differentiable("MatMul", "matmul");
    /// The session's fused `[relu](matmul + bias)` (built by the session,
    /// never a graph node).
    FUSED_MATMUL = not_differentiable("_FusedMatMul", "_fused_matmul");
}

/// Matrix product with optional transposes of the last two axes; leading
/// (batch) axes broadcast.
#[derive(Debug)]
struct MatMul {
    transpose_a: bool,
    transpose_b: bool,
}

/// Checks that `a`'s columns match `b`'s rows.
fn check_inner<T>(a: &ArrayView2<'_, T>, b: &ArrayView2<'_, T>) -> Result<(), String> {
    if a.ncols() != b.nrows() {
        return Err(format!(
            "matmul inner dimensions differ: [{}, {}] x [{}, {}]",
            a.nrows(),
            a.ncols(),
            b.nrows(),
            b.ncols()
        ));
    }
    Ok(())
}

/// `v`, or its transpose when `t`.
fn flip<T>(v: ArrayView2<'_, T>, t: bool) -> ArrayView2<'_, T> {
    if t {
        v.reversed_axes()
    } else {
        v
    }
}

/// `x` broadcast to `batch` leading axes, as a stack of matrices.
fn stack<T: Copy>(x: &ArrayD<T>, batch: &[usize]) -> Result<Array3<T>, String> {
    let (rows, cols) = (x.shape()[x.ndim() - 2], x.shape()[x.ndim() - 1]);
    let full: Vec<usize> = batch.iter().copied().chain([rows, cols]).collect();
    let view = x
        .broadcast(IxDyn(&full))
        .ok_or_else(|| format!("cannot broadcast shape {:?} to {:?}", x.shape(), full))?;
    let n = batch.iter().product();
    Array3::from_shape_vec((n, rows, cols), view.iter().copied().collect())
        .map_err(|e| e.to_string())
}

/// Products with fewer multiply-adds than this run on one thread: below
/// it, handing half of the work to a pool worker costs more than it saves.
/// The MLP's 20M-multiply-add training products at batch 128 are split.
const PARALLEL_MIN_WORK: usize = 4_000_000;

/// The least rows (or columns) of the output per parallel task; each
/// task packs its part of the other operand again, so tasks are also at
/// least 1/4 of a thread's share. Several tasks per thread let a thread
/// slowed by a busy core take fewer.
const PARALLEL_BLOCK: usize = 32;

/// `out = a b`, then `bias` added to every row and relu (the fused kernel's
/// epilogue); large products are split into blocks of rows (or columns) of
/// `out` that the calling thread and up to `threads - 1` pool workers take
/// one at a time, so a thread slowed by a busy core does less of the work.
fn gemm_into<T: Element + LinalgScalar + PartialOrd>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    mut out: ArrayViewMut2<'_, T>,
    threads: usize,
    bias: Option<&[T]>,
    relu: bool,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let by_rows = m >= 2 * n;
    let len = if by_rows { m } else { n };
    let block = PARALLEL_BLOCK.max(len.div_ceil(4 * threads.max(1)));
    let blocks = len.div_ceil(block);
    if threads < 2 || !worth_splitting(m, k, n) || blocks < 2 {
        mat_mul(a, b, out, false, bias, relu);
        return;
    }
    let axis = Axis(if by_rows { 0 } else { 1 });
    let tasks = out.axis_chunks_iter_mut(axis, block).enumerate();
    crate::parallel::for_each(threads, tasks, |(i, o)| {
        let r = i * block..i * block + o.len_of(axis);
        if by_rows {
            mat_mul(a.slice(s![r, ..]), b, o, false, bias, relu);
        } else {
            let bias = bias.map(|b| &b[r.clone()]);
            mat_mul(a, b.slice(s![.., r]), o, false, bias, relu);
        }
    });
}

/// The `(transpose_a, transpose_b)` of `product`, a MatMul node's op,
/// for the fused kernels that compute its product (the session's
/// patterns check the node's kind first).
pub(crate) fn matmul_transposes(product: &dyn Op) -> (bool, bool) {
    let m = product.downcast::<MatMul>().expect("a MatMul op");
    (m.transpose_a, m.transpose_b)
}

/// `x` as a matrix view.
fn view2<T>(x: &ArrayD<T>) -> Result<ArrayView2<'_, T>, String> {
    x.view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())
}

/// The operands of a product of two matrices, `a` and `b` as matrix
/// views, transposed where `ta` (`tb`) says, checked to fit.
pub(crate) fn matrix_operands<'a, T>(
    a: &'a ArrayD<T>,
    b: &'a ArrayD<T>,
    ta: bool,
    tb: bool,
) -> Result<(ArrayView2<'a, T>, ArrayView2<'a, T>), String> {
    let (a, b) = (flip(view2(a)?, ta), flip(view2(b)?, tb));
    check_inner(&a, &b)?;
    Ok((a, b))
}

/// Whether an `m x k x n` product is large enough to split over threads.
pub(crate) fn worth_splitting(m: usize, k: usize, n: usize) -> bool {
    m * k * n >= PARALLEL_MIN_WORK
}

/// The product of two matrices (with optional transposes, as views) into
/// output 0's reused buffer, then `bias` (one value per column) added to
/// every row and relu: the fused kernel's epilogue.
fn matmul2<T: Element + LinalgScalar + PartialOrd + num_traits::Zero>(
    k: &mut ComputeCtx<'_>,
    ta: bool,
    tb: bool,
    bias: Option<&ArrayD<T>>,
    relu: bool,
) -> Result<(), KernelError> {
    let (a, b) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
    let (a, b) = matrix_operands(a, b, ta, tb)?;
    let (m, n) = (a.nrows(), b.ncols());
    let bias = super::fused::bias_row(bias, n, || format!("a product of shape [{m}, {n}]"))?;
    let threads = k.threads();
    let out = k.stale_output::<T>(0, &[m, n]);
    let out = out
        .view_mut()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    gemm_into(a, b, out, threads, bias, relu);
    Ok(())
}

/// The product of stacks of matrices (at least one input of rank > 2;
/// `MatMul::compute` gives two matrices to [`matmul2`]).
fn matmul_kernel<T: Element + LinalgScalar + PartialOrd>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    ta: bool,
    tb: bool,
) -> Result<ArrayD<T>, String> {
    let (ra, rb) = (a.ndim(), b.ndim());
    if ra < 2 || rb < 2 {
        return Err(format!(
            "matmul needs inputs of rank >= 2, got shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        ));
    }
    // Broadcast the batch axes, flatten them to one and multiply per batch.
    let batch = broadcast_shapes(&a.shape()[..ra - 2], &b.shape()[..rb - 2])?;
    let n: usize = batch.iter().product();
    let (a3, b3) = (stack(a, &batch)?, stack(b, &batch)?);
    // (rows, cols) of each matrix after its optional transpose.
    let dims = |x: &Array3<T>, t: bool| {
        if t {
            (x.shape()[2], x.shape()[1])
        } else {
            (x.shape()[1], x.shape()[2])
        }
    };
    let ((m, ka), (kb, k)) = (dims(&a3, ta), dims(&b3, tb));
    if ka != kb {
        return Err(format!(
            "matmul inner dimensions differ: [{m}, {ka}] x [{kb}, {k}] (shapes {:?} and {:?})",
            a.shape(),
            b.shape()
        ));
    }
    let mut out = Array3::<T>::zeros((n, m, k));
    for (i, o) in out.outer_iter_mut().enumerate() {
        let ai = flip(a3.index_axis(Axis(0), i), ta);
        let bi = flip(b3.index_axis(Axis(0), i), tb);
        mat_mul(ai, bi, o, false, None, false);
    }
    let shape: Vec<usize> = batch.iter().copied().chain([m, k]).collect();
    out.into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
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
            if s.shape.rank().is_some_and(|r| r < 2) {
                return Err(format!(
                    "matmul needs inputs of rank >= 2, got shape {}",
                    s.shape
                ));
            }
        }
        // (rows, cols) after the optional transpose.
        let dims = |s: &TensorSpec, t: bool| {
            let (r, c) = (s.shape.dim(-2), s.shape.dim(-1));
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
        let (Some(da), Some(db)) = (a.shape.dims(), b.shape.dims()) else {
            return Ok(vec![TensorSpec::new(a.dtype, Shape::unknown())]);
        };
        let (ba, bb) = (
            Shape::from(&da[..da.len() - 2]),
            Shape::from(&db[..db.len() - 2]),
        );
        let batch = ba.broadcast(&bb).ok_or_else(|| {
            format!(
                "batch dimensions of matmul do not broadcast: {} and {}",
                a.shape, b.shape
            )
        })?;
        let mut out = batch.dims().unwrap_or_default().to_vec();
        out.extend([m, n]);
        Ok(vec![TensorSpec::new(a.dtype, out)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (ta, tb) = (self.transpose_a, self.transpose_b);
        if k.input(0).shape().len() == 2 && k.input(1).shape().len() == 2 {
            return numeric_dispatch!(k.input(0), T => matmul2::<T>(k, ta, tb, None, false));
        }
        numeric_dispatch!(k.input(0), T => {
            let a = T::from_value(k.input(0)).expect("dispatched");
            let b = T::from_value(k.input(1)).ok_or("dtypes differ")?;
            let r = matmul_kernel(a, b, ta, tb)?;
            k.set(0, r);
            Ok(())
        })
    }
    /// C = A B: dA = dC B^T, dB = A^T dC (transposes permute these; batch
    /// axes that were broadcast are summed back).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (a, b, g) = (c.x(0), c.x(1), c.dy(0));
        let (da, db) = match (self.transpose_a, self.transpose_b) {
            (false, false) => (matmul(g, b, false, true), matmul(a, g, true, false)),
            (false, true) => (matmul(g, b, false, false), matmul(g, a, true, false)),
            (true, false) => (matmul(b, g, false, true), matmul(a, g, false, false)),
            (true, true) => (matmul(b, g, true, true), matmul(g, a, true, true)),
        };
        let plain = |t: Tensor| t.shape().rank() == Some(2);
        if plain(a) && plain(b) {
            vec![Some(da), Some(db)]
        } else {
            vec![Some(unbroadcast(da, a)), Some(unbroadcast(db, b))]
        }
    }
    fn attrs(&self) -> String {
        match (self.transpose_a, self.transpose_b) {
            (false, false) => String::new(),
            (ta, tb) => format!("transpose_a={ta}, transpose_b={tb}"),
        }
    }
}

/// `tf.matmul(a, b, transpose_a, transpose_b)`: the product of the last
/// two axes, with optional transposes of those. Inputs of rank > 2 are
/// stacks of matrices whose leading (batch) axes broadcast, as in TF >= 1.14.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::matmul};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
/// let w = g.placeholder(DType::Float32, [784usize, 200], "W");
/// assert_eq!(matmul(x, w, false, false).shape().to_string(), "[?, 200]");
/// let a = g.placeholder(DType::Float32, [8usize, 3, 4], "a");
/// let b = g.placeholder(DType::Float32, [8usize, 2, 4], "b");
/// assert_eq!(matmul(a, b, false, true).shape().to_string(), "[8, 3, 2]");
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

/// `relu(matmul(a, b) + bias)` (or without the relu) in one kernel: the
/// bias and relu are applied to each tile of the product while it is
/// still in registers or cache. Inputs: `[a, b, bias]`.
#[derive(Debug)]
struct FusedMatMul {
    transpose_a: bool,
    transpose_b: bool,
    relu: bool,
    /// The fused add (and relu) nodes' names, for messages.
    fused: String,
}

impl FusedMatMul {
    fn run<T: Float>(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let bias = k.input_as::<T>(2)?;
        matmul2(k, self.transpose_a, self.transpose_b, Some(bias), self.relu)
            .map_err(|e| in_fused(e, &self.fused))
    }
}

impl Op for FusedMatMul {
    fn kind(&self) -> &'static OpKind {
        &FUSED_MATMUL
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => self.run::<T>(k))
    }
    fn attrs(&self) -> String {
        format!(
            "transpose_a={}, transpose_b={}, relu={}, fuses {}",
            self.transpose_a, self.transpose_b, self.relu, self.fused
        )
    }
}

/// The kernel of `[relu](product + bias)` where `product` is a MatMul
/// node's op; `fused` names the add (and relu) nodes it stands for.
pub(crate) fn fused_matmul(product: &dyn Op, relu: bool, fused: String) -> Arc<dyn Op> {
    let (transpose_a, transpose_b) = matmul_transposes(product);
    Arc::new(FusedMatMul {
        transpose_a,
        transpose_b,
        relu,
        fused,
    })
}
