//! Concat and split along an existing axis: each the inverse of the
//! other, and each other's gradient. Concat's gradient splits by the
//! run-time sizes of its inputs ([`split_like`]), since those may be
//! unknown statically. Stack and unstack, the same pair along a new axis,
//! live in `stack.rs`.

use super::element::any_dispatch;
use super::normalize_axis;
use super::reshape::{into_standard, standard};
use crate::dtype::{Dim, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::{ArrayViewD, Axis, Slice};

op_kinds! {
    CONCAT = differentiable("ConcatV2", "concat");
    SPLIT = differentiable("Split", "split");
    SPLIT_V = differentiable("SplitV", "split");
    SPLIT_LIKE = differentiable("SplitLike", "split_like");
}

/// Checks equal dtypes; returns the merge of the shapes outside `axis`
/// and each input's dim along it, or an error naming the shapes.
fn merge_except(
    inputs: &[TensorSpec],
    axis: isize,
    what: &str,
) -> Result<(Shape, Vec<Dim>), String> {
    let mut merged = Shape::unknown();
    let mut along = Vec::with_capacity(inputs.len());
    for s in inputs {
        if s.dtype != inputs[0].dtype {
            return Err(format!(
                "{what} needs equal dtypes, got {} and {}",
                inputs[0].dtype, s.dtype
            ));
        }
        let Some(dims) = s.shape.dims() else {
            along.push(None);
            continue;
        };
        let at = normalize_axis(axis, dims.len())?;
        along.push(dims[at]);
        let mut masked = dims.to_vec();
        masked[at] = None;
        merged = merged.merge(&Shape::from(masked)).ok_or_else(|| {
            format!(
                "{what} needs equal shapes except along axis {axis}, got {merged} and {}",
                s.shape
            )
        })?;
    }
    Ok((merged, along))
}

/// Inputs joined along an existing axis.
#[derive(Debug)]
struct Concat {
    axis: isize,
}

impl Op for Concat {
    fn kind(&self) -> &'static OpKind {
        &CONCAT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (merged, along) = merge_except(i, self.axis, "concat")?;
        let shape = match merged.dims() {
            None => Shape::unknown(),
            Some(dims) => {
                let mut out = dims.to_vec();
                out[normalize_axis(self.axis, dims.len())?] = along.iter().copied().sum();
                Shape::from(out)
            }
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let first = k.input(0);
        let axis = Axis(normalize_axis(self.axis, first.shape().len())?);
        any_dispatch!(first, T => {
            let mut views: Vec<ArrayViewD<'_, T>> = Vec::with_capacity(k.inputs().len());
            for v in k.inputs() {
                views.push(T::from_value(v).ok_or("concat inputs have different dtypes")?.view());
            }
            let r = ndarray::concatenate(axis, &views).map_err(|e| {
                let shapes: Vec<_> = views.iter().map(|v| v.shape().to_vec()).collect();
                format!("cannot concat shapes {shapes:?} along axis {}: {e}", self.axis)
            })?;
            k.set(0, into_standard(r));
            Ok(())
        })
    }
    /// dx_i = the slice of dy along `axis` where x_i went.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        split_like(c.dy(0), c.inputs, self.axis)
            .into_iter()
            .map(Some)
            .collect()
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `tf.concat(values, axis)`: same-rank tensors joined along `axis`.
///
/// # Panics
/// When `values` is empty.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::concat};
/// let g = Graph::new();
/// let a = g.placeholder(DType::Float32, [None, Some(3)], "a");
/// let b = g.placeholder(DType::Float32, [None, Some(2)], "b");
/// assert_eq!(concat(&[a, b], 1).shape().to_string(), "[?, 5]");
/// ```
#[track_caller]
pub fn concat(values: &[Tensor], axis: isize) -> Tensor {
    let first = *values.first().expect("concat needs at least one tensor");
    first.graph().add_op(Concat { axis }, values)
}

/// How [`split`] divides the axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumOrSizeSplits {
    /// Into this many equal parts.
    Num(usize),
    /// Into parts of these sizes; one may be `-1` (the rest).
    Sizes(Vec<isize>),
}

impl From<usize> for NumOrSizeSplits {
    fn from(n: usize) -> NumOrSizeSplits {
        NumOrSizeSplits::Num(n)
    }
}
impl From<i32> for NumOrSizeSplits {
    fn from(n: i32) -> NumOrSizeSplits {
        NumOrSizeSplits::Num(usize::try_from(n).unwrap_or(0))
    }
}
impl From<Vec<isize>> for NumOrSizeSplits {
    fn from(s: Vec<isize>) -> NumOrSizeSplits {
        NumOrSizeSplits::Sizes(s)
    }
}
impl From<&[isize]> for NumOrSizeSplits {
    fn from(s: &[isize]) -> NumOrSizeSplits {
        NumOrSizeSplits::Sizes(s.to_vec())
    }
}
impl<const N: usize> From<[isize; N]> for NumOrSizeSplits {
    fn from(s: [isize; N]) -> NumOrSizeSplits {
        NumOrSizeSplits::Sizes(s.to_vec())
    }
}

/// Where split sizes come from.
#[derive(Debug)]
enum SplitBy {
    /// An attribute.
    Attr(NumOrSizeSplits),
    /// The run-time sizes along the axis of inputs 1.. .
    Like,
}

/// Consecutive pieces of input 0 along an axis.
#[derive(Debug)]
struct Split {
    axis: isize,
    by: SplitBy,
}

impl Split {
    /// The part sizes given the axis size (`None` when unknown) and the
    /// inputs' axis sizes for [`SplitBy::Like`].
    fn sizes(&self, total: Dim, likes: &[Dim]) -> Result<Vec<Dim>, String> {
        match &self.by {
            SplitBy::Like => Ok(likes.to_vec()),
            SplitBy::Attr(NumOrSizeSplits::Num(n)) => match total {
                _ if *n == 0 => Err("cannot split into 0 parts".into()),
                Some(t) if t % n != 0 => {
                    Err(format!("axis size {t} is not divisible into {n} parts"))
                }
                t => Ok(vec![t.map(|t| t / n); *n]),
            },
            SplitBy::Attr(NumOrSizeSplits::Sizes(s)) => {
                if s.iter().any(|&d| d < -1) || s.iter().filter(|&&d| d == -1).count() > 1 {
                    return Err(format!(
                        "invalid split sizes {s:?}: sizes must be >= 0, with at most one -1"
                    ));
                }
                let known: usize = s.iter().filter(|&&d| d >= 0).map(|&d| d as usize).sum();
                let rest = match total {
                    Some(t) if known > t || (known != t && !s.contains(&-1)) => {
                        return Err(format!(
                            "split sizes {s:?} do not add up to the axis size {t}"
                        ));
                    }
                    t => t.map(|t| t - known),
                };
                Ok(s.iter()
                    .map(|&d| if d == -1 { rest } else { Some(d as usize) })
                    .collect())
            }
        }
    }

    fn count(&self, inputs: usize) -> usize {
        match &self.by {
            SplitBy::Like => inputs - 1,
            SplitBy::Attr(NumOrSizeSplits::Num(n)) => *n,
            SplitBy::Attr(NumOrSizeSplits::Sizes(s)) => s.len(),
        }
    }
}

impl Op for Split {
    fn kind(&self) -> &'static OpKind {
        match self.by {
            SplitBy::Like => &SPLIT_LIKE,
            SplitBy::Attr(NumOrSizeSplits::Num(_)) => &SPLIT,
            SplitBy::Attr(NumOrSizeSplits::Sizes(_)) => &SPLIT_V,
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let Some(dims) = i[0].shape.dims() else {
            return Ok(vec![
                TensorSpec::new(i[0].dtype, Shape::unknown());
                self.count(i.len())
            ]);
        };
        let at = normalize_axis(self.axis, dims.len())?;
        let likes: Vec<Dim> = i[1..]
            .iter()
            .map(|s| s.shape.dims().and_then(|d| d.get(at).copied().flatten()))
            .collect();
        let sizes = self.sizes(dims[at], &likes)?;
        Ok(sizes
            .into_iter()
            .map(|d| {
                let mut out = dims.to_vec();
                out[at] = d;
                TensorSpec::new(i[0].dtype, out)
            })
            .collect())
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let at = normalize_axis(self.axis, x.shape().len())?;
        let mut likes = Vec::new();
        for v in &k.inputs()[1..] {
            let d = v
                .shape()
                .get(at)
                .copied()
                .ok_or("split_like reference has too few axes")?;
            likes.push(Some(d));
        }
        let sizes: Vec<usize> = self
            .sizes(Some(x.shape()[at]), &likes)?
            .into_iter()
            .flatten()
            .collect();
        if sizes.iter().sum::<usize>() != x.shape()[at] {
            return Err(format!(
                "split sizes {sizes:?} do not add up to the size of axis {} of {:?}",
                self.axis,
                x.shape()
            )
            .into());
        }
        any_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            let mut start = 0;
            for (i, &n) in sizes.iter().enumerate() {
                let part = a.slice_axis(Axis(at), Slice::from(start..start + n));
                k.set(i, standard(part));
                start += n;
            }
            Ok(())
        })
    }
    /// dx = concat(dy_0, ..., dy_{n-1}) along `axis`.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let mut grads = vec![Some(concat(&c.dys(), self.axis))];
        grads.resize(c.inputs.len(), None);
        grads
    }
    fn attrs(&self) -> String {
        match &self.by {
            SplitBy::Like => format!("axis={}", self.axis),
            SplitBy::Attr(s) => format!("num_or_size_splits={s:?}, axis={}", self.axis),
        }
    }
}

/// `tf.split(value, num_or_size_splits, axis)`: `value` cut along `axis`
/// into `n` equal parts (`2`), or into parts of the given sizes
/// (`[1isize, -1]`, where one `-1` takes the rest).
///
/// ```
/// use tensorgraph::{Graph, DType, ops::split};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(6)], "x");
/// let parts = split(x, [1isize, -1], 1);
/// assert_eq!(parts[1].shape().to_string(), "[?, 5]");
/// assert_eq!(split(x, 3, 1).len(), 3);
/// ```
#[track_caller]
pub fn split(
    value: Tensor,
    num_or_size_splits: impl Into<NumOrSizeSplits>,
    axis: isize,
) -> Vec<Tensor> {
    let op = Split {
        axis,
        by: SplitBy::Attr(num_or_size_splits.into()),
    };
    value.graph().add_node(op, &[value], None).outputs()
}

/// `value` cut along `axis` into parts as long as each of `likes` is
/// along that axis at run time: the gradient of [`concat()`].
#[track_caller]
pub fn split_like(value: Tensor, likes: &[Tensor], axis: isize) -> Vec<Tensor> {
    let op = Split {
        axis,
        by: SplitBy::Like,
    };
    let mut inputs = vec![value];
    inputs.extend_from_slice(likes);
    value.graph().add_node(op, &inputs, None).outputs()
}
