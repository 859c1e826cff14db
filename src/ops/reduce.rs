//! Reductions over axes (None = all, negative axes, keepdims).

use super::{broadcast_reduced, Axes, GradCtx, Kernel, KernelError, Op, OpKind};
use crate::dtype::Shape;
use crate::graph::{Tensor, TensorSpec};

use ndarray::{ArrayD, Axis};

static SUM: OpKind = OpKind::differentiable("Sum");
static MEAN: OpKind = OpKind::differentiable("Mean");

pub(super) static KINDS: &[&OpKind] = &[&SUM, &MEAN];

/// Static shape of a reduction.
pub(crate) fn reduced_shape(x: &Shape, axes: &Axes, keepdims: bool) -> Result<Shape, String> {
    let Some(dims) = x.dims() else {
        return Ok(if keepdims || axes.0.is_some() {
            Shape::unknown()
        } else {
            Shape::scalar()
        });
    };
    let axes = axes.resolve(dims.len())?;
    let mut out = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                out.push(Some(1));
            }
        } else {
            out.push(*d);
        }
    }
    Ok(Shape::from(out))
}

/// Folds `f` over the given axes (descending, so indices stay valid),
/// then restores them as size-1 axes when `keepdims`.
pub(crate) fn reduce_axes<T: Clone>(
    x: &ArrayD<T>,
    axes: &[usize],
    keepdims: bool,
    f: impl Fn(ndarray::ArrayViewD<'_, T>, Axis) -> ArrayD<T>,
) -> ArrayD<T> {
    let mut out = x.clone();
    for &a in axes.iter().rev() {
        out = f(out.view(), Axis(a));
    }
    if keepdims {
        for &a in axes {
            out = out.insert_axis(Axis(a));
        }
    }
    out
}

#[derive(Debug)]
struct Reduce {
    axes: Axes,
    keepdims: bool,
    mean: bool,
}

impl Op for Reduce {
    fn kind(&self) -> &'static OpKind {
        if self.mean {
            &MEAN
        } else {
            &SUM
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if i[0].dtype == crate::DType::Bool {
            return Err("cannot sum bool tensors; cast them first".into());
        }
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            reduced_shape(&i[0].shape, &self.axes, self.keepdims)?,
        )])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let axes = self.axes.resolve(x.shape().len())?;
        let mean = self.mean;
        crate::numeric_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            let r = reduce_axes(a, &axes, self.keepdims, |v, ax| {
                if mean { v.mean_axis(ax).unwrap_or_else(|| v.sum_axis(ax)) } else { v.sum_axis(ax) }
            });
            k.set(0, r);
            Ok(())
        })
    }
    /// Sum: dx = broadcast(dy); mean: dx = broadcast(dy) / count.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(broadcast_reduced(
            c.dy(0),
            c.x(0),
            self.axes.clone(),
            self.mean,
        ))]
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keepdims={}", self.axes.0, self.keepdims)
    }
}

/// `tf.reduce_sum(x, axis, keepdims)`: `axis` is `None` (all axes), an
/// axis or a list of axes; negative axes count from the end.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::reduce_sum};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
/// assert_eq!(reduce_sum(x, -1, false).shape().to_string(), "[?]");
/// assert_eq!(reduce_sum(x, None, false).shape().to_string(), "[]");
/// assert_eq!(reduce_sum(x, 0, true).shape().to_string(), "[1, 3]");
/// ```
#[track_caller]
pub fn reduce_sum(x: Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
    let op = Reduce {
        axes: axis.into(),
        keepdims,
        mean: false,
    };
    x.graph().add_op(op, &[x])
}

/// `tf.reduce_mean(x, axis, keepdims)`; integer means truncate, as TF's.
#[track_caller]
pub fn reduce_mean(x: Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
    let op = Reduce {
        axes: axis.into(),
        keepdims,
        mean: true,
    };
    x.graph().add_op(op, &[x])
}
