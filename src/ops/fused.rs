//! What the fused kernels share. A fused kernel stands for a chain of
//! graph nodes, chosen by the session when it compiles a run (as TF's
//! grappler remapper does; the patterns are in `session::fuse`), and lives
//! beside the op it extends (`matmul`, `cnn`, `training::fused_apply`).
//! It is never a graph node: gradients, listings and traced runs see the
//! original ones.

use crate::graph::TensorSpec;
use crate::op::KernelError;
use ndarray::ArrayD;

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
