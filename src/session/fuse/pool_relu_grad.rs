//! `relu_grad(max_pool_grad(y, dy), y)` with `y` a relu's output (the
//! CNN's backward pass through `max_pool(relu(...))`) becomes one pass
//! that routes each window's gradient and applies relu's where it writes.

use super::{Chain, Ctx};
use crate::ops::{fused_max_pool_relu_grad, MAX_POOL_GRAD, RELU_GRAD};
use petgraph::graph::NodeIndex;

/// The chain that starts at the max-pool gradient `node`.
pub(super) fn find(cx: &Ctx<'_>, node: NodeIndex) -> Option<(NodeIndex, Chain)> {
    let n = cx.node(node);
    if !n.op.is(&MAX_POOL_GRAD) {
        return None;
    }
    let pooled = cx.output(node);
    let r = cx.single_reader(pooled)?;
    let same_y = cx.node(r).inputs.as_slice() == [pooled, n.inputs[0]];
    if !cx.is(r, &RELU_GRAD) || !same_y || cx.updates_between(node, r) {
        return None;
    }
    let chain = Chain {
        head: node,
        absorbed: vec![node],
        kernel: fused_max_pool_relu_grad(n.op.as_ref()),
        inputs: n.inputs.clone(),
    };
    Some((r, chain))
}
