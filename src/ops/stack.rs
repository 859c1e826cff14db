//! Stack and unstack along a new axis: each the inverse of the other, and
//! each other's gradient. Unstack needs the size of its axis statically,
//! since it fixes the number of outputs. Concat and split, the same pair
//! along an existing axis, live in `concat.rs`.

use super::element::any_dispatch;
use super::normalize_axis;
use super::reshape::{into_standard, standard};
use crate::dtype::Shape;
use crate::error::Error;
use crate::graph::{raise, Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::{ArrayViewD, Axis};

op_kinds! {
    STACK = differentiable("Pack", "stack");
    UNSTACK = differentiable("Unpack", "unstack");
}

/// Same-shaped inputs joined along a new axis.
#[derive(Debug)]
struct Stack {
    axis: isize,
}

impl Op for Stack {
    fn kind(&self) -> &'static OpKind {
        &STACK
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let mut merged = Shape::unknown();
        for s in i {
            if s.dtype != i[0].dtype {
                return Err(format!(
                    "stack needs equal dtypes, got {} and {}",
                    i[0].dtype, s.dtype
                ));
            }
            merged = merged
                .merge(&s.shape)
                .ok_or_else(|| format!("stack needs equal shapes, got {merged} and {}", s.shape))?;
        }
        let shape = match merged.dims() {
            None => Shape::unknown(),
            Some(dims) => {
                let mut out = dims.to_vec();
                out.insert(normalize_axis(self.axis, dims.len() + 1)?, Some(i.len()));
                Shape::from(out)
            }
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let first = k.input(0);
        let axis = Axis(normalize_axis(self.axis, first.shape().len() + 1)?);
        any_dispatch!(first, T => {
            let mut views: Vec<ArrayViewD<'_, T>> = Vec::with_capacity(k.inputs().len());
            for v in k.inputs() {
                views.push(T::from_value(v).ok_or("stack inputs have different dtypes")?.view());
            }
            let r = ndarray::stack(axis, &views).map_err(|e| {
                let shapes: Vec<_> = views.iter().map(|v| v.shape().to_vec()).collect();
                format!("cannot stack shapes {shapes:?}: {e}")
            })?;
            k.set(0, into_standard(r));
            Ok(())
        })
    }
    /// dx_i = dy[..., i, ...] along `axis`.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        unstack(c.dy(0), self.axis).into_iter().map(Some).collect()
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `tf.stack(values, axis)`: same-shaped tensors joined along a new axis
/// at `axis` (in `[-rank-1, rank]`).
///
/// # Panics
/// When `values` is empty.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::stack};
/// let g = Graph::new();
/// let a = g.placeholder(DType::Float32, [None, Some(3)], "a");
/// assert_eq!(stack(&[a, a], 1).shape().to_string(), "[?, 2, 3]");
/// ```
#[track_caller]
pub fn stack(values: &[Tensor], axis: isize) -> Tensor {
    let first = *values.first().expect("stack needs at least one tensor");
    first.graph().add_op(Stack { axis }, values)
}

/// One output per index along an axis, which is removed.
#[derive(Debug)]
struct Unstack {
    axis: isize,
    num: usize,
}

impl Op for Unstack {
    fn kind(&self) -> &'static OpKind {
        &UNSTACK
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let shape = match i[0].shape.dims() {
            None => Shape::unknown(),
            Some(dims) => {
                let at = normalize_axis(self.axis, dims.len())?;
                let mut out = dims.to_vec();
                out.remove(at);
                Shape::from(out)
            }
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape); self.num])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let axis = Axis(normalize_axis(self.axis, x.shape().len())?);
        if x.shape()[axis.0] != self.num {
            return Err(format!(
                "cannot unstack {:?} into {} tensors along axis {}",
                x.shape(),
                self.num,
                self.axis
            )
            .into());
        }
        any_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            for (i, part) in a.axis_iter(axis).enumerate() {
                k.set(i, standard(part));
            }
            Ok(())
        })
    }
    /// dx = stack(dy_0, ..., dy_{n-1}) along `axis`.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(stack(&c.dys(), self.axis))]
    }
    fn attrs(&self) -> String {
        format!("axis={}, num={}", self.axis, self.num)
    }
}

/// `tf.unstack(value, axis=axis)`: the slices of `value` along `axis`,
/// whose size must be known statically.
///
/// # Panics
/// When the size of `axis` is not known statically.
#[track_caller]
pub fn unstack(value: Tensor, axis: isize) -> Vec<Tensor> {
    let shape = value.shape();
    let num = shape.dim(axis).unwrap_or_else(|| {
        raise(Error::InvalidArgument(format!(
            "unstack needs the size of axis {axis} of {shape} statically"
        )))
    });
    value
        .graph()
        .add_node(Unstack { axis, num }, &[value], None)
        .outputs()
}
