//! Gradient clipping by norm. The norm and the scale factor come from one
//! node; the clipped tensors are `t * scale`, so gradients flow through
//! `t` with the scale held constant (TF also differentiates through the
//! norm; clipping is applied to gradients, which are not differentiated
//! again in practice).

use crate::graph::Tensor;
use crate::ops::cast;
use crate::ops::training::norm_and_scale;

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
