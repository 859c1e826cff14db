//! Reshapes: the same elements, in the same row-major order, under a new
//! shape (reshape, reshape_like, expand_dims, squeeze). Kernels serve
//! every dtype (bool included) and copy into the reused output buffer;
//! every gradient is [`reshape_like`] to the input's run-time shape,
//! because batch dimensions are usually unknown statically.

use super::element::any_dispatch;
use super::normalize_axis;
use crate::dtype::Dims;
use crate::dtype::{Dim, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::array_mut;
use ndarray::{ArrayD, Axis, IxDyn};

op_kinds! {
    RESHAPE = differentiable("Reshape", "reshape");
    RESHAPE_LIKE = differentiable("ReshapeLike", "reshape_like");
    EXPAND_DIMS = differentiable("ExpandDims", "expand_dims");
    SQUEEZE = differentiable("Squeeze", "squeeze");
}

/// A copy of `a` in row-major order (views may come permuted).
pub(super) fn standard<T: Clone>(a: ndarray::ArrayViewD<'_, T>) -> ArrayD<T> {
    a.as_standard_layout().into_owned()
}

/// `a` itself when row-major already, else a row-major copy.
pub(super) fn into_standard<T: Clone>(a: ArrayD<T>) -> ArrayD<T> {
    if a.is_standard_layout() {
        a
    } else {
        standard(a.view())
    }
}

/// Static rule of a reshape: at most one `-1`, inferred when the input's
/// element count is known.
fn reshape_shape(x: &Shape, shape: &[isize]) -> Result<Shape, String> {
    if shape.iter().any(|&d| d < -1) || shape.iter().filter(|&&d| d == -1).count() > 1 {
        return Err(format!(
            "invalid target shape {shape:?}: dims must be >= 0, with at most one -1"
        ));
    }
    let known: usize = shape
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let mut out: Vec<Dim> = shape.iter().map(|&d| usize::try_from(d).ok()).collect();
    let inferred = shape.iter().position(|&d| d == -1);
    if let Some(n) = x.num_elements() {
        match inferred {
            None if n != known => {
                return Err(format!(
                    "cannot reshape {x} ({n} elements) to {shape:?} ({known} elements)"
                ));
            }
            Some(i) if known > 0 => {
                if n % known != 0 {
                    return Err(format!("cannot reshape {x} ({n} elements) to {shape:?}: {n} is not a multiple of {known}"));
                }
                out[i] = Some(n / known);
            }
            _ => {}
        }
    }
    Ok(Shape::from(out))
}

/// `x` with its elements (row-major) in a new shape.
#[derive(Debug)]
struct Reshape {
    shape: Vec<isize>,
}

fn reshape_kernel(k: &mut ComputeCtx<'_>, dims: &[usize]) -> Result<(), KernelError> {
    let x = k.input(0);
    if dims.iter().product::<usize>() != x.len() {
        return Err(format!("cannot reshape {:?} to {dims:?}", x.shape()).into());
    }
    any_dispatch!(x, T => {
        let a = T::from_value(x).expect("dispatched");
        // The elements in row-major order into the reused buffer.
        match array_mut::<T>(k.output_mut(0)) {
            Some(out) if out.shape() == dims && out.is_standard_layout() => {
                match (a.as_slice(), out.as_slice_mut()) {
                    (Some(src), Some(dst)) => dst.copy_from_slice(src),
                    (_, Some(dst)) => dst.iter_mut().zip(a.iter()).for_each(|(d, s)| *d = *s),
                    _ => unreachable!("standard layout checked"),
                }
            }
            _ => {
                let r = standard(a.view())
                    .into_shape_with_order(IxDyn(dims))
                    .map_err(|e| format!("cannot reshape {:?} to {dims:?}: {e}", a.shape()))?;
                k.set(0, r);
            }
        }
        Ok(())
    })
}

/// The concrete shape `shape` (with at most one `-1`, checked when the
/// node was built) takes for an input of `n` elements.
fn reshape_dims(shape: &[isize], n: usize) -> Result<Dims, String> {
    let mut dims: Dims = shape.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = shape.iter().position(|&d| d == -1) {
        let known: usize = dims
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &d)| d)
            .product();
        if known == 0 || !n.is_multiple_of(known) {
            return Err(format!(
                "cannot infer the -1 of {shape:?} for an input of {n} elements"
            ));
        }
        dims[i] = n / known;
    }
    Ok(dims)
}

impl Op for Reshape {
    fn kind(&self) -> &'static OpKind {
        &RESHAPE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            reshape_shape(&i[0].shape, &self.shape)?,
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let dims = reshape_dims(&self.shape, k.input(0).len())?;
        reshape_kernel(k, &dims)
    }
    /// dx = reshape(dy, shape(x)).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(reshape_like(c.dy(0), c.x(0)))]
    }
    fn attrs(&self) -> String {
        format!("shape={:?}", self.shape)
    }
}

/// `tf.reshape(x, shape)`: one entry of `shape` may be `-1`, inferred from
/// the element count (statically when the input's shape is known).
///
/// ```
/// use tensorgraph::{Graph, DType, ops::reshape};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(784)], "x");
/// assert_eq!(reshape(x, [-1, 28, 28, 1]).shape().to_string(), "[?, 28, 28, 1]");
/// let y = g.placeholder(DType::Float32, [2usize, 3, 4], "y");
/// assert_eq!(reshape(y, [-1, 4]).shape().to_string(), "[6, 4]");
/// ```
#[track_caller]
pub fn reshape(x: Tensor, shape: impl AsRef<[isize]>) -> Tensor {
    let shape = shape.as_ref().to_vec();
    x.graph().add_op(Reshape { shape }, &[x])
}

/// `x` reshaped to the run-time shape of `like`.
#[derive(Debug)]
struct ReshapeLike;

impl Op for ReshapeLike {
    fn kind(&self) -> &'static OpKind {
        &RESHAPE_LIKE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if let (Some(a), Some(b)) = (i[0].shape.num_elements(), i[1].shape.num_elements()) {
            if a != b {
                return Err(format!(
                    "cannot reshape {} ({a} elements) like {} ({b} elements)",
                    i[0].shape, i[1].shape
                ));
            }
        }
        Ok(vec![TensorSpec::new(i[0].dtype, i[1].shape.clone())])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let dims: Dims = k.input(1).shape().into();
        reshape_kernel(k, &dims)
    }
    /// dx = reshape(dy, shape(x)); `like` gets none.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(reshape_like(c.dy(0), c.x(0))), None]
    }
}

/// `x` reshaped to the run-time shape of `like` (same element count): the
/// gradient of every op that only rearranges elements. Returns `x` itself
/// when both static shapes are known and equal.
#[track_caller]
pub fn reshape_like(x: Tensor, like: Tensor) -> Tensor {
    let (xs, ls) = (x.shape(), like.shape());
    if xs.is_fully_defined() && xs == ls {
        return x;
    }
    x.graph().add_op(ReshapeLike, &[x, like])
}

/// A size-1 axis inserted at `axis`.
#[derive(Debug)]
struct ExpandDims {
    axis: isize,
}

impl Op for ExpandDims {
    fn kind(&self) -> &'static OpKind {
        &EXPAND_DIMS
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let shape = match i[0].shape.dims() {
            None => Shape::unknown(),
            Some(dims) => {
                let at = normalize_axis(self.axis, dims.len() + 1)?;
                let mut out = dims.to_vec();
                out.insert(at, Some(1));
                Shape::from(out)
            }
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let at = normalize_axis(self.axis, x.shape().len() + 1)?;
        any_dispatch!(x, T => {
            let r = T::from_value(x).expect("dispatched").clone().insert_axis(Axis(at));
            k.set(0, r);
            Ok(())
        })
    }
    /// dx = reshape(dy, shape(x)).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(reshape_like(c.dy(0), c.x(0)))]
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `tf.expand_dims(x, axis)`: a size-1 axis inserted at `axis` (in
/// `[-rank-1, rank]`; negative counts from the end).
///
/// ```
/// use tensorgraph::{Graph, DType, ops::expand_dims};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
/// assert_eq!(expand_dims(x, -1).shape().to_string(), "[?, 3, 1]");
/// ```
#[track_caller]
pub fn expand_dims(x: Tensor, axis: isize) -> Tensor {
    x.graph().add_op(ExpandDims { axis }, &[x])
}

/// Size-1 axes removed: the listed ones, or all.
#[derive(Debug)]
struct Squeeze {
    axes: Option<Vec<isize>>,
}

impl Squeeze {
    /// The axes to drop given a concrete shape.
    fn resolve(&self, dims: &[usize]) -> Result<Vec<usize>, String> {
        let Some(axes) = &self.axes else {
            return Ok((0..dims.len()).filter(|&i| dims[i] == 1).collect());
        };
        let mut out = Vec::with_capacity(axes.len());
        for &a in axes {
            let i = normalize_axis(a, dims.len())?;
            if dims[i] != 1 {
                return Err(format!(
                    "cannot squeeze axis {a} of shape {}: its size is {}",
                    Shape::known(dims),
                    dims[i]
                ));
            }
            out.push(i);
        }
        Ok(out)
    }
}

impl Op for Squeeze {
    fn kind(&self) -> &'static OpKind {
        &SQUEEZE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let x = &i[0].shape;
        let shape = match (x.dims(), &self.axes) {
            (None, _) => Shape::unknown(),
            // Which unknown dims are 1 is only known at run time.
            (Some(dims), None) if dims.contains(&None) => Shape::unknown(),
            (Some(dims), None) => Shape::from(
                dims.iter()
                    .copied()
                    .filter(|&d| d != Some(1))
                    .collect::<Vec<_>>(),
            ),
            (Some(dims), Some(axes)) => {
                let mut drop = vec![false; dims.len()];
                for &a in axes {
                    let at = normalize_axis(a, dims.len())?;
                    if dims[at].is_some_and(|d| d != 1) {
                        return Err(format!(
                            "cannot squeeze axis {a} of shape {x}: its size is not 1"
                        ));
                    }
                    drop[at] = true;
                }
                Shape::from(
                    dims.iter()
                        .zip(&drop)
                        .filter(|(_, &d)| !d)
                        .map(|(&s, _)| s)
                        .collect::<Vec<_>>(),
                )
            }
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let drop = self.resolve(x.shape())?;
        let dims: Vec<usize> = x
            .shape()
            .iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, &d)| d)
            .collect();
        reshape_kernel(k, &dims)
    }
    /// dx = reshape(dy, shape(x)).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(reshape_like(c.dy(0), c.x(0)))]
    }
    fn attrs(&self) -> String {
        format!("axis={:?}", self.axes)
    }
}

/// `tf.squeeze(x, axis)`: removes the listed size-1 axes, or every size-1
/// axis when `axis` is `None` (then the static shape is unknown if some
/// dimension is).
///
/// ```
/// use tensorgraph::{Graph, DType, ops::squeeze};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(1), Some(3)], "x");
/// assert_eq!(squeeze(x, Some(&[1])).shape().to_string(), "[?, 3]");
/// ```
#[track_caller]
pub fn squeeze(x: Tensor, axis: Option<&[isize]>) -> Tensor {
    let axes = axis.map(<[isize]>::to_vec);
    x.graph().add_op(Squeeze { axes }, &[x])
}
