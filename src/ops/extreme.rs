//! Extremes: reduce_max / reduce_min over axes and argmax / argmin along
//! one, with one rule for what beats the best so far (strictly beyond it,
//! or the first NaN, so NaN propagates and the first of tied entries
//! wins). The gradient of a max or min is split equally among tied
//! extremes (`ExtremeMask`), as in TF; arg-extremes have none.

use super::element::zip_broadcast;
use super::element::{float_dispatch, numeric_dispatch};
use super::reduce::{infer_reduction, reduce_axes};
use super::{broadcast_reduced, normalize_axis, Axes, Float};
use crate::dtype::{DType, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::Element;

use ndarray::{ArrayD, Axis};

op_kinds! {
    MAX = differentiable("Max", "reduce_max");
    MIN = differentiable("Min", "reduce_min");
    EXTREME_MASK = not_differentiable("ExtremeMask", "extreme_mask");
    ARG_MAX = not_differentiable("ArgMax", "argmax");
    ARG_MIN = not_differentiable("ArgMin", "argmin");
}

/// Whether `new` replaces `best` as the maximum (`max`) or minimum so
/// far: when strictly beyond it, or when `new` is the first NaN (NaN
/// propagates).
fn beats<T: PartialOrd>(max: bool, new: T, best: T) -> bool {
    let is_nan = |v: &T| v.partial_cmp(v).is_none();
    if is_nan(&best) {
        return false;
    }
    is_nan(&new) || (max && new > best) || (!max && new < best)
}

/// Maximum or minimum along the axes.
fn extreme_axes<T: Element + PartialOrd>(
    x: &ArrayD<T>,
    axes: &[usize],
    keepdims: bool,
    max: bool,
) -> Result<ArrayD<T>, String> {
    for &a in axes {
        if x.shape()[a] == 0 {
            return Err(format!(
                "cannot take the {} over empty axis {a} of shape {:?}",
                if max { "max" } else { "min" },
                x.shape()
            ));
        }
    }
    Ok(reduce_axes(x, axes, keepdims, |v, ax| {
        v.map_axis(ax, |lane| {
            let first = *lane.first().expect("non-empty lane");
            lane.iter()
                .fold(first, |m, &e| if beats(max, e, m) { e } else { m })
        })
    }))
}

/// Maximum or minimum over axes.
#[derive(Debug)]
struct ReduceExtreme {
    axes: Axes,
    keepdims: bool,
    max: bool,
}

impl Op for ReduceExtreme {
    fn kind(&self) -> &'static OpKind {
        if self.max {
            &MAX
        } else {
            &MIN
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_reduction(
            i,
            &self.axes,
            self.keepdims,
            if self.max { "max" } else { "min" },
        )
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let axes = self.axes.resolve(x.shape().len())?;
        numeric_dispatch!(x, T => {
            let r = extreme_axes(T::from_value(x).expect("dispatched"), &axes, self.keepdims, self.max)?;
            k.set(0, r);
            Ok(())
        })
    }
    /// dx = broadcast(dy) at the extremes, split equally among ties.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let x = c.x(0);
        let mask = x.graph().add_op(
            ExtremeMask {
                axes: self.axes.clone(),
                max: self.max,
            },
            &[x],
        );
        vec![Some(
            mask * broadcast_reduced(c.dy(0), x, self.axes.clone(), false),
        )]
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keepdims={}", self.axes.0, self.keepdims)
    }
}

/// `tf.reduce_max(x, axis, keepdims)`; the gradient is split equally among
/// tied maxima.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, gradients, ops::reduce_max};
/// let g = Graph::new();
/// let x = g.constant(vec![1.0f32, 3.0, 3.0]);
/// let y = reduce_max(x, None, false);
/// let dx = gradients(&[y], &[x])[0].unwrap();
/// let mut s = Session::new(&g);
/// let (y, dx) = s.run((y, dx), &feed! {}).unwrap();
/// assert_eq!(y.scalar::<f32>().unwrap(), 3.0);
/// assert_eq!(dx.into_array::<f32>().unwrap().as_slice().unwrap(), &[0.0, 0.5, 0.5]);
/// ```
#[track_caller]
pub fn reduce_max(x: Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
    let op = ReduceExtreme {
        axes: axis.into(),
        keepdims,
        max: true,
    };
    x.graph().add_op(op, &[x])
}

/// `tf.reduce_min(x, axis, keepdims)`; the gradient is split equally among
/// tied minima.
#[track_caller]
pub fn reduce_min(x: Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
    let op = ReduceExtreme {
        axes: axis.into(),
        keepdims,
        max: false,
    };
    x.graph().add_op(op, &[x])
}

/// `[x == extreme] / (number of ties)`, per group of reduced entries: the
/// share of the max/min gradient each entry takes.
#[derive(Debug)]
struct ExtremeMask {
    axes: Axes,
    max: bool,
}

fn extreme_mask<T: Float>(x: &ArrayD<T>, axes: &[usize], max: bool) -> Result<ArrayD<T>, String> {
    let ext = extreme_axes(x, axes, true, max)?;
    let hits = zip_broadcast(x, &ext, |v, e| if v == e { T::one() } else { T::zero() })?;
    let counts = reduce_axes(&hits, axes, true, |v, ax| v.sum_axis(ax));
    zip_broadcast(&hits, &counts, |h, n| h / n)
}

impl Op for ExtremeMask {
    fn kind(&self) -> &'static OpKind {
        &EXTREME_MASK
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let axes = self.axes.resolve(k.input(0).shape().len())?;
        float_dispatch!(k.input(0), T => {
            let r = extreme_mask(k.input_as::<T>(0)?, &axes, self.max)?;
            k.set(0, r);
            Ok(())
        })
    }
    fn attrs(&self) -> String {
        format!("axes={:?}, max={}", self.axes.0, self.max)
    }
}

/// Index of the maximum or minimum along one axis.
#[derive(Debug)]
struct ArgExtreme {
    axis: isize,
    output_type: DType,
    max: bool,
}

fn arg_extreme<T: Element + PartialOrd>(
    x: &ArrayD<T>,
    axis: usize,
    max: bool,
) -> Result<ArrayD<i64>, String> {
    if x.shape()[axis] == 0 {
        return Err(format!(
            "cannot take the arg{} over empty axis {axis} of shape {:?}",
            if max { "max" } else { "min" },
            x.shape()
        ));
    }
    Ok(x.map_axis(Axis(axis), |lane| {
        let mut best = 0;
        for (i, &v) in lane.iter().enumerate() {
            if beats(max, v, lane[best]) {
                best = i;
            }
        }
        best as i64
    }))
}

impl Op for ArgExtreme {
    fn kind(&self) -> &'static OpKind {
        if self.max {
            &ARG_MAX
        } else {
            &ARG_MIN
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if !matches!(self.output_type, DType::Int32 | DType::Int64) {
            return Err(format!(
                "output_type must be int32 or int64, got {}",
                self.output_type
            ));
        }
        if i[0].dtype == DType::Bool {
            return Err("cannot take the argmax/argmin of a bool tensor".into());
        }
        let shape = match i[0].shape.dims() {
            None => Shape::unknown(),
            Some(dims) => {
                let axis = normalize_axis(self.axis, dims.len())?;
                Shape::from(
                    dims.iter()
                        .enumerate()
                        .filter(|&(j, _)| j != axis)
                        .map(|(_, d)| *d)
                        .collect::<Vec<_>>(),
                )
            }
        };
        Ok(vec![TensorSpec::new(self.output_type, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let axis = normalize_axis(self.axis, x.shape().len())?;
        let idx = numeric_dispatch!(x, T => arg_extreme(T::from_value(x).expect("dispatched"), axis, self.max).map_err(KernelError::from))?;
        k.set(0, crate::Value::I64(idx).cast(self.output_type));
        Ok(())
    }
    fn attrs(&self) -> String {
        format!("axis={}, output_type={}", self.axis, self.output_type)
    }
}

/// `tf.argmax(input, axis, output_type)`: the index of the first maximum
/// along `axis`; `output_type` is `Int64` (TF's default) or `Int32`. Not
/// differentiable.
#[track_caller]
pub fn argmax(input: Tensor, axis: isize, output_type: DType) -> Tensor {
    let op = ArgExtreme {
        axis,
        output_type,
        max: true,
    };
    input.graph().add_op(op, &[input])
}

/// `tf.argmin(input, axis, output_type)`: the index of the first minimum
/// along `axis`; see [`argmax`].
#[track_caller]
pub fn argmin(input: Tensor, axis: isize, output_type: DType) -> Tensor {
    let op = ArgExtreme {
        axis,
        output_type,
        max: false,
    };
    input.graph().add_op(op, &[input])
}
