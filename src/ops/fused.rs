//! Kernels that stand for a chain of graph nodes, chosen by the session
//! when it compiles a run (as TF's grappler remapper does). They are never
//! graph nodes: gradients, listings and traced runs see the original ones.

use super::element::float_dispatch;
use super::matmul::matmul2;
use super::Float;
use crate::graph::TensorSpec;
use crate::op::{op_kinds, ComputeCtx, KernelError, Op, OpKind};
use ndarray::ArrayD;
use std::sync::Arc;

op_kinds! {
    FUSED_MATMUL = not_differentiable("_FusedMatMul", "_fused_matmul");
}

/// The bias row of a fused kernel's epilogue, checked against the `n`
/// values per output row it adds to (`what` describes the output, and is
/// only built for the error).
pub(super) fn bias_row<T>(
    bias: Option<&ArrayD<T>>,
    n: usize,
    what: impl FnOnce() -> String,
) -> Result<Option<&[T]>, String> {
    match bias.map(|v| (v.as_slice(), v)) {
        None => Ok(None),
        Some((Some(row), _)) if row.len() == n => Ok(Some(row)),
        Some((_, v)) => Err(format!("a bias of shape {:?} for {}", v.shape(), what())),
    }
}

/// A fused kernel's error, naming the nodes it stands for.
pub(crate) fn in_fused(e: KernelError, fused: &str) -> KernelError {
    match e {
        KernelError::Message(m) => KernelError::Message(format!("{m} (in the fused {fused})")),
        other => other,
    }
}

/// `Op::infer` of every fused kernel: they are only built by the session
/// for a plan, never added to a graph.
pub(crate) fn not_a_graph_node() -> Result<Vec<TensorSpec>, String> {
    Err("a fused kernel is built by the session, not as a graph node".into())
}

/// `relu(matmul(a, b) + bias)` (or without the relu) in one kernel: the
/// bias and relu are applied to each tile of the product while it is
/// still in registers or cache. Inputs: `[a, b, bias]`.
#[derive(Debug)]
struct FusedMatMul {
    transpose_a: bool,
    transpose_b: bool,
    relu: bool,
    /// The fused add (and relu) nodes' names, for messages.
    fused: String,
}

impl FusedMatMul {
    fn run<T: Float>(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let bias = k.input_as::<T>(2)?;
        matmul2(k, self.transpose_a, self.transpose_b, Some(bias), self.relu)
            .map_err(|e| in_fused(e, &self.fused))
    }
}

impl Op for FusedMatMul {
    fn kind(&self) -> &'static OpKind {
        &FUSED_MATMUL
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        super::fused::not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => self.run::<T>(k))
    }
    fn attrs(&self) -> String {
        format!(
            "transpose_a={}, transpose_b={}, relu={}, fuses {}",
            self.transpose_a, self.transpose_b, self.relu, self.fused
        )
    }
}

/// The kernel of `[relu](matmul(a, b, transposes) + bias)`; `fused` names
/// the add (and relu) nodes it stands for.
pub(crate) fn fused_matmul(transposes: (bool, bool), relu: bool, fused: String) -> Arc<dyn Op> {
    Arc::new(FusedMatMul {
        transpose_a: transposes.0,
        transpose_b: transposes.1,
        relu,
        fused,
    })
}
