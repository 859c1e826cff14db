//! Indexing by an integer tensor (int32 or int64): gather (and
//! embedding_lookup, a gather on axis 0), its adjoint
//! [`scatter_add_like`] (a dense scatter-add: TF's sparse gradient,
//! densified), and one_hot.

use super::element::any_dispatch;
use super::element::numeric_dispatch;
use super::normalize_axis;
use super::reshape::{into_standard, standard};
use crate::dtype::{DType, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::Value;
use ndarray::{ArrayD, Axis, IxDyn};

op_kinds! {
    GATHER = differentiable("GatherV2", "gather");
    SCATTER_ADD_LIKE = differentiable("ScatterAddLike", "scatter_add_like");
    ONE_HOT = not_differentiable("OneHot", "one_hot");
}

fn check_indices(s: &TensorSpec) -> Result<(), String> {
    if s.dtype.is_int() {
        Ok(())
    } else {
        Err(format!("indices must be int32 or int64, got {}", s.dtype))
    }
}

/// The index tensor `v` as positions in `0..dim`, row-major, or an error
/// naming the first index out of range.
fn positions(v: &Value, dim: usize) -> Result<Vec<usize>, KernelError> {
    let check = |i: i64| {
        usize::try_from(i)
            .ok()
            .filter(|&p| p < dim)
            .ok_or_else(|| KernelError::from(format!("index {i} is out of range [0, {dim})")))
    };
    match v {
        Value::I32(a) => a.iter().map(|&i| check(i as i64)).collect(),
        Value::I64(a) => a.iter().map(|&i| check(i)).collect(),
        other => Err(format!("indices must be int32 or int64, got {}", other.dtype()).into()),
    }
}

/// `params` with axis `at` replaced by the dims of `indices`.
fn gathered_dims<D: Clone>(params: &[D], indices: &[D], at: usize) -> Vec<D> {
    let mut out = params[..at].to_vec();
    out.extend_from_slice(indices);
    out.extend_from_slice(&params[at + 1..]);
    out
}

/// Slices of `params` along `axis` picked by `indices`.
#[derive(Debug)]
struct Gather {
    axis: isize,
}

impl Op for Gather {
    fn kind(&self) -> &'static OpKind {
        &GATHER
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        check_indices(&i[1])?;
        let shape = match (i[0].shape.dims(), i[1].shape.dims()) {
            (Some(p), Some(ix)) => {
                Shape::from(gathered_dims(p, ix, normalize_axis(self.axis, p.len())?))
            }
            _ => Shape::unknown(),
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (params, indices) = (k.input(0), k.input(1));
        let at = normalize_axis(self.axis, params.shape().len())?;
        let picks = positions(indices, params.shape()[at])?;
        let out = gathered_dims(params.shape(), indices.shape(), at);
        any_dispatch!(params, T => {
            let a = T::from_value(params).expect("dispatched");
            let r = into_standard(a.select(Axis(at), &picks))
                .into_shape_with_order(IxDyn(&out))
                .map_err(|e| format!("gather result does not fit {out:?}: {e}"))?;
            k.set(0, r);
            Ok(())
        })
    }
    /// d params = dy scatter-added at the gathered positions; indices get none.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![
            Some(scatter_add_like(c.dy(0), c.x(1), c.x(0), self.axis)),
            None,
        ]
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `tf.gather(params, indices, axis=axis)`: the slices of `params` along
/// `axis` at `indices` (int32 or int64), which may have any shape; the
/// result has `params`' axis replaced by `indices`' dims. Out-of-range
/// indices are a run-time error.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::gather};
/// let g = Graph::new();
/// let p = g.placeholder(DType::Float32, [None, Some(4)], "params");
/// let i = g.placeholder(DType::Int32, [2usize, 2], "indices");
/// assert_eq!(gather(p, i, 1).shape().to_string(), "[?, 2, 2]");
/// ```
#[track_caller]
pub fn gather(params: Tensor, indices: Tensor, axis: isize) -> Tensor {
    params.graph().add_op(Gather { axis }, &[params, indices])
}

/// `tf.nn.embedding_lookup(params, ids)`: rows of `params` at `ids`
/// (a gather on axis 0).
///
/// ```
/// use tensorgraph::{Graph, DType, ops::embedding_lookup};
/// let g = Graph::new();
/// let table = g.placeholder(DType::Float32, [1000usize, 64], "table");
/// let ids = g.placeholder(DType::Int64, [None, Some(20)], "ids");
/// assert_eq!(embedding_lookup(table, ids).shape().to_string(), "[?, 20, 64]");
/// ```
#[track_caller]
pub fn embedding_lookup(params: Tensor, ids: Tensor) -> Tensor {
    gather(params, ids, 0)
}

/// Zeros shaped like input 2, plus input 0's slices added at the indices.
#[derive(Debug)]
struct ScatterAddLike {
    axis: isize,
}

impl Op for ScatterAddLike {
    fn kind(&self) -> &'static OpKind {
        &SCATTER_ADD_LIKE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        check_indices(&i[1])?;
        if i[0].dtype == DType::Bool {
            return Err("cannot add bool updates".into());
        }
        if let (Some(like), Some(ix)) = (i[2].shape.dims(), i[1].shape.dims()) {
            let at = normalize_axis(self.axis, like.len())?;
            if Shape::from(gathered_dims(like, ix, at))
                .merge(&i[0].shape)
                .is_none()
            {
                return Err(format!(
                    "updates {} do not match indices {} into {} along axis {}",
                    i[0].shape, i[1].shape, i[2].shape, self.axis
                ));
            }
        }
        Ok(vec![TensorSpec::new(i[0].dtype, i[2].shape.clone())])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (updates, indices, like) = (k.input(0), k.input(1), k.input(2));
        let target = like.shape();
        let at = normalize_axis(self.axis, target.len())?;
        let picks = positions(indices, target[at])?;
        if updates.shape() != gathered_dims(target, indices.shape(), at) {
            return Err(format!(
                "updates {:?} do not match indices {:?} into {:?} along axis {}",
                updates.shape(),
                indices.shape(),
                target,
                self.axis
            )
            .into());
        }
        let mut flat = target.to_vec();
        flat[at] = picks.len();
        numeric_dispatch!(updates, T => {
            let u = T::from_value(updates).expect("dispatched");
            let u = standard(u.view()).into_shape_with_order(IxDyn(&flat)).map_err(|e| e.to_string())?;
            let mut r = ArrayD::<T>::zeros(IxDyn(target));
            for (j, &p) in picks.iter().enumerate() {
                let mut dst = r.index_axis_mut(Axis(at), p);
                dst += &u.index_axis(Axis(at), j);
            }
            k.set(0, r);
            Ok(())
        })
    }
    /// d updates = gather(g, indices, axis); indices and like get none.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(gather(c.dy(0), c.x(1), self.axis)), None, None]
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// Zeros with `like`'s run-time shape, plus each slice of `updates` added
/// at its index along `axis` (repeated indices accumulate): the gradient
/// of [`gather`], densified.
#[track_caller]
pub fn scatter_add_like(updates: Tensor, indices: Tensor, like: Tensor, axis: isize) -> Tensor {
    updates
        .graph()
        .add_op(ScatterAddLike { axis }, &[updates, indices, like])
}

/// `on` at each index along a new last axis of size `depth`, `off` elsewhere.
#[derive(Debug)]
struct OneHot {
    depth: usize,
    on: f64,
    off: f64,
    dtype: DType,
}

impl Op for OneHot {
    fn kind(&self) -> &'static OpKind {
        &ONE_HOT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        check_indices(&i[0])?;
        let shape = match i[0].shape.dims() {
            None => Shape::unknown(),
            Some(d) => {
                let mut out = d.to_vec();
                out.push(Some(self.depth));
                Shape::from(out)
            }
        };
        Ok(vec![TensorSpec::new(self.dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let indices: Vec<i64> = match x {
            Value::I32(a) => a.iter().map(|&i| i as i64).collect(),
            Value::I64(a) => a.iter().copied().collect(),
            other => {
                return Err(format!("indices must be int32 or int64, got {}", other.dtype()).into())
            }
        };
        let mut out = x.shape().to_vec();
        out.push(self.depth);
        let mut r = ArrayD::from_elem(IxDyn(&out), self.off);
        if let Some(data) = r.as_slice_mut() {
            for (row, &i) in data.chunks_mut(self.depth.max(1)).zip(&indices) {
                // Out-of-range indices (e.g. -1) leave the row all `off`.
                if let Some(cell) = usize::try_from(i).ok().and_then(|i| row.get_mut(i)) {
                    *cell = self.on;
                }
            }
        }
        k.set(0, Value::F64(r).cast(self.dtype));
        Ok(())
    }
    fn attrs(&self) -> String {
        format!(
            "depth={}, on_value={}, off_value={}, dtype={}",
            self.depth, self.on, self.off, self.dtype
        )
    }
}

/// `tf.one_hot(indices, depth)`: float32 ones at each index along a new
/// last axis of size `depth`, zeros elsewhere; indices outside
/// `[0, depth)` give an all-zero row. Not differentiable.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::one_hot};
/// let g = Graph::new();
/// let labels = g.placeholder(DType::Int64, [None], "labels");
/// assert_eq!(one_hot(labels, 10).shape().to_string(), "[?, 10]");
/// ```
#[track_caller]
pub fn one_hot(indices: Tensor, depth: usize) -> Tensor {
    one_hot_with(indices, depth, 1.0, 0.0, DType::Float32)
}

/// `tf.one_hot(indices, depth, on_value, off_value, dtype=dtype)`.
#[track_caller]
pub fn one_hot_with(
    indices: Tensor,
    depth: usize,
    on_value: f64,
    off_value: f64,
    dtype: DType,
) -> Tensor {
    let op = OneHot {
        depth,
        on: on_value,
        off: off_value,
        dtype,
    };
    indices.graph().add_op(op, &[indices])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{feed, Graph, Session};

    #[test]
    fn gathers_any_dtype_and_rejects_out_of_range_indices() {
        let g = Graph::new();
        let b = g.constant(ndarray::array![[true, false], [false, true]].into_dyn());
        let ids = g.placeholder(DType::Int64, [None], "ids");
        let picked = gather(b, ids, 0);
        let hot = one_hot_with(ids, 2, 5.0, -1.0, DType::Int32);
        let mut s = Session::new(&g);
        let v = s.run(picked, &feed! { ids => vec![1i64, 1, 0] }).unwrap();
        let got = v.into_array::<bool>().unwrap();
        assert_eq!(
            got.as_slice().unwrap(),
            &[false, true, false, true, true, false]
        );
        let h = s.run(hot, &feed! { ids => vec![1i64, -1, 2] }).unwrap();
        assert_eq!(
            h.into_array::<i32>().unwrap().as_slice().unwrap(),
            &[-1, 5, -1, -1, -1, -1]
        );
        let err = s
            .run(picked, &feed! { ids => vec![2i64] })
            .unwrap_err()
            .to_string();
        assert!(err.contains("index 2 is out of range [0, 2)"), "{err}");
    }
}
