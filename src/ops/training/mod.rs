//! Training ops (TF's `training_ops`): the update rules that optimizers
//! build (`ApplyAdam`, `ApplyMomentum`, ...) and their kernels fused with
//! the product that computes the gradient, the clipping factor of
//! `clip_by_norm`, and the decayed learning rate of schedules. None has a
//! gradient. The user-facing builders are in [`crate::train`].

mod apply;
mod clip_scale;
mod decay;
mod fused_apply;

pub(crate) use apply::{apply, Rule};
pub(crate) use clip_scale::norm_and_scale;
pub(crate) use decay::ExponentialDecay;
pub(crate) use fused_apply::fused_matmul_apply;

use crate::op::{op_kinds, OpKind};

op_kinds! {
    APPLY_GRADIENT_DESCENT = not_differentiable("ApplyGradientDescent", "apply_gradient_descent");
    APPLY_MOMENTUM = not_differentiable("ApplyMomentum", "apply_momentum");
    APPLY_ADAM = not_differentiable("ApplyAdam", "apply_adam");
    APPLY_RMSPROP = not_differentiable("ApplyRMSProp", "apply_rms_prop");
    APPLY_CENTERED_RMSPROP = not_differentiable("ApplyCenteredRMSProp", "apply_centered_rms_prop");
    APPLY_ADAGRAD = not_differentiable("ApplyAdagrad", "apply_adagrad");
    FUSED_APPLY_GRADIENT_DESCENT = not_differentiable("_FusedApplyGradientDescent", "_fused_apply_gradient_descent");
    FUSED_APPLY_MOMENTUM = not_differentiable("_FusedApplyMomentum", "_fused_apply_momentum");
    FUSED_APPLY_ADAM = not_differentiable("_FusedApplyAdam", "_fused_apply_adam");
    FUSED_APPLY_RMSPROP = not_differentiable("_FusedApplyRMSProp", "_fused_apply_rms_prop");
    FUSED_APPLY_CENTERED_RMSPROP = not_differentiable("_FusedApplyCenteredRMSProp", "_fused_apply_centered_rms_prop");
    FUSED_APPLY_ADAGRAD = not_differentiable("_FusedApplyAdagrad", "_fused_apply_adagrad");
    CLIP_SCALE = not_differentiable("ClipByNormScale", "clip_by_norm_scale");
    EXPONENTIAL_DECAY = not_differentiable("ExponentialDecay", "exponential_decay");
}

/// The kinds of the update rules' ops, whose gradient input a product may
/// compute in the same kernel ([`fused_matmul_apply`]).
pub(crate) static UPDATES: [&OpKind; 6] = [
    &APPLY_GRADIENT_DESCENT,
    &APPLY_MOMENTUM,
    &APPLY_ADAM,
    &APPLY_RMSPROP,
    &APPLY_CENTERED_RMSPROP,
    &APPLY_ADAGRAD,
];
