//! `ExponentialDecay`: a learning rate computed from the global step at
//! every run (what `train::exponential_decay` builds).

use super::EXPONENTIAL_DECAY;
use crate::dtype::DType;
use crate::graph::TensorSpec;
use crate::op::{ComputeCtx, KernelError, Op, OpKind};
use crate::value::Value;

/// `lr * rate^(step / steps)` of a scalar step.
#[derive(Debug)]
pub(crate) struct ExponentialDecay {
    pub(crate) learning_rate: f64,
    pub(crate) decay_steps: u64,
    pub(crate) decay_rate: f64,
    pub(crate) staircase: bool,
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
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
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
