//! TF1's optimizers, with TF1's defaults, slot names and initial slot
//! values. The update formulas live in the training ops (`ops::training`).

use super::optimizer::{learning_rate, unused_variable_name, Optimizer, Slots};
use crate::graph::{Operation, Tensor};
use crate::ops::training::{apply, Rule};
use crate::ops::{assign, cast, scalar_like, Scalar};

/// `tf.train.GradientDescentOptimizer(learning_rate)`: `var -= lr * g`.
#[derive(Debug)]
pub struct GradientDescentOptimizer {
    lr: Scalar,
}

impl GradientDescentOptimizer {
    /// Plain gradient descent with this learning rate.
    pub fn new(learning_rate: impl Into<Scalar>) -> Self {
        GradientDescentOptimizer {
            lr: learning_rate.into(),
        }
    }
}

impl Optimizer for GradientDescentOptimizer {
    fn get_name(&self) -> &'static str {
        "GradientDescent"
    }
    fn get_slot_names(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn get_slot(&self, _var: Tensor, _name: &str) -> Option<Tensor> {
        None
    }
    #[track_caller]
    fn apply_dense(&mut self, grad: Tensor, var: Tensor) -> Operation {
        apply(
            Rule::GradientDescent,
            var,
            &[],
            grad,
            learning_rate(self.lr, var),
            &[],
        )
    }
}

/// `tf.train.MomentumOptimizer(learning_rate, momentum, use_nesterov)`:
/// `accum = momentum * accum + g`, then `var -= lr * accum`, or with
/// Nesterov `var -= lr * g + lr * momentum * accum`. Slot: `momentum`.
#[derive(Debug)]
pub struct MomentumOptimizer {
    lr: Scalar,
    momentum: f64,
    use_nesterov: bool,
    slots: Slots,
}

impl MomentumOptimizer {
    /// Momentum without Nesterov's correction.
    pub fn new(learning_rate: impl Into<Scalar>, momentum: f64) -> Self {
        MomentumOptimizer {
            lr: learning_rate.into(),
            momentum,
            use_nesterov: false,
            slots: Slots::default(),
        }
    }

    /// TF's `use_nesterov=`.
    pub fn use_nesterov(mut self, on: bool) -> Self {
        self.use_nesterov = on;
        self
    }
}

impl Optimizer for MomentumOptimizer {
    fn get_name(&self) -> &'static str {
        "Momentum"
    }
    fn get_slot_names(&self) -> Vec<&'static str> {
        vec!["momentum"]
    }
    fn get_slot(&self, var: Tensor, name: &str) -> Option<Tensor> {
        self.slots.get(var, name)
    }
    #[track_caller]
    fn apply_dense(&mut self, grad: Tensor, var: Tensor) -> Operation {
        let acc = self.slots.get_or_create(var, "momentum", 0.0, "Momentum");
        let rule = Rule::Momentum {
            momentum: self.momentum,
            nesterov: self.use_nesterov,
        };
        apply(rule, var, &[acc], grad, learning_rate(self.lr, var), &[])
    }
}

/// `tf.train.AdamOptimizer(learning_rate=0.001, beta1=0.9, beta2=0.999,
/// epsilon=1e-8)`, in TF1's "epsilon hat" form:
/// `lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`,
/// `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
/// `var -= lr_t * m / (sqrt(v) + epsilon)`. Slots: `m`, `v`; the powers
/// `beta1^t`, `beta2^t` are the variables `beta1_power`, `beta2_power`,
/// updated after every variable's update.
#[derive(Debug)]
pub struct AdamOptimizer {
    lr: Scalar,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    slots: Slots,
    powers: Option<(Tensor, Tensor)>,
}

impl Default for AdamOptimizer {
    /// TF1's defaults (learning rate 0.001).
    fn default() -> Self {
        AdamOptimizer::new(0.001)
    }
}

impl AdamOptimizer {
    /// Adam with this learning rate and TF1's other defaults.
    ///
    /// ```
    /// use tensorgraph::{feed, train::{AdamOptimizer, Optimizer}, DType, Graph, Session};
    /// let g = Graph::new();
    /// let w = g.variable(g.fill([2usize], 1.0, DType::Float32), "w");
    /// let loss = (w * w).reduce_sum(None, false);
    /// let mut adam = AdamOptimizer::new(0.1);
    /// let step = adam.minimize(loss);
    /// let m = adam.get_slot(w, "m").unwrap();
    /// assert_eq!(m.name(), "w/Adam");
    /// let init = g.global_variables_initializer();
    /// let mut s = Session::new(&g);
    /// s.run(init, &feed! {}).unwrap();
    /// s.run(step, &feed! {}).unwrap(); // the first step moves each weight by about lr
    /// let w1 = s.run(w, &feed! {}).unwrap().into_array::<f32>().unwrap();
    /// assert!((w1[0] - 0.9).abs() < 1e-5);
    /// ```
    pub fn new(learning_rate: impl Into<Scalar>) -> Self {
        AdamOptimizer {
            lr: learning_rate.into(),
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            slots: Slots::default(),
            powers: None,
        }
    }

    /// TF's `beta1=` and `beta2=`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// TF's `epsilon=`.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// The `beta1_power` and `beta2_power` variables, once created.
    pub fn beta_powers(&self) -> Option<(Tensor, Tensor)> {
        self.powers
    }
}

impl Optimizer for AdamOptimizer {
    fn get_name(&self) -> &'static str {
        "Adam"
    }
    fn get_slot_names(&self) -> Vec<&'static str> {
        vec!["m", "v"]
    }
    fn get_slot(&self, var: Tensor, name: &str) -> Option<Tensor> {
        self.slots.get(var, name)
    }
    #[track_caller]
    fn prepare(&mut self, vars: &[Tensor]) {
        if self.powers.is_some() {
            return;
        }
        // As TF: created with the first variable's dtype.
        let first = vars[0];
        let g = first.graph();
        let make = |init: f64, base: &str| {
            let name = unused_variable_name(&g, base);
            g.variable_untrainable(scalar_like(init, first), &name)
        };
        let b1 = make(self.beta1, "beta1_power");
        let b2 = make(self.beta2, "beta2_power");
        self.powers = Some((b1, b2));
    }
    #[track_caller]
    fn apply_dense(&mut self, grad: Tensor, var: Tensor) -> Operation {
        let m = self.slots.get_or_create(var, "m", 0.0, "Adam");
        let v = self.slots.get_or_create(var, "v", 0.0, "Adam");
        let (b1, b2) = self.powers.expect("prepare() runs before apply_dense()");
        let rule = Rule::Adam {
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        };
        let extra = [cast(b1, var.dtype()), cast(b2, var.dtype())];
        apply(
            rule,
            var,
            &[m, v],
            grad,
            learning_rate(self.lr, var),
            &extra,
        )
    }
    #[track_caller]
    fn finish(&mut self, mut updates: Vec<Operation>) -> Vec<Operation> {
        let (b1, b2) = self.powers.expect("prepare() runs before finish()");
        let g = b1.graph();
        let _c = g.control_dependencies(&updates);
        let u1 = assign(b1, b1 * self.beta1);
        let u2 = assign(b2, b2 * self.beta2);
        updates.extend([u1, u2]);
        updates
    }
}

/// `tf.train.RMSPropOptimizer(learning_rate, decay=0.9, momentum=0.0,
/// epsilon=1e-10, centered=False)`:
/// `ms = decay ms + (1 - decay) g^2`, `mom = momentum mom + lr g / sqrt(ms + eps)`,
/// `var -= mom`; centered subtracts `mg^2` (`mg` the mean gradient) under
/// the root. Slots: `rms` (TF1 initialises it to 1.0), `momentum`, and
/// `mg` when centered.
#[derive(Debug)]
pub struct RMSPropOptimizer {
    lr: Scalar,
    decay: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
    slots: Slots,
}

impl RMSPropOptimizer {
    /// RMSProp with this learning rate and TF1's other defaults.
    pub fn new(learning_rate: impl Into<Scalar>) -> Self {
        RMSPropOptimizer {
            lr: learning_rate.into(),
            decay: 0.9,
            momentum: 0.0,
            epsilon: 1e-10,
            centered: false,
            slots: Slots::default(),
        }
    }

    /// TF's `decay=`.
    pub fn decay(mut self, decay: f64) -> Self {
        self.decay = decay;
        self
    }

    /// TF's `momentum=`.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// TF's `epsilon=`.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// TF's `centered=`.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl Optimizer for RMSPropOptimizer {
    fn get_name(&self) -> &'static str {
        "RMSProp"
    }
    fn get_slot_names(&self) -> Vec<&'static str> {
        if self.centered {
            vec!["rms", "momentum", "mg"]
        } else {
            vec!["rms", "momentum"]
        }
    }
    fn get_slot(&self, var: Tensor, name: &str) -> Option<Tensor> {
        self.slots.get(var, name)
    }
    #[track_caller]
    fn apply_dense(&mut self, grad: Tensor, var: Tensor) -> Operation {
        let rms = self.slots.get_or_create(var, "rms", 1.0, "RMSProp");
        let mom = self.slots.get_or_create(var, "momentum", 0.0, "RMSProp");
        let rule = Rule::RmsProp {
            decay: self.decay,
            momentum: self.momentum,
            epsilon: self.epsilon,
            centered: self.centered,
        };
        let lr = learning_rate(self.lr, var);
        if self.centered {
            let mg = self.slots.get_or_create(var, "mg", 0.0, "RMSProp");
            apply(rule, var, &[mg, rms, mom], grad, lr, &[])
        } else {
            apply(rule, var, &[rms, mom], grad, lr, &[])
        }
    }
}

/// `tf.train.AdagradOptimizer(learning_rate, initial_accumulator_value=0.1)`:
/// `acc += g^2`, `var -= lr * g / sqrt(acc)`. Slot: `accumulator`.
#[derive(Debug)]
pub struct AdagradOptimizer {
    lr: Scalar,
    initial_accumulator_value: f64,
    slots: Slots,
}

impl AdagradOptimizer {
    /// Adagrad with this learning rate and accumulators starting at 0.1.
    pub fn new(learning_rate: impl Into<Scalar>) -> Self {
        AdagradOptimizer {
            lr: learning_rate.into(),
            initial_accumulator_value: 0.1,
            slots: Slots::default(),
        }
    }

    /// TF's `initial_accumulator_value=`.
    ///
    /// # Panics
    /// When `value` is not positive (TF raises `ValueError`).
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        assert!(
            value > 0.0,
            "initial_accumulator_value must be positive, got {value}"
        );
        self.initial_accumulator_value = value;
        self
    }
}

impl Optimizer for AdagradOptimizer {
    fn get_name(&self) -> &'static str {
        "Adagrad"
    }
    fn get_slot_names(&self) -> Vec<&'static str> {
        vec!["accumulator"]
    }
    fn get_slot(&self, var: Tensor, name: &str) -> Option<Tensor> {
        self.slots.get(var, name)
    }
    #[track_caller]
    fn apply_dense(&mut self, grad: Tensor, var: Tensor) -> Operation {
        let init = self.initial_accumulator_value;
        let acc = self
            .slots
            .get_or_create(var, "accumulator", init, "Adagrad");
        apply(
            Rule::Adagrad,
            var,
            &[acc],
            grad,
            learning_rate(self.lr, var),
            &[],
        )
    }
}
