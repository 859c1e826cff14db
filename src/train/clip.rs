//! Gradient clipping by norm. The norm and the scale factor come from one
//! node; the clipped tensors are `t * scale`, so gradients flow through
//! `t` with the scale held constant (TF also differentiates through the
//! norm; clipping is applied to gradients, which are not differentiated
//! again in practice).

use crate::graph::{Tensor, TensorSpec};
use crate::ops::{cast, Float, Kernel, KernelError, Op, OpKind};

static CLIP_SCALE: OpKind = OpKind::not_differentiable("ClipByNormScale");

pub(super) static KINDS: &[&OpKind] = &[&CLIP_SCALE];

/// Outputs `[norm, scale]`: the global L2 norm of all inputs and
/// `clip_norm / max(norm, clip_norm)` (1 when `norm <= clip_norm`, NaN when the norm is not finite,
/// as TF).
#[derive(Debug)]
struct ClipScale {
    clip_norm: f64,
}

impl ClipScale {
    fn run<T: Float>(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let mut sum = 0.0f64;
        for i in 0..k.inputs().len() {
            sum += k
                .float::<T>(i)?
                .iter()
                .map(|&x| x.to_f64() * x.to_f64())
                .sum::<f64>();
        }
        let norm = sum.sqrt();
        let scale = if !norm.is_finite() {
            f64::NAN
        } else if norm <= self.clip_norm {
            1.0
        } else {
            self.clip_norm / norm
        };
        k.set(
            0,
            T::into_value(ndarray::arr0(<T as Float>::from_f64(norm)).into_dyn()),
        );
        k.set(
            1,
            T::into_value(ndarray::arr0(<T as Float>::from_f64(scale)).into_dyn()),
        );
        Ok(())
    }
}

impl Op for ClipScale {
    fn kind(&self) -> &'static OpKind {
        &CLIP_SCALE
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let dtype = inputs[0].dtype;
        if !dtype.is_float() {
            return Err(format!("can only clip float tensors, got {dtype}"));
        }
        if let Some(s) = inputs.iter().find(|s| s.dtype != dtype) {
            return Err(format!(
                "all tensors must have one dtype: {dtype} vs {}",
                s.dtype
            ));
        }
        let scalar = TensorSpec::new(dtype, [0usize; 0]);
        Ok(vec![scalar.clone(), scalar])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        crate::float_dispatch!(k.input(0), T => self.run::<T>(k))
    }
    fn attrs(&self) -> String {
        format!("clip_norm={}", self.clip_norm)
    }
}

#[track_caller]
fn norm_and_scale(ts: &[Tensor], clip_norm: f64) -> (Tensor, Tensor) {
    let first = *ts.first().expect("clipping needs at least one tensor");
    let dtype = first.dtype();
    let ts: Vec<Tensor> = ts.iter().map(|&t| cast(t, dtype)).collect();
    let node = first.graph().add_node(ClipScale { clip_norm }, &ts, None);
    (node.output(0), node.output(1))
}

/// `tf.clip_by_global_norm(t_list, clip_norm)`: each tensor times
/// `clip_norm / max(global_norm, clip_norm)`, and the global norm
/// `sqrt(sum of all squares)`; typically applied to gradients before
/// `apply_gradients`.
///
/// ```
/// use tensorgraph::{feed, train::clip_by_global_norm, DType, Graph, Session};
/// let g = Graph::new();
/// let a = g.constant(vec![3.0f32, 0.0]);
/// let b = g.constant(vec![4.0f32]);
/// let (clipped, norm) = clip_by_global_norm(&[a, b], 1.0);
/// let mut s = Session::new(&g);
/// assert_eq!(s.run(norm, &feed! {}).unwrap().scalar::<f32>().unwrap(), 5.0);
/// let b1 = s.run(clipped[1], &feed! {}).unwrap().into_array::<f32>().unwrap();
/// assert!((b1[0] - 0.8).abs() < 1e-6);
/// ```
///
/// # Panics
/// When `t_list` is empty, holds non-float tensors, or `clip_norm` is not positive.
#[track_caller]
pub fn clip_by_global_norm(t_list: &[Tensor], clip_norm: f64) -> (Vec<Tensor>, Tensor) {
    assert!(
        clip_norm > 0.0,
        "clip_norm must be positive, got {clip_norm}"
    );
    let (norm, scale) = norm_and_scale(t_list, clip_norm);
    let clipped = t_list.iter().map(|&t| t * cast(scale, t.dtype())).collect();
    (clipped, norm)
}

/// `tf.global_norm(t_list)`: `sqrt(sum of the squares of every element)`.
///
/// # Panics
/// When `t_list` is empty or holds non-float tensors.
#[track_caller]
pub fn global_norm(t_list: &[Tensor]) -> Tensor {
    norm_and_scale(t_list, f64::INFINITY).0
}

/// `tf.clip_by_norm(t, clip_norm)` (over all axes): `t` scaled so that
/// its L2 norm is at most `clip_norm`.
///
/// # Panics
/// When `t` is not a float tensor or `clip_norm` is not positive.
#[track_caller]
pub fn clip_by_norm(t: Tensor, clip_norm: f64) -> Tensor {
    assert!(
        clip_norm > 0.0,
        "clip_norm must be positive, got {clip_norm}"
    );
    let (_, scale) = norm_and_scale(&[t], clip_norm);
    t * scale
}
