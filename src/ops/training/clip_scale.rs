//! `ClipByNormScale`: the global norm of a list of tensors and the factor
//! that clips them to a bound, in one node (what `train::clip_by_norm`
//! and `train::clip_by_global_norm` multiply by).

use super::CLIP_SCALE;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{ComputeCtx, KernelError, Op, OpKind};
use crate::ops::element::float_dispatch;
use crate::ops::{cast, Float};

/// Outputs `[norm, scale]`: the global L2 norm of all inputs and
/// `clip_norm / max(norm, clip_norm)` (1 when `norm <= clip_norm`, NaN when the norm is not finite,
/// as TF).
#[derive(Debug)]
struct ClipScale {
    clip_norm: f64,
}

impl ClipScale {
    fn run<T: Float>(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let mut sum = 0.0f64;
        for i in 0..k.inputs().len() {
            sum += k
                .input_as::<T>(i)?
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
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => self.run::<T>(k))
    }
    fn attrs(&self) -> String {
        format!("clip_norm={}", self.clip_norm)
    }
}

/// The `[norm, scale]` of `ts` (cast to the first one's dtype) for `clip_norm`.
#[track_caller]
pub(crate) fn norm_and_scale(ts: &[Tensor], clip_norm: f64) -> (Tensor, Tensor) {
    let first = *ts.first().expect("clipping needs at least one tensor");
    let dtype = first.dtype();
    let ts: Vec<Tensor> = ts.iter().map(|&t| cast(t, dtype)).collect();
    let node = first.graph().add_node(ClipScale { clip_norm }, &ts, None);
    (node.output(0), node.output(1))
}
