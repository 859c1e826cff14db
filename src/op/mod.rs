//! The op trait family: what every op kind implements ([`Op`]), its
//! identity ([`OpKind`]), what its gradient sees ([`GradCtx`]) and what its
//! kernel sees ([`ComputeCtx`]).
//!
//! This module knows nothing of particular ops: the graph stores
//! `Arc<dyn Op>`s, the session runs them, and the families under
//! [`crate::ops`] implement them. To add an op kind, declare it with one
//! line of its family's `op_kinds!` block and implement `Op` beside it
//! (docs/architecture.md walks through an example).

mod context;

pub use context::{ComputeCtx, KernelError};

use crate::graph::{Tensor, TensorSpec};
use std::any::Any;
use std::fmt::Debug;

/// The kind of an op: its TF name, the Python spelling a porter knows
/// it by, and whether gradients flow through it. Each op type returns one
/// `'static` kind, declared with `op_kinds!`; kinds are compared by
/// identity (`dyn Op::is`), never by name.
#[derive(Debug, PartialEq, Eq)]
pub struct OpKind {
    /// TF's op type name (`MatMul`, `Relu`, `SoftmaxCrossEntropyWithLogits`).
    pub name: &'static str,
    /// The TF Python function that builds it (`matmul`, `relu`,
    /// `softmax_cross_entropy_with_logits`), as listings show it.
    pub python: &'static str,
    /// False for ops TF gives no gradient (argmax, comparisons, ...).
    pub differentiable: bool,
}

impl OpKind {
    /// A kind whose gradient is defined by the op's `grad`.
    pub const fn differentiable(name: &'static str, python: &'static str) -> OpKind {
        OpKind {
            name,
            python,
            differentiable: true,
        }
    }

    /// A kind that stops gradients (TF returns `None` through it).
    pub const fn not_differentiable(name: &'static str, python: &'static str) -> OpKind {
        OpKind {
            name,
            python,
            differentiable: false,
        }
    }
}

/// Declares the op kinds of one family, one line per kind, and the
/// family's `KINDS` list that [`crate::ops::registry`] gathers:
///
/// ```text
/// op_kinds! {
///     RELU = differentiable("Relu", "relu");
///     STEP_MASK = not_differentiable("StepMask", "step_mask");
/// }
/// ```
macro_rules! op_kinds {
    ($($(#[$meta:meta])* $id:ident = $ctor:ident($name:literal, $python:literal);)+) => {
        $($(#[$meta])* pub(crate) static $id: $crate::op::OpKind =
            $crate::op::OpKind::$ctor($name, $python);)+
        /// This family's op kinds.
        pub(super) static KINDS: &[&$crate::op::OpKind] = &[$(&$id),+];
    };
}
pub(crate) use op_kinds;

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

/// Lets the session and the fusion patterns read a particular op's
/// attributes (a variable's id, a convolution's strides).
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
    /// reaches it; [`GradCtx::dy`] gives zeros there).
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
}

/// An op kind: see the module docs.
pub trait Op: Debug + Send + Sync + AsAny + 'static {
    /// The op's kind.
    fn kind(&self) -> &'static OpKind;

    /// Output dtypes and static shapes from the inputs', or a message
    /// saying why the inputs are not acceptable.
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String>;

    /// Computes the outputs from the inputs.
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError>;

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

impl dyn Op {
    /// Whether this op is of `kind` (compared by identity: each kind is
    /// one `static`).
    pub fn is(&self, kind: &'static OpKind) -> bool {
        std::ptr::eq(self.kind(), kind)
    }

    /// This op as its concrete type `T`, when it is one.
    pub fn downcast<T: Op>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }
}
