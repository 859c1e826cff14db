//! Learning-rate schedules keyed on the global step, and the global step
//! variable itself. A schedule is a node read at every step, so a
//! training op built once follows it.

use crate::graph::{Graph, Tensor};
use crate::ops::training::ExponentialDecay;

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
