//! A variable's update fused with the product that computes its gradient
//! (chosen by the session's `fuse::update` pattern when it compiles a
//! run): `apply_adam(w, matmul(x, dy, transpose_a))` and the
//! other rules. The product is computed a block of rows at a time into a
//! per-thread buffer, and each block updates its rows of the variable and
//! slots while it is still in cache, so the gradient never goes out to
//! memory: for the CNN's 3136 x 1024 layer that saves writing 12.8 MB and
//! reading it back on every step.
//!
//! Each element of the product is computed exactly as the unfused product
//! computes it (a block of rows changes no sum), and each update is the
//! unfused rule's, so the fused kernel gives bitwise the same values.

use super::apply::{state_arrays, Apply, Rule, Update};
use crate::gemm::mat_mul;
use crate::graph::TensorSpec;
use crate::op::{ComputeCtx, KernelError, Op, OpKind};
use crate::ops::element::float_dispatch;
use crate::ops::scratch::with_scratch;
use crate::ops::{
    in_fused, matmul_transposes, matrix_operands, not_a_graph_node, worth_splitting, Float,
};
use ndarray::{s, ArrayViewMut, Axis, IxDyn};
use smallvec::SmallVec;
use std::sync::Arc;

/// Elements of the gradient per block: 512 KB of f32, half of a core's L2
/// here, so the block is still there when the update reads it.
const BLOCK_ELEMS: usize = 1 << 17;

/// `apply_*(var, matmul(a, b))` in one kernel. Inputs: `[a, b, lr]`, plus
/// `[beta1_power, beta2_power]` for Adam; the state is the update's.
#[derive(Debug)]
struct FusedApply {
    rule: Rule,
    transpose_a: bool,
    transpose_b: bool,
    /// The product node's name, for messages.
    product: String,
}

impl FusedApply {
    fn run<T: Float>(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (a, b) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
        let (a, b) = matrix_operands(a, b, self.transpose_a, self.transpose_b)
            .map_err(|e| in_fused(e.into(), &self.product))?;
        let (m, n) = (a.nrows(), b.ncols());
        let threads = if worth_splitting(m, a.ncols(), n) {
            k.threads()
        } else {
            1
        };
        let update = Update::<T>::read(self.rule, k, 2)?;
        let mut state = state_arrays(k, &update, &[m, n])?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        // Blocks that fit in L2; split over threads, at least four per
        // thread, so a thread slowed by a busy core takes fewer of them.
        // (Each block packs `b` again, so one thread takes no more blocks
        // than it must.)
        let mut rows = (BLOCK_ELEMS / n).clamp(1, m);
        if threads > 1 {
            rows = rows.min(m.div_ceil(4 * threads));
        }
        let mut blocks: SmallVec<[_; 4]> = state
            .iter_mut()
            .map(|s| s.axis_chunks_iter_mut(Axis(0), rows))
            .collect();
        let parts = (0..m.div_ceil(rows)).map(move |i| {
            let views: SmallVec<[ArrayViewMut<'_, T, IxDyn>; 4]> = blocks
                .iter_mut()
                .map(|b| b.next().expect("a block of every array"))
                .collect();
            (i * rows, views)
        });
        crate::parallel::for_each(threads, parts, |(first, mut views)| {
            let r = first..(first + rows).min(m);
            with_scratch(r.len() * n, |buf: &mut [T]| {
                let mut g = ArrayViewMut::from_shape(IxDyn(&[r.len(), n]), buf).expect("sized");
                let g2 = g.view_mut().into_dimensionality().expect("2-D");
                mat_mul(a.slice(s![r.clone(), ..]), b, g2, false, None, false);
                // This block is one task of the split: one thread.
                update.apply(&mut views, g.view(), 1);
            });
        });
        Ok(())
    }
}

impl Op for FusedApply {
    fn kind(&self) -> &'static OpKind {
        self.rule.kinds().1
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => self.run::<T>(k))
    }
    fn attrs(&self) -> String {
        format!(
            "{:?}, transpose_a={}, transpose_b={}, fuses {}",
            self.rule, self.transpose_a, self.transpose_b, self.product
        )
    }
}

/// The kernel of `update(product)` where `update` is an `Apply*` node's
/// op whose gradient is `product`, a MatMul node's op; `name` names the
/// product node. Its inputs are the product's, then the update's after
/// the gradient.
pub(crate) fn fused_matmul_apply(update: &dyn Op, product: &dyn Op, name: String) -> Arc<dyn Op> {
    let apply = update.downcast::<Apply>().expect("an Apply op");
    let (transpose_a, transpose_b) = matmul_transposes(product);
    Arc::new(FusedApply {
        rule: apply.rule,
        transpose_a,
        transpose_b,
        product: name,
    })
}
