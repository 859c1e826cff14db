//! Reductions over axes (None = all, negative axes, keepdims): sum, mean
//! and product, and moments built from them, with the shape rule and the
//! axis fold that `extreme.rs` (max, min, argmax, argmin) shares. The
//! product's gradient is the product of the other entries (no division,
//! so zeros are fine), as in TF.

use super::element::zip_broadcast;
use super::element::{float_dispatch, numeric_dispatch};
use super::{broadcast_reduced, Axes, Float};
use crate::dtype::{DType, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};

use ndarray::{ArrayD, Axis};

op_kinds! {
    SUM = differentiable("Sum", "reduce_sum");
    MEAN = differentiable("Mean", "reduce_mean");
    PROD = differentiable("Prod", "reduce_prod");
    PROD_EXCEPT = differentiable("ProdExcept", "prod_except");
}

/// Static shape of a reduction.
pub(super) fn reduced_shape(x: &Shape, axes: &Axes, keepdims: bool) -> Result<Shape, String> {
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
pub(super) fn reduce_axes<T: Clone>(
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
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let mean = self.mean;
        let whole_vector = x.shape().len() == 1
            && match &self.axes.0 {
                None => true,
                Some(list) => list.iter().all(|&a| a == 0 || a == -1),
            };
        if whole_vector {
            // A vector reduced to a scalar (a mean loss), into the reused
            // buffer; `sum` is what `sum_axis` / `mean_axis` compute here.
            let keep = self.keepdims;
            return numeric_dispatch!(x, T => {
                let a = T::from_value(x).expect("dispatched");
                let mut r = a.sum();
                if mean && !a.is_empty() {
                    r /= <T as num_traits::NumCast>::from(a.len()).ok_or("count")?;
                }
                let shape: &[usize] = if keep { &[1] } else { &[] };
                k.stale_output::<T>(0, shape).fill(r);
                Ok(())
            });
        }
        let axes = self.axes.resolve(x.shape().len())?;
        numeric_dispatch!(x, T => {
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

/// Static rule of a numeric reduction: same dtype, reduced shape.
pub(super) fn infer_reduction(
    i: &[TensorSpec],
    axes: &Axes,
    keepdims: bool,
    what: &str,
) -> Result<Vec<TensorSpec>, String> {
    if i[0].dtype == DType::Bool {
        return Err(format!(
            "cannot take the {what} of a bool tensor; cast it first"
        ));
    }
    Ok(vec![TensorSpec::new(
        i[0].dtype,
        reduced_shape(&i[0].shape, axes, keepdims)?,
    )])
}

/// Product over axes.
#[derive(Debug)]
struct Prod {
    axes: Axes,
    keepdims: bool,
}

impl Op for Prod {
    fn kind(&self) -> &'static OpKind {
        &PROD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        infer_reduction(i, &self.axes, self.keepdims, "product")
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let axes = self.axes.resolve(x.shape().len())?;
        numeric_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            let r = reduce_axes(a, &axes, self.keepdims, |v, ax| v.map_axis(ax, |l| l.product()));
            k.set(0, r);
            Ok(())
        })
    }
    /// dx_i = broadcast(dy) * prod_{j != i} x_j.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let x = c.x(0);
        let others = x.graph().add_op(
            ProdExcept {
                axes: self.axes.clone(),
            },
            &[x],
        );
        vec![Some(
            broadcast_reduced(c.dy(0), x, self.axes.clone(), false) * others,
        )]
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keepdims={}", self.axes.0, self.keepdims)
    }
}

/// `tf.reduce_prod(x, axis, keepdims)`. The gradient multiplies the other
/// entries of each group instead of dividing, so it is exact with zeros
/// (second derivatives divide, and need non-zero entries).
#[track_caller]
pub fn reduce_prod(x: Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
    let op = Prod {
        axes: axis.into(),
        keepdims,
    };
    x.graph().add_op(op, &[x])
}

/// For each entry, the product of the other entries of its group (the
/// entries that one reduction over `axes` combines).
#[derive(Debug)]
struct ProdExcept {
    axes: Axes,
}

/// From the group's count of zeros and product of its non-zero entries:
/// with no zero, `p / x`; with one, `p` at the zero and 0 elsewhere; with
/// more, 0.
fn prod_except<T: Float>(x: &ArrayD<T>, axes: &[usize]) -> Result<ArrayD<T>, String> {
    let nonzero = x.mapv(|v| if v == T::zero() { T::one() } else { v });
    let p = reduce_axes(&nonzero, axes, true, |v, ax| {
        v.map_axis(ax, |l| l.product())
    });
    let zeros = reduce_axes(
        &x.mapv(|v| if v == T::zero() { T::one() } else { T::zero() }),
        axes,
        true,
        |v, ax| v.sum_axis(ax),
    );
    let pz = zip_broadcast(&p, &zeros, |p, z| (p, z))?;
    zip_broadcast(x, &pz, |v, (p, z)| {
        if z == T::zero() {
            p / v
        } else if z == T::one() && v == T::zero() {
            p
        } else {
            T::zero()
        }
    })
}

impl Op for ProdExcept {
    fn kind(&self) -> &'static OpKind {
        &PROD_EXCEPT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let axes = self.axes.resolve(k.input(0).shape().len())?;
        float_dispatch!(k.input(0), T => {
            let r = prod_except(k.input_as::<T>(0)?, &axes)?;
            k.set(0, r);
            Ok(())
        })
    }
    /// dx_j = sum_{i != j} dy_i y_i / x_j (for non-zero x_j).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, gy) = (c.x(0), c.dy(0) * c.y(0));
        let total = broadcast_reduced(
            reduce_sum(gy, self.axes.clone(), false),
            x,
            self.axes.clone(),
            false,
        );
        vec![Some((total - gy) / x)]
    }
    fn attrs(&self) -> String {
        format!("axes={:?}", self.axes.0)
    }
}

/// `tf.nn.moments(x, axes, keepdims)`: `(mean, variance)` over `axes`,
/// with the biased variance `mean((x - mean)^2)`. Built from reductions,
/// so both outputs are differentiable to any order.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::moments};
/// let g = Graph::new();
/// let x = g.constant(ndarray::arr2(&[[1.0f64, 2.0], [3.0, 6.0]]).into_dyn());
/// let (mean, var) = moments(x, [0isize], false);
/// let mut s = Session::new(&g);
/// let (m, v) = s.run((mean, var), &feed! {}).unwrap();
/// assert_eq!(m.into_array::<f64>().unwrap().as_slice().unwrap(), &[2.0, 4.0]);
/// assert_eq!(v.into_array::<f64>().unwrap().as_slice().unwrap(), &[1.0, 4.0]);
/// ```
#[track_caller]
pub fn moments(x: Tensor, axes: impl Into<Axes>, keepdims: bool) -> (Tensor, Tensor) {
    let axes = axes.into();
    let centered = x - reduce_mean(x, axes.clone(), true);
    let variance = reduce_mean(centered * centered, axes.clone(), keepdims);
    (reduce_mean(x, axes, keepdims), variance)
}
