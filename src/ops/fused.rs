//! Kernels that stand for a chain of graph nodes, chosen by the session
//! when it compiles a run (as TF's grappler remapper does). They are never
//! graph nodes: gradients, listings and traced runs see the original ones.

use super::matmul::{check_inner, flip, gemm_into, view2};
use super::{Float, Kernel, KernelError, Op, OpKind};
use crate::graph::TensorSpec;
use std::sync::Arc;

static FUSED_MATMUL: OpKind = OpKind::not_differentiable("_FusedMatMul");

/// `Op::infer` of every fused kernel: they are only built by the session
/// for a plan, never added to a graph.
pub(super) fn not_a_graph_node() -> Result<Vec<TensorSpec>, String> {
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
    fn run<T: Float>(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let (a, b, bias) = (k.float::<T>(0)?, k.float::<T>(1)?, k.float::<T>(2)?);
        let a = flip(view2(a)?, self.transpose_a);
        let b = flip(view2(b)?, self.transpose_b);
        check_inner(&a, &b)?;
        let (m, n) = (a.nrows(), b.ncols());
        let bias = match bias.as_slice() {
            Some(s) if s.len() == n => s,
            _ => {
                return Err(format!(
                    "{} adds a bias of shape {:?} to a product of shape [{m}, {n}]",
                    self.fused,
                    bias.shape()
                )
                .into())
            }
        };
        let threads = k.threads();
        let out = k.output_array::<T>(0, &[m, n]);
        let out = out
            .view_mut()
            .into_dimensionality()
            .map_err(|e| e.to_string())?;
        gemm_into(a, b, out, threads, Some(bias), self.relu);
        Ok(())
    }
}

impl Op for FusedMatMul {
    fn kind(&self) -> &'static OpKind {
        &FUSED_MATMUL
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        super::fused::not_a_graph_node()
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        crate::float_dispatch!(k.input(0), T => self.run::<T>(k))
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
