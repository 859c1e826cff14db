//! Fused update kernels (TF's `ApplyAdam`, `ApplyMomentum`, ...): one node
//! per variable reads the gradient and the learning rate and updates the
//! variable and its slots in place, with TF1's exact formulas and in the
//! variable's own precision. The variable and slots are not data inputs:
//! they are the op's `updates`, so the session schedules the node after
//! every reader of the old values.

use super::{
    APPLY_ADAGRAD, APPLY_ADAM, APPLY_CENTERED_RMSPROP, APPLY_GRADIENT_DESCENT, APPLY_MOMENTUM,
    APPLY_RMSPROP, FUSED_APPLY_ADAGRAD, FUSED_APPLY_ADAM, FUSED_APPLY_CENTERED_RMSPROP,
    FUSED_APPLY_GRADIENT_DESCENT, FUSED_APPLY_MOMENTUM, FUSED_APPLY_RMSPROP,
};
use crate::graph::{Operation, Tensor, TensorSpec};
use crate::op::{ComputeCtx, KernelError, Op, OpKind};
use crate::ops::element::float_dispatch;
use crate::ops::Float;
use crate::value::array_mut;
use ndarray::{ArrayD, ArrayView, ArrayViewMut, Dimension, Zip};
use smallvec::SmallVec;

/// An update rule with its constant hyper-parameters. The slots the rule
/// updates follow the variable in [`Apply::vars`], in the order listed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rule {
    /// `var -= lr * g`.
    GradientDescent,
    /// Slots: accumulation.
    Momentum { momentum: f64, nesterov: bool },
    /// Slots: m, v. Extra inputs: beta1_power, beta2_power.
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    },
    /// Slots: (mg when centered), rms, momentum.
    RmsProp {
        decay: f64,
        momentum: f64,
        epsilon: f64,
        centered: bool,
    },
    /// Slots: accumulator.
    Adagrad,
}

impl Rule {
    /// The op kinds of the rule's update node and of its kernel fused with
    /// the gradient's product.
    pub(super) fn kinds(self) -> (&'static OpKind, &'static OpKind) {
        match self {
            Rule::GradientDescent => (&APPLY_GRADIENT_DESCENT, &FUSED_APPLY_GRADIENT_DESCENT),
            Rule::Momentum { .. } => (&APPLY_MOMENTUM, &FUSED_APPLY_MOMENTUM),
            Rule::Adam { .. } => (&APPLY_ADAM, &FUSED_APPLY_ADAM),
            Rule::RmsProp {
                centered: false, ..
            } => (&APPLY_RMSPROP, &FUSED_APPLY_RMSPROP),
            Rule::RmsProp { centered: true, .. } => {
                (&APPLY_CENTERED_RMSPROP, &FUSED_APPLY_CENTERED_RMSPROP)
            }
            Rule::Adagrad => (&APPLY_ADAGRAD, &FUSED_APPLY_ADAGRAD),
        }
    }
}

/// Inputs: `[grad, lr]` (`lr` a scalar of the variable's dtype), plus
/// `[beta1_power, beta2_power]` for Adam.
#[derive(Debug)]
pub(super) struct Apply {
    pub(super) rule: Rule,
    /// Variable ids: the variable, then its slots.
    vars: Vec<usize>,
    spec: TensorSpec,
}

/// Adam's constants for one step.
#[derive(Clone, Copy)]
pub(super) struct AdamHyper<T> {
    b1: T,
    b2: T,
    eps: T,
    /// `lr * sqrt(1 - beta2^t) / (1 - beta1^t)`.
    alpha: T,
}

impl<T: Float> AdamHyper<T> {
    /// TF1's ApplyAdam on one element.
    #[inline(always)]
    fn update(&self, w: &mut T, m: &mut T, v: &mut T, g: T) {
        let one = T::one();
        *m += (g - *m) * (one - self.b1);
        *v += (g * g - *v) * (one - self.b2);
        *w -= (*m * self.alpha) / (v.sqrt() + self.eps);
    }
}

/// [`AdamHyper::update`] over contiguous slices, in one pass that
/// vectorizes; with AVX-512 or AVX where the CPU has it (16 or 8 lanes of
/// sqrt and divide instead of 4; the same IEEE operations, so the same
/// results).
fn adam_slices<T: Float>(w: &mut [T], m: &mut [T], v: &mut [T], g: &[T], h: &AdamHyper<T>) {
    // A function, not the closure's body: its `&mut` parameters tell the
    // vectorizer that the slices do not overlap.
    #[inline(always)]
    fn run<T: Float>(w: &mut [T], m: &mut [T], v: &mut [T], g: &[T], h: &AdamHyper<T>) {
        let n = g.len();
        let (w, m, v) = (&mut w[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            h.update(&mut w[i], &mut m[i], &mut v[i], g[i]);
        }
    }
    crate::cpu::avx512_or_avx(
        #[inline(always)]
        || run(w, m, v, g, h),
    )
}

/// Parameters from which an Adam update is split over threads: below, a
/// worker costs more than it saves (the update is memory-bound, so two
/// threads gain only where one does not saturate the memory system).
const ADAM_PARALLEL_MIN: usize = 1 << 20;

/// [`adam_slices`] over parts of the slices taken by up to `threads`
/// threads (large variables only: the CNN's 3.2M-parameter layer).
fn adam_parallel<T: Float>(
    threads: usize,
    w: &mut [T],
    m: &mut [T],
    v: &mut [T],
    g: &[T],
    h: &AdamHyper<T>,
) {
    if threads < 2 || g.len() < ADAM_PARALLEL_MIN {
        adam_slices(w, m, v, g, h);
        return;
    }
    let part = g.len().div_ceil(4 * threads);
    let parts = w
        .chunks_mut(part)
        .zip(m.chunks_mut(part))
        .zip(v.chunks_mut(part))
        .zip(g.chunks(part));
    crate::parallel::for_each(threads, parts, |(((w, m), v), g)| {
        adam_slices(w, m, v, g, h)
    });
}

/// Input `i` as one value of type `T`.
fn scalar_input<T: Float>(k: &ComputeCtx<'_>, i: usize, what: &str) -> Result<T, KernelError> {
    let a = k.input_as::<T>(i)?;
    match a.iter().next() {
        Some(&x) if a.len() == 1 => Ok(x),
        _ => Err(format!("{what} must be a scalar, got shape {:?}", a.shape()).into()),
    }
}

/// A rule with this step's scalars read: what one update does to each
/// element of the variable and its slots.
#[derive(Clone, Copy)]
pub(super) enum Update<T> {
    /// `var -= lr * g`.
    GradientDescent { lr: T },
    /// Momentum `mu`, Nesterov's or not.
    Momentum { lr: T, mu: T, nesterov: bool },
    /// Adam, with this step's bias-corrected rate.
    Adam(AdamHyper<T>),
    /// RMSProp with decay `rho` and momentum `mu`.
    RmsProp { lr: T, rho: T, mu: T, eps: T },
    /// Centered RMSProp (also tracks the mean gradient).
    CenteredRmsProp { lr: T, rho: T, mu: T, eps: T },
    /// Adagrad.
    Adagrad { lr: T },
}

impl<T: Float> Update<T> {
    /// `rule` with its learning rate (and Adam's `beta1_power`,
    /// `beta2_power`) read from the kernel's inputs `first..`.
    pub(super) fn read(rule: Rule, k: &ComputeCtx<'_>, first: usize) -> Result<Self, KernelError> {
        let lr = scalar_input::<T>(k, first, "the learning rate")?;
        let c = <T as Float>::from_f64;
        Ok(match rule {
            Rule::GradientDescent => Update::GradientDescent { lr },
            Rule::Momentum { momentum, nesterov } => Update::Momentum {
                lr,
                mu: c(momentum),
                nesterov,
            },
            Rule::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                let b1p = scalar_input::<T>(k, first + 1, "beta1_power")?;
                let b2p = scalar_input::<T>(k, first + 2, "beta2_power")?;
                let one = T::one();
                Update::Adam(AdamHyper {
                    b1: c(beta1),
                    b2: c(beta2),
                    eps: c(epsilon),
                    alpha: lr * (one - b2p).sqrt() / (one - b1p),
                })
            }
            Rule::RmsProp {
                decay,
                momentum,
                epsilon,
                centered,
            } => {
                let (rho, mu, eps) = (c(decay), c(momentum), c(epsilon));
                if centered {
                    Update::CenteredRmsProp { lr, rho, mu, eps }
                } else {
                    Update::RmsProp { lr, rho, mu, eps }
                }
            }
            Rule::Adagrad => Update::Adagrad { lr },
        })
    }

    /// How many arrays the update changes: the variable and its slots.
    fn arrays(&self) -> usize {
        match self {
            Update::GradientDescent { .. } => 1,
            Update::Momentum { .. } | Update::Adagrad { .. } => 2,
            Update::Adam(_) | Update::RmsProp { .. } => 3,
            Update::CenteredRmsProp { .. } => 4,
        }
    }

    /// The update of `state` (the variable, then its slots in the rule's
    /// order; [`Update::arrays`] of them, of `g`'s shape) by the gradient
    /// `g`, element by element (Adam on large contiguous arrays on up to
    /// `threads` threads).
    pub(super) fn apply<D: Dimension>(
        &self,
        state: &mut [ArrayViewMut<'_, T, D>],
        g: ArrayView<'_, T, D>,
        threads: usize,
    ) {
        let one = T::one();
        match (*self, state) {
            (Update::GradientDescent { lr }, [w]) => {
                Zip::from(w).and(&g).for_each(|w, &g| *w -= g * lr);
            }
            (Update::Momentum { lr, mu, nesterov }, [w, acc]) => {
                Zip::from(w).and(acc).and(&g).for_each(|w, a, &g| {
                    *a = *a * mu + g;
                    if nesterov {
                        *w -= g * lr + *a * mu * lr;
                    } else {
                        *w -= *a * lr;
                    }
                });
            }
            (Update::Adam(h), [w, m, v]) => {
                if let (Some(w), Some(m), Some(v), Some(g)) = (
                    w.as_slice_mut(),
                    m.as_slice_mut(),
                    v.as_slice_mut(),
                    g.as_slice(),
                ) {
                    adam_parallel(threads, w, m, v, g, &h);
                    return;
                }
                Zip::from(w)
                    .and(m)
                    .and(v)
                    .and(&g)
                    .for_each(|w, m, v, &g| h.update(w, m, v, g));
            }
            (Update::RmsProp { lr, rho, mu, eps }, [w, ms, mom]) => {
                Zip::from(w)
                    .and(ms)
                    .and(mom)
                    .and(&g)
                    .for_each(|w, ms, mom, &g| {
                        *ms += (g * g - *ms) * (one - rho);
                        *mom = *mom * mu + g * lr / (*ms + eps).sqrt();
                        *w -= *mom;
                    });
            }
            (Update::CenteredRmsProp { lr, rho, mu, eps }, [w, mg, ms, mom]) => {
                Zip::from(w)
                    .and(mg)
                    .and(ms)
                    .and(mom)
                    .and(&g)
                    .for_each(|w, mg, ms, mom, &g| {
                        *ms += (g * g - *ms) * (one - rho);
                        *mg += (g - *mg) * (one - rho);
                        let denom = (*ms - *mg * *mg) + eps;
                        *mom = *mom * mu + g * lr / denom.sqrt();
                        *w -= *mom;
                    });
            }
            (Update::Adagrad { lr }, [w, acc]) => {
                Zip::from(w).and(acc).and(&g).for_each(|w, a, &g| {
                    *a += g * g;
                    *w -= g * lr / a.sqrt();
                });
            }
            (_, s) => unreachable!(
                "{} state arrays for an update of {} (checked by state_arrays)",
                s.len(),
                self.arrays()
            ),
        }
    }
}

/// The kernel's state (the variable and its slots) as `T` arrays of
/// `shape`, checked to be initialized, of `T` and as many as `update`
/// changes.
pub(super) fn state_arrays<'k, T: Float>(
    k: &'k mut ComputeCtx<'_>,
    update: &Update<T>,
    shape: &[usize],
) -> Result<SmallVec<[&'k mut ArrayD<T>; 4]>, KernelError> {
    let mut state: SmallVec<[&mut ArrayD<T>; 4]> = SmallVec::new();
    for (i, slot) in k.state().iter_mut().enumerate() {
        let value = slot.as_mut().ok_or(KernelError::Uninitialized(i))?;
        let dtype = value.dtype();
        let a = array_mut::<T>(value).ok_or_else(|| {
            format!(
                "variable {i} of the update has dtype {dtype}, expected {}",
                T::DTYPE
            )
        })?;
        if a.shape() != shape {
            return Err(format!(
                "the gradient has shape {shape:?} but the variable (or slot {i}) has shape {:?}",
                a.shape()
            )
            .into());
        }
        state.push(a);
    }
    if state.len() != update.arrays() {
        return Err(format!(
            "the update changes {} arrays but got {}",
            update.arrays(),
            state.len()
        )
        .into());
    }
    Ok(state)
}

impl Apply {
    fn run<T: Float>(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        let g = k.input_as::<T>(0)?;
        let update = Update::<T>::read(self.rule, k, 1)?;
        let mut state = state_arrays(k, &update, g.shape())?;
        let mut views: SmallVec<[_; 4]> = state.iter_mut().map(|a| a.view_mut()).collect();
        update.apply(&mut views, g.view(), threads);
        Ok(())
    }
}

impl Op for Apply {
    fn kind(&self) -> &'static OpKind {
        self.rule.kinds().0
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let grad = &inputs[0];
        if !self.spec.dtype.is_float() {
            return Err(format!("cannot train a {} variable", self.spec.dtype));
        }
        if grad.dtype != self.spec.dtype {
            return Err(format!(
                "the gradient has dtype {} but the variable has dtype {}",
                grad.dtype, self.spec.dtype
            ));
        }
        if self.spec.shape.merge(&grad.shape).is_none() {
            return Err(format!(
                "the gradient has shape {} but the variable has shape {}",
                grad.shape, self.spec.shape
            ));
        }
        for s in &inputs[1..] {
            if s.dtype != self.spec.dtype || s.shape.rank().is_some_and(|r| r != 0) {
                return Err(format!(
                    "hyper-parameters must be {} scalars, got {s}",
                    self.spec.dtype
                ));
            }
        }
        Ok(vec![])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => self.run::<T>(k))
    }
    fn updates(&self) -> &[usize] {
        &self.vars
    }
    fn attrs(&self) -> String {
        format!("{:?}", self.rule)
    }
}

/// The node applying `rule` to `var` (and its `slots`, in the rule's
/// order) with gradient `grad`, learning rate `lr` (a scalar of the
/// variable's dtype) and any `extra` inputs the rule reads.
#[track_caller]
pub(crate) fn apply(
    rule: Rule,
    var: Tensor,
    slots: &[Tensor],
    grad: Tensor,
    lr: Tensor,
    extra: &[Tensor],
) -> Operation {
    let g = var.graph();
    let vars = std::iter::once(var)
        .chain(slots.iter().copied())
        .map(crate::ops::variable_id)
        .collect();
    let op = Apply {
        rule,
        vars,
        spec: var.spec(),
    };
    let name = format!("{}/{}", var.name(), op.kind().name);
    let inputs: Vec<Tensor> = [grad, lr]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    g.add_node(op, &inputs, Some(&name))
}
