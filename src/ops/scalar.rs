//! [`Scalar`], the one type of the scalar arguments that are "a tensor, or
//! a plain number": dropout's keep probability, clip bounds, learning
//! rates. A number becomes a constant of the dtype of the tensor it goes
//! with, built where the argument is used, so no node exists for an
//! argument that is never used (dropout with keep probability 1).

use super::{scalar_like, Const};
use crate::graph::Tensor;

/// A scalar argument: a plain number, fixed in the graph, or a scalar
/// tensor read at each run (a placeholder, a schedule such as
/// [`exponential_decay`](crate::train::exponential_decay)). Functions take
/// `impl Into<Scalar>`, so both spellings read as in TF:
///
/// ```
/// use tensorgraph::{nn, ops, train::AdamOptimizer, DType, Graph};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(4)], "x");
/// let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
/// let fixed = nn::dropout(x, 0.5);
/// let fed = nn::dropout(x, keep_prob);
/// let clipped = ops::clip_by_value(x, -1.0, 1.0);
/// let _adam = AdamOptimizer::new(0.001);
/// assert_eq!(fixed.shape(), fed.shape());
/// assert_eq!(clipped.shape(), x.shape());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A number, built into the graph as a constant where it is used.
    Number(f64),
    /// A tensor, read at each run.
    Tensor(Tensor),
}

impl From<f64> for Scalar {
    fn from(x: f64) -> Scalar {
        Scalar::Number(x)
    }
}

impl From<f32> for Scalar {
    fn from(x: f32) -> Scalar {
        Scalar::Number(f64::from(x))
    }
}

impl From<Tensor> for Scalar {
    fn from(t: Tensor) -> Scalar {
        Scalar::Tensor(t)
    }
}

impl Scalar {
    /// The argument as a tensor to use with `like`: a number becomes a
    /// scalar constant of `like`'s dtype in `like`'s graph; a tensor is
    /// returned as it is (the op that reads it checks its dtype and shape).
    #[track_caller]
    pub fn tensor_like(self, like: Tensor) -> Tensor {
        match self {
            Scalar::Number(x) => scalar_like(x, like),
            Scalar::Tensor(t) => t,
        }
    }

    /// The value when it is known while building: a number, or a tensor
    /// that is a one-element float constant. Lets an op check a fixed
    /// argument (dropout's keep probability) when it is built.
    pub fn known_value(self) -> Option<f64> {
        let t = match self {
            Scalar::Number(x) => return Some(x),
            Scalar::Tensor(t) => t,
        };
        t.graph().with_node(t.node(), |n| {
            let c = n.op.downcast::<Const>()?;
            let v = &c.value;
            (v.len() == 1 && v.dtype().is_float())
                .then(|| v.to_array::<f64>().iter().copied().next())
                .flatten()
        })
    }
}
