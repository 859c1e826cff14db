//! Learning-rate schedules keyed on the global step, and the global step
//! variable itself. A schedule is a node read at every step, so a
//! training op built once follows it.

use crate::dtype::DType;
use crate::graph::{Graph, Tensor, TensorSpec};
use crate::ops::{Kernel, KernelError, Op, OpKind};
use crate::value::Value;

static EXPONENTIAL_DECAY: OpKind = OpKind::not_differentiable("ExponentialDecay");

pub(super) static KINDS: &[&OpKind] = &[&EXPONENTIAL_DECAY];

/// `lr * rate^(step / steps)` of a scalar step.
#[derive(Debug)]
struct ExponentialDecay {
    learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl Op for ExponentialDecay {
    fn kind(&self) -> &'static OpKind {
        &EXPONENTIAL_DECAY
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if i[0].dtype == DType::Bool || i[0].shape.rank().is_some_and(|r| r != 0) {
            return Err(format!(
                "the global step must be a numeric scalar, got {}",
                i[0]
            ));
        }
        Ok(vec![TensorSpec::new(DType::Float32, [0usize; 0])])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let step = k.input(0).to_array::<f64>();
        let step = match step.iter().next() {
            Some(&s) if step.len() == 1 => s,
            _ => {
                return Err(format!(
                    "the global step must be a scalar, got shape {:?}",
                    step.shape()
                )
                .into())
            }
        };
        let mut p = step / self.decay_steps as f64;
        if self.staircase {
            p = p.floor();
        }
        let lr = self.learning_rate * self.decay_rate.powf(p);
        k.set(0, Value::from(lr as f32));
        Ok(())
    }
    fn attrs(&self) -> String {
        format!(
            "learning_rate={}, decay_steps={}, decay_rate={}, staircase={}",
            self.learning_rate, self.decay_steps, self.decay_rate, self.staircase
        )
    }
}

/// `tf.train.exponential_decay(learning_rate, global_step, decay_steps,
/// decay_rate, staircase)`: the float32 scalar
/// `learning_rate * decay_rate^(global_step / decay_steps)`, with the
/// exponent floored when `staircase`.
///
/// ```
/// use tensorgraph::{feed, train::exponential_decay, DType, Graph, Session};
/// let g = Graph::new();
/// let step = g.placeholder(DType::Int64, [0usize; 0], "step");
/// let lr = exponential_decay(0.1, step, 100, 0.5, true);
/// let mut s = Session::new(&g);
/// let at = |s: &mut Session, k: i64| s.run(lr, &feed! { step => k }).unwrap().scalar::<f32>().unwrap();
/// assert_eq!(at(&mut s, 0), 0.1);
/// assert_eq!(at(&mut s, 199), 0.05);
/// assert_eq!(at(&mut s, 200), 0.025);
/// ```
///
/// # Panics
/// When `decay_steps` is 0.
#[track_caller]
pub fn exponential_decay(
    learning_rate: f64,
    global_step: Tensor,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
) -> Tensor {
    assert!(
        decay_steps > 0,
        "exponential_decay: decay_steps must be positive"
    );
    let op = ExponentialDecay {
        learning_rate,
        decay_steps,
        decay_rate,
        staircase,
    };
    global_step.graph().add_op(op, &[global_step])
}

/// `tf.train.create_global_step()`: an untrainable int64 scalar variable
/// named `global_step`, starting at 0. Pass it to
/// [`Optimizer::minimize_with`](super::Optimizer::minimize_with) to count
/// training steps.
///
/// # Panics
/// When the graph already has a `global_step` variable.
#[track_caller]
pub fn create_global_step(g: &Graph) -> Tensor {
    g.variable_untrainable(g.constant(0i64), "global_step")
}
