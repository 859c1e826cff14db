//! Ops: one type per op kind, holding (in this order) its kind, its static
//! shape/dtype rule, its kernel and its gradient. Families live in their
//! own files; [`registry`] lists every kind so tests can check that each
//! differentiable one has a numeric gradient check.
//!
//! An op's gradient is built only from the public graph-building functions,
//! so gradients are ordinary nodes and can be differentiated again.

mod activation;
mod array;
mod broadcast;
mod compare;
mod conv;
mod dropout;
mod elementwise;
mod fused;
mod gather;
mod join;
mod kernel;
mod loss;
pub(crate) mod math;
mod matmul;
mod nn;
mod pool;
mod random;
mod reduce;
pub(crate) mod scratch;
mod slicing;
mod state;

pub use activation::*;
pub use array::*;
pub use broadcast::*;
pub use compare::*;
pub(crate) use conv::fused_conv2d;
pub use conv::*;
pub use dropout::*;
pub use elementwise::*;
pub(crate) use fused::{fused_matmul, in_fused, not_a_graph_node};
pub use gather::*;
pub use join::*;
pub(crate) use kernel::array_mut;
pub use kernel::{Float, Kernel, KernelError};
pub use loss::*;
pub use math::*;
pub use matmul::*;
pub use nn::*;
pub use pool::*;
pub(crate) use pool::{fused_max_pool_relu_grad, max_pool_attrs};
pub use random::*;
pub use reduce::*;
pub use slicing::*;
pub use state::*;

use crate::graph::{Tensor, TensorSpec};
use std::any::Any;
use std::fmt::Debug;

/// The kind of an op: its TF-style name and whether gradients flow
/// through it. Each op type returns one `'static` kind.
#[derive(Debug, PartialEq, Eq)]
pub struct OpKind {
    /// TF-style name (`MatMul`, `Relu`, `SoftmaxCrossEntropyWithLogits`).
    pub name: &'static str,
    /// False for ops TF gives no gradient (argmax, comparisons, ...).
    pub differentiable: bool,
}

impl OpKind {
    /// A kind whose gradient is defined by the op's `grad`.
    pub const fn differentiable(name: &'static str) -> OpKind {
        OpKind {
            name,
            differentiable: true,
        }
    }

    /// A kind that stops gradients (TF returns `None` through it).
    pub const fn not_differentiable(name: &'static str) -> OpKind {
        OpKind {
            name,
            differentiable: false,
        }
    }
}

/// Whether an op draws random numbers, and from which seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Randomness {
    /// Deterministic.
    None,
    /// Draws from a stream the session starts from these seeds (or from
    /// the OS when both are `None`); see [`Graph::set_random_seed`](crate::Graph::set_random_seed).
    Random {
        /// The graph-level seed when the op was built.
        graph_seed: Option<u64>,
        /// The op-level seed.
        op_seed: Option<u64>,
    },
}

/// Lets the session and gradient builder recognise particular ops.
pub trait AsAny {
    /// `self` as `Any`.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What a gradient function sees of its node.
#[derive(Debug)]
pub struct GradCtx<'a> {
    /// The node's inputs.
    pub inputs: &'a [Tensor],
    /// The node's outputs.
    pub outputs: &'a [Tensor],
    /// The gradient flowing into each output (`None` where no gradient
    /// reaches it).
    pub grads: &'a [Option<Tensor>],
}

impl GradCtx<'_> {
    /// Input `i`.
    pub fn x(&self, i: usize) -> Tensor {
        self.inputs[i]
    }

    /// Output `i`.
    pub fn y(&self, i: usize) -> Tensor {
        self.outputs[i]
    }

    /// The gradient of output `i`, zeros where none reaches it.
    #[track_caller]
    pub fn dy(&self, i: usize) -> Tensor {
        self.grads[i].unwrap_or_else(|| zeros_like(self.outputs[i]))
    }
}

/// An op kind: see the module docs.
pub trait Op: Debug + Send + Sync + AsAny + 'static {
    /// The op's kind.
    fn kind(&self) -> &'static OpKind;

    /// Output dtypes and static shapes from the inputs', or a message
    /// saying why the inputs are not acceptable.
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String>;

    /// Computes the outputs from the inputs.
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError>;

    /// Builds the gradient with respect to each input, given the gradients
    /// of the outputs. `None` for an input means "no gradient" (integer
    /// inputs, indices). Only called for differentiable kinds.
    fn grad(&self, ctx: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![None; ctx.inputs.len()]
    }

    /// Variables this op writes, by variable id.
    fn updates(&self) -> &[usize] {
        &[]
    }

    /// Whether the op draws random numbers.
    fn randomness(&self) -> Randomness {
        Randomness::None
    }

    /// A short description of the op's attributes for graph listings
    /// (`transpose_b=true`).
    fn attrs(&self) -> String {
        String::new()
    }
}

/// Every op kind of the crate, with its differentiability.
pub fn registry() -> Vec<&'static OpKind> {
    [
        activation::KINDS,
        array::KINDS,
        broadcast::KINDS,
        compare::KINDS,
        conv::KINDS,
        elementwise::KINDS,
        gather::KINDS,
        join::KINDS,
        dropout::KINDS,
        loss::KINDS,
        math::KINDS,
        matmul::KINDS,
        nn::KINDS,
        pool::KINDS,
        random::KINDS,
        reduce::KINDS,
        slicing::KINDS,
        state::KINDS,
        &crate::train::kinds(),
    ]
    .concat()
}

/// Axes of a reduction: `None` (all), one axis, or several; negative
/// axes count from the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes(pub Option<Vec<isize>>);

impl Axes {
    /// Resolves the axes against a rank: sorted, deduplicated, non-negative.
    pub fn resolve(&self, rank: usize) -> Result<Vec<usize>, String> {
        match &self.0 {
            None => Ok((0..rank).collect()),
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for &a in list {
                    out.push(normalize_axis(a, rank)?);
                }
                out.sort_unstable();
                out.dedup();
                Ok(out)
            }
        }
    }
}

/// A possibly negative axis made non-negative, or an error naming it.
pub fn normalize_axis(axis: isize, rank: usize) -> Result<usize, String> {
    let r = rank as isize;
    if axis < -r || axis >= r {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

impl From<Option<isize>> for Axes {
    fn from(a: Option<isize>) -> Axes {
        Axes(a.map(|a| vec![a]))
    }
}
impl From<isize> for Axes {
    fn from(a: isize) -> Axes {
        Axes(Some(vec![a]))
    }
}
impl From<i32> for Axes {
    fn from(a: i32) -> Axes {
        Axes(Some(vec![a as isize]))
    }
}
impl From<&[isize]> for Axes {
    fn from(a: &[isize]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}
impl<const N: usize> From<[isize; N]> for Axes {
    fn from(a: [isize; N]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}
impl From<Vec<isize>> for Axes {
    fn from(a: Vec<isize>) -> Axes {
        Axes(Some(a))
    }
}
