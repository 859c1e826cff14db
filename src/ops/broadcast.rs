//! The shape plumbing of gradients: summing a broadcast gradient back to an
//! input's shape ([`unbroadcast`], the one helper every broadcasting op's
//! gradient uses), broadcasting a gradient out again, and `zeros_like` /
//! `ones_like`. These use the run-time shape of a reference tensor, so they
//! work with unknown batch dimensions, and each is differentiable in turn
//! (second derivatives go through them).

use super::element::{float_dispatch, numeric_dispatch};
use super::{Axes, Float};
use crate::dtype::DType;
use crate::dtype::Dims;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::Value;
use ndarray::{ArrayD, Axis, IxDyn, Zip};

op_kinds! {
    SUM_TO_SHAPE = differentiable("SumToShape", "sum_to_shape");
    BROADCAST_LIKE = differentiable("BroadcastLike", "broadcast_like");
    BROADCAST_REDUCED = differentiable("BroadcastReduced", "broadcast_reduced");
    ZEROS_LIKE = not_differentiable("ZerosLike", "zeros_like");
    ONES_LIKE = not_differentiable("OnesLike", "ones_like");
}

/// Sums `grad` (the gradient of a broadcast result) back to the shape of
/// `like` (the input that was broadcast): over leading axes `like` lacks
/// and over axes where `like` has size 1. When the static shapes show no
/// broadcasting happened, returns `grad` itself.
///
/// ```
/// use tensorgraph::{Graph, DType, Session, feed, ops::unbroadcast};
/// let g = Graph::new();
/// let grad = g.constant(ndarray::Array2::<f32>::ones((4, 3)).into_dyn());
/// let row = g.placeholder(DType::Float32, [3usize], "row");
/// let summed = unbroadcast(grad, row);
/// let mut s = Session::new(&g);
/// let r = s.run(summed, &feed!{row => vec![0f32; 3]}).unwrap();
/// assert_eq!(r.into_array::<f32>().unwrap().as_slice().unwrap(), &[4.0, 4.0, 4.0]);
/// ```
#[track_caller]
pub fn unbroadcast(grad: Tensor, like: Tensor) -> Tensor {
    let (gs, ls) = (grad.shape(), like.shape());
    if gs.is_fully_defined() && gs == ls {
        return grad;
    }
    grad.graph().add_op(SumToShape, &[grad, like])
}

/// [`unbroadcast`] for input `x` of a broadcasting binary op whose other
/// input is `other`: `grad` itself, with no node added, when broadcasting
/// against `other` cannot have enlarged `x` (no higher rank, and each of
/// its dimensions 1 or equal to `x`'s known one, as a bias row against a
/// `[batch, n]` matrix).
#[track_caller]
pub(crate) fn unbroadcast_against(grad: Tensor, x: Tensor, other: Tensor) -> Tensor {
    let (xs, os) = (x.shape(), other.shape());
    let kept = match (xs.dims(), os.dims()) {
        (Some(xd), Some(od)) if od.len() <= xd.len() => xd[xd.len() - od.len()..]
            .iter()
            .zip(od)
            .all(|(&x, &o)| o == Some(1) || (o.is_some() && o == x)),
        _ => false,
    };
    if kept && grad.shape().rank() == xs.rank() {
        grad
    } else {
        unbroadcast(grad, x)
    }
}

/// Broadcasts `x` to the run-time shape of `like` (NumPy rules).
#[track_caller]
pub fn broadcast_like(x: Tensor, like: Tensor) -> Tensor {
    let (xs, ls) = (x.shape(), like.shape());
    if xs.is_fully_defined() && xs == ls {
        return x;
    }
    x.graph().add_op(BroadcastLike, &[x, like])
}

/// The gradient plumbing of reductions: `dy` (the gradient of a reduction
/// of `like` over `axes`) reshaped with the reduced axes restored and
/// broadcast to `like`'s run-time shape; with `mean`, also divided by the
/// number of reduced elements.
#[track_caller]
pub fn broadcast_reduced(dy: Tensor, like: Tensor, axes: Axes, mean: bool) -> Tensor {
    dy.graph()
        .add_op(BroadcastReduced { axes, mean }, &[dy, like])
}

/// `tf.zeros_like(x)`.
#[track_caller]
pub fn zeros_like(x: Tensor) -> Tensor {
    x.graph().add_op(Fill { one: false }, &[x])
}

/// `tf.ones_like(x)`.
#[track_caller]
pub fn ones_like(x: Tensor) -> Tensor {
    x.graph().add_op(Fill { one: true }, &[x])
}

fn same_dtype(inputs: &[TensorSpec]) -> Result<(), String> {
    if inputs[0].dtype != inputs[1].dtype {
        return Err(format!(
            "dtypes differ: {} vs {}",
            inputs[0].dtype, inputs[1].dtype
        ));
    }
    Ok(())
}

/// Sums `a` down to `shape` (the inverse of broadcasting `shape` up to
/// `a`'s shape).
fn sum_to_shape<T: Float>(a: &ArrayD<T>, shape: &[usize]) -> Result<ArrayD<T>, String> {
    if a.shape() == shape {
        return Ok(a.clone());
    }
    let lead = a.ndim().checked_sub(shape.len()).ok_or_else(|| {
        format!(
            "cannot sum shape {:?} down to higher-rank shape {:?}",
            a.shape(),
            shape
        )
    })?;
    let mut out = a.clone();
    for _ in 0..lead {
        out = out.sum_axis(Axis(0));
    }
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && out.shape()[i] != 1 {
            out = out.sum_axis(Axis(i)).insert_axis(Axis(i));
        } else if d != out.shape()[i] {
            return Err(format!(
                "cannot sum shape {:?} down to shape {:?}",
                a.shape(),
                shape
            ));
        }
    }
    Ok(out)
}

/// Rows of this many or fewer are summed in order; longer columns are
/// summed in blocks of this many rows whose sums are then added, which
/// keeps the rounding error of long sums (a conv bias gradient sums 39,200
/// rows) growing with the block count rather than the row count.
const SUM_BLOCK_ROWS: usize = 256;

/// `out[j] = sum_i rows[i * out.len() + j]`: row `i` of `rows` is
/// `out.len()` long. Works on up to 64 columns at a time in registers,
/// so it needs no buffer.
fn sum_rows<T: Float>(rows: &[T], out: &mut [T]) {
    const LANES: usize = 64;
    let width = out.len();
    let n = rows.len() / width;
    for c0 in (0..width).step_by(LANES) {
        let lanes = LANES.min(width - c0);
        let mut total = [T::zero(); LANES];
        for b0 in (0..n).step_by(SUM_BLOCK_ROWS) {
            let mut part = [T::zero(); LANES];
            for r in b0..(b0 + SUM_BLOCK_ROWS).min(n) {
                let row = &rows[r * width + c0..r * width + c0 + lanes];
                for (p, &v) in part.iter_mut().zip(row) {
                    *p += v;
                }
            }
            if b0 == 0 {
                total = part;
            } else {
                for (t, &p) in total.iter_mut().zip(&part) {
                    *t += p;
                }
            }
        }
        out[c0..c0 + lanes].copy_from_slice(&total[..lanes]);
    }
}

/// Unbroadcast: `sum_to_shape(grad, shape(like))`.
#[derive(Debug)]
struct SumToShape;

impl Op for SumToShape {
    fn kind(&self) -> &'static OpKind {
        &SUM_TO_SHAPE
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_dtype(inputs)?;
        Ok(vec![inputs[1].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let shape = k.input(1).shape();
        float_dispatch!(k.input(0), T => {
            let a = k.input_as::<T>(0)?;
            if a.shape() == shape {
                k.stale_output::<T>(0, shape).assign(a);
                return Ok(());
            }
            // The common case, a bias gradient: `shape` is the trailing
            // axes of a standard-layout `a`, whose leading axes are summed
            // into the reused buffer without allocating.
            let inner: usize = shape.iter().product();
            let trailing = a.ndim() > shape.len() && a.shape().ends_with(shape);
            if trailing && inner > 0 && a.is_standard_layout() {
                let out = k.stale_output::<T>(0, shape);
                let o = out.as_slice_mut().expect("standard layout");
                sum_rows(a.as_slice().expect("standard layout"), o);
                return Ok(());
            }
            let r = sum_to_shape(a, shape)?;
            k.set(0, r);
            Ok(())
        })
    }
    /// d grad = broadcast(dy) to grad's shape.
    fn grad(&self, ctx: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(broadcast_like(ctx.dy(0), ctx.x(0))), None]
    }
}

/// `broadcast_to(x, shape(like))`.
#[derive(Debug)]
struct BroadcastLike;

impl Op for BroadcastLike {
    fn kind(&self) -> &'static OpKind {
        &BROADCAST_LIKE
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let shape = inputs[0]
            .shape
            .broadcast(&inputs[1].shape)
            .ok_or("shapes cannot broadcast")?;
        Ok(vec![TensorSpec::new(inputs[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let target = crate::dtype::broadcast_shapes(k.input(0).shape(), k.input(1).shape())?;
        numeric_dispatch!(k.input(0), T => {
            let a = T::from_value(k.input(0)).expect("dispatched");
            let r = a.broadcast(IxDyn(&target)).ok_or("cannot broadcast")?.to_owned();
            k.set(0, r);
            Ok(())
        })
    }
    /// dx = unbroadcast(dy, x).
    fn grad(&self, ctx: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(unbroadcast(ctx.dy(0), ctx.x(0))), None]
    }
}

/// Reduction gradient: restore reduced axes, broadcast, maybe divide.
#[derive(Debug)]
struct BroadcastReduced {
    axes: Axes,
    mean: bool,
}

impl Op for BroadcastReduced {
    fn kind(&self) -> &'static OpKind {
        &BROADCAST_REDUCED
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![TensorSpec::new(
            inputs[0].dtype,
            inputs[1].shape.clone(),
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let target = k.input(1).shape();
        let mut kept: Dims = target.iter().copied().collect();
        let mut count = 1usize;
        let mut mark = |a: usize| {
            if kept[a] != 1 {
                count *= kept[a];
                kept[a] = 1;
            }
        };
        match &self.axes.0 {
            None => (0..target.len()).for_each(&mut mark),
            Some(list) => {
                // Duplicates reduce once: an axis already at 1 is skipped,
                // and one of size 1 does not change the count.
                for &a in list {
                    mark(super::normalize_axis(a, target.len())?);
                }
            }
        }
        let mean = self.mean;
        float_dispatch!(k.input(0), T => {
            let dy = k.input_as::<T>(0)?;
            let dy = dy
                .view()
                .into_shape_with_order(IxDyn(&kept))
                .map_err(|_| format!("gradient of shape {:?} does not fit reduced shape {:?}", dy.shape(), kept))?;
            let dy = dy.broadcast(IxDyn(target)).ok_or("cannot broadcast")?;
            let count = <T as Float>::from_f64(count.max(1) as f64);
            let out = k.stale_output::<T>(0, target);
            if mean {
                Zip::from(out).and(&dy).for_each(|o, &v| *o = v / count);
            } else {
                out.assign(&dy);
            }
            Ok(())
        })
    }
    /// d dy = reduce(g) over the same axes (sum, or mean for `mean`).
    fn grad(&self, ctx: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let keep = ctx.x(0).shape().rank() == ctx.x(1).shape().rank();
        let g = if self.mean {
            super::reduce_mean(ctx.dy(0), self.axes.clone(), keep)
        } else {
            super::reduce_sum(ctx.dy(0), self.axes.clone(), keep)
        };
        vec![Some(g), None]
    }
    fn attrs(&self) -> String {
        format!("axes={:?}, mean={}", self.axes.0, self.mean)
    }
}

/// `zeros_like` / `ones_like`.
#[derive(Debug)]
struct Fill {
    one: bool,
}

impl Op for Fill {
    fn kind(&self) -> &'static OpKind {
        if self.one {
            &ONES_LIKE
        } else {
            &ZEROS_LIKE
        }
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![inputs[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let one = self.one;
        macro_rules! fill {
            ($T:ty, $one:expr, $zero:expr) => {{
                let v: $T = if one { $one } else { $zero };
                k.stale_output::<$T>(0, x.shape()).fill(v);
            }};
        }
        match x.dtype() {
            DType::Float32 => fill!(f32, 1.0, 0.0),
            DType::Float64 => fill!(f64, 1.0, 0.0),
            DType::Int32 => fill!(i32, 1, 0),
            DType::Int64 => fill!(i64, 1, 0),
            DType::Bool => k.set(0, Value::Bool(ArrayD::from_elem(IxDyn(x.shape()), one))),
        }
        Ok(())
    }
}

impl GradCtx<'_> {
    /// The gradient of output `i`, zeros where none reaches it.
    #[track_caller]
    pub fn dy(&self, i: usize) -> Tensor {
        self.grads[i].unwrap_or_else(|| zeros_like(self.outputs[i]))
    }

    /// The gradient of every output, zeros where none reaches one: what
    /// a multi-output op's gradient (split's, unstack's) joins back up.
    pub(crate) fn dys(&self) -> Vec<Tensor> {
        (0..self.outputs.len()).map(|i| self.dy(i)).collect()
    }
}
