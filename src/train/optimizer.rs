//! The [`Optimizer`] trait: `compute_gradients` / `apply_gradients` /
//! `minimize` as in TF1, shared by every optimizer, plus the slot
//! variables and learning rates they are built from. Everything here
//! happens at graph-construction time: slots are created by `minimize`, so
//! a later `global_variables_initializer()` initialises them.

use crate::error::Error;
use crate::gradients::gradients;
use crate::graph::{raise, Graph, Operation, Tensor};
use crate::ops::{assign_add, cast, group, scalar_like, Scalar};
use std::collections::HashMap;

/// Gradient and variable pairs, as `compute_gradients` returns them (a
/// `None` gradient means the variable does not reach the loss).
pub type GradsAndVars = Vec<(Option<Tensor>, Tensor)>;

/// A learning rate (a number, or a scalar float tensor such as a
/// placeholder or [`exponential_decay`](super::exponential_decay)) as a
/// scalar of `var`'s dtype.
///
/// # Panics
/// When a tensor learning rate is not a float scalar.
#[track_caller]
pub(super) fn learning_rate(lr: Scalar, var: Tensor) -> Tensor {
    if let Scalar::Tensor(t) = lr {
        let spec = t.spec();
        assert!(
            spec.dtype.is_float() && spec.shape.rank().is_none_or(|r| r == 0),
            "the learning rate must be a float scalar, got `{}` {spec}",
            t.name()
        );
    }
    cast(lr.tensor_like(var), var.dtype())
}

/// The slot variables of one optimizer: per (variable, slot name), an
/// untrainable variable of the variable's shape and dtype.
#[derive(Debug, Default)]
pub struct Slots {
    slots: HashMap<(Tensor, &'static str), Tensor>,
}

impl Slots {
    /// The slot `name` of `var`, if created.
    pub fn get(&self, var: Tensor, name: &str) -> Option<Tensor> {
        self.slots
            .iter()
            .find(|((v, n), _)| *v == var && *n == name)
            .map(|(_, &s)| s)
    }

    /// The slot `name` of `var`, created (filled with `init`) on first use
    /// and named `{var}/{op_name}`, `{var}/{op_name}_1`, ... as in TF.
    ///
    /// # Panics
    /// When `var`'s shape is not fully known.
    #[track_caller]
    pub fn get_or_create(
        &mut self,
        var: Tensor,
        name: &'static str,
        init: f64,
        op_name: &str,
    ) -> Tensor {
        if let Some(s) = self.get(var, name) {
            return s;
        }
        let g = var.graph();
        let shape = var.shape().to_vec().unwrap_or_else(|| {
            raise(Error::InvalidArgument(format!(
                "cannot create the `{name}` slot of `{}`: its shape {} is not fully known",
                var.name(),
                var.shape()
            )))
        });
        let base = format!("{}/{op_name}", var.name());
        let slot_name = unused_variable_name(&g, &base);
        let s = g.variable_untrainable(g.fill(&shape, init, var.dtype()), &slot_name);
        self.slots.insert((var, name), s);
        s
    }
}

/// `base`, or `base_1`, `base_2`, ... : the first that names no node
/// (under the current name scope).
pub(super) fn unused_variable_name(g: &Graph, base: &str) -> String {
    let scope = g.current_scope();
    let full = |n: &str| {
        if scope.is_empty() {
            n.to_string()
        } else {
            format!("{scope}/{n}")
        }
    };
    let mut name = base.to_string();
    let mut k = 0;
    while g.operation_by_name(&full(&name)).is_some() {
        k += 1;
        name = format!("{base}_{k}");
    }
    name
}

/// A TF1 optimizer: builds, once, the ops that update variables from the
/// gradients of a loss.
///
/// Implementors provide [`Optimizer::apply_dense`] (the update of one
/// variable, creating its slots); `compute_gradients`, `apply_gradients`
/// and `minimize` come with the trait.
///
/// ```
/// use tensorgraph::{feed, train::{GradientDescentOptimizer, Optimizer}, DType, Graph, Session};
/// let g = Graph::new();
/// let w = g.variable(g.fill([0usize; 0], 3.0, DType::Float32), "w");
/// let loss = w * w;
/// let step = GradientDescentOptimizer::new(0.25).minimize(loss);
/// let init = g.global_variables_initializer();
/// let mut s = Session::new(&g);
/// s.run(init, &feed! {}).unwrap();
/// s.run(step, &feed! {}).unwrap(); // w -= 0.25 * 2w
/// assert_eq!(s.run(w, &feed! {}).unwrap().scalar::<f32>().unwrap(), 1.5);
/// ```
pub trait Optimizer {
    /// TF's name of the optimizer (`"Adam"`), used to name slots.
    fn get_name(&self) -> &'static str;

    /// The slot names, as TF's `get_slot_names()` (`["m", "v"]` for Adam).
    fn get_slot_names(&self) -> Vec<&'static str>;

    /// The slot `name` of `var`, once `minimize` / `apply_gradients` has
    /// created it.
    fn get_slot(&self, var: Tensor, name: &str) -> Option<Tensor>;

    /// Builds the update of `var` by `grad`, creating its slots.
    fn apply_dense(&mut self, grad: Tensor, var: Tensor) -> Operation;

    /// Called once with every variable to be updated, before any
    /// `apply_dense` (Adam creates its beta powers here).
    fn prepare(&mut self, _vars: &[Tensor]) {}

    /// Called once with the per-variable updates; returns what the
    /// training op must wait for (Adam adds its beta-power updates, which
    /// run after every variable update).
    fn finish(&mut self, updates: Vec<Operation>) -> Vec<Operation> {
        updates
    }

    /// `opt.compute_gradients(loss, var_list)`: the gradient of `loss`
    /// with respect to each of `var_list` (default: the graph's trainable
    /// variables).
    #[track_caller]
    fn compute_gradients(&self, loss: Tensor, var_list: Option<&[Tensor]>) -> GradsAndVars {
        let vars = match var_list {
            Some(v) => v.to_vec(),
            None => loss.graph().trainable_variables(),
        };
        assert!(
            !vars.is_empty(),
            "compute_gradients of `{}`: there are no variables to optimize",
            loss.name()
        );
        gradients(&[loss], &vars).into_iter().zip(vars).collect()
    }

    /// `opt.apply_gradients(grads_and_vars, global_step)`: one op that
    /// updates each variable that has a gradient, then increments
    /// `global_step` (an integer variable) if given.
    ///
    /// # Panics
    /// When no pair has a gradient; the message lists the variables.
    #[track_caller]
    fn apply_gradients(
        &mut self,
        grads_and_vars: &[(Option<Tensor>, Tensor)],
        global_step: Option<Tensor>,
    ) -> Operation {
        let pairs: Vec<(Tensor, Tensor)> = grads_and_vars
            .iter()
            .filter_map(|&(g, v)| g.map(|g| (g, v)))
            .collect();
        if pairs.is_empty() {
            let names: Vec<String> = grads_and_vars
                .iter()
                .map(|(_, v)| format!("`{}`", v.name()))
                .collect();
            raise(Error::InvalidArgument(format!(
                "no gradients provided for any variable: none of {} reaches the loss through differentiable ops; \
                 check that the loss is computed from these variables",
                names.join(", ")
            )));
        }
        let g = pairs[0].1.graph();
        // Slots and update nodes point at the user's line, not this file.
        let site = std::panic::Location::caller();
        g.with_site(site, || build_updates(self, &g, &pairs, global_step))
    }

    /// `opt.minimize(loss)`: gradients of `loss` with respect to every
    /// trainable variable, applied. Returns the training op.
    ///
    /// # Panics
    /// When no variable reaches the loss (the message names them).
    #[track_caller]
    fn minimize(&mut self, loss: Tensor) -> Operation {
        self.minimize_with(loss, None, None)
    }

    /// `opt.minimize(loss, global_step=..., var_list=...)`.
    ///
    /// # Panics
    /// When no variable of `var_list` reaches the loss.
    #[track_caller]
    fn minimize_with(
        &mut self,
        loss: Tensor,
        var_list: Option<&[Tensor]>,
        global_step: Option<Tensor>,
    ) -> Operation {
        let gv = self.compute_gradients(loss, var_list);
        if gv.iter().all(|(g, _)| g.is_none()) {
            let why: Vec<String> = gv
                .iter()
                .map(|&(_, v)| format!("\n  {}", loss.graph().explain_gradient(loss, v)))
                .collect();
            raise(Error::InvalidArgument(format!(
                "minimize(`{}`): no gradients provided for any variable \
                 (see Graph::explain_gradient):{}",
                loss.name(),
                why.concat()
            )));
        }
        self.apply_gradients(&gv, global_step)
    }
}

/// The update ops of `apply_gradients`: one per variable, then the
/// optimizer's finishing updates, grouped into the training op.
fn build_updates<O: Optimizer + ?Sized>(
    opt: &mut O,
    g: &crate::Graph,
    pairs: &[(Tensor, Tensor)],
    global_step: Option<Tensor>,
) -> Operation {
    let vars: Vec<Tensor> = pairs.iter().map(|&(_, v)| v).collect();
    opt.prepare(&vars);
    let updates: Vec<Operation> = pairs
        .iter()
        .map(|&(grad, var)| opt.apply_dense(grad, var))
        .collect();
    let deps = opt.finish(updates);
    let _c = g.control_dependencies(&deps);
    match global_step {
        None => g.add_node(crate::ops::NoOp, &[], Some(opt.get_name())),
        Some(step) => group(&[assign_add(step, scalar_like(1.0, step))]),
    }
}
