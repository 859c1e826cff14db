//! `apply_*(var, matmul(a, b))`: a variable's update whose gradient is a
//! product (a weight matrix's `x^T dy`) computes that product block by
//! block as it updates, so the gradient is never stored. The update node
//! runs where it would, after every reader of the old values, and
//! computes the product there, so no update between the two (nor its
//! own) may change a variable the product reads.

use super::{Chain, Ctx};
use crate::graph::Tensor;
use crate::ops::training::{fused_matmul_apply, UPDATES};
use crate::ops::Variable;
use petgraph::graph::NodeIndex;

/// The chain that starts at the product `node`.
pub(super) fn find(cx: &Ctx<'_>, node: NodeIndex) -> Option<(NodeIndex, Chain)> {
    if !cx.matrix_product(node) {
        return None;
    }
    let n = cx.node(node);
    let product = cx.output(node);
    let r = cx.single_reader(product)?;
    let update = cx.node(r);
    if update.inputs.first() != Some(&product) || !UPDATES.iter().any(|&k| update.op.is(k)) {
        return None;
    }
    let read_vars = |t: &Tensor| cx.node(t.node()).op.downcast::<Variable>().map(|v| v.id);
    let product_vars: Vec<usize> = n.inputs.iter().filter_map(read_vars).collect();
    let changed = cx
        .through(node, r)
        .iter()
        .flat_map(|&u| cx.node(u).op.updates().iter())
        .any(|v| product_vars.contains(v));
    if changed {
        return None;
    }
    let chain = Chain {
        head: r,
        absorbed: vec![node],
        kernel: fused_matmul_apply(update.op.as_ref(), n.op.as_ref(), n.name.clone()),
        inputs: n
            .inputs
            .iter()
            .chain(&update.inputs[1..])
            .copied()
            .collect(),
    };
    Some((r, chain))
}
