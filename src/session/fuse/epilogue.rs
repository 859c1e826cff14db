//! `[max_pool]([relu](product + bias))`: a matrix product or a
//! convolution whose only reader adds a bias row, optionally followed by
//! a relu that alone reads the sum, becomes one product whose bias add and
//! relu are applied while each tile of the output is still in cache,
//! instead of three passes over it. A convolution's max pooling, when it
//! alone reads the activations (in inference; training's pool gradient
//! reads them too), pools each tile there as well, so the activations are
//! never stored whole.

use super::{Chain, Ctx};
use crate::graph::Tensor;
use crate::ops::{fused_conv2d, fused_matmul, ADD, BIAS_ADD, CONV2D, MAX_POOL, RELU};
use petgraph::graph::NodeIndex;

/// The chain that starts at the product or convolution `node`.
pub(super) fn find(cx: &Ctx<'_>, node: NodeIndex) -> Option<(NodeIndex, Chain)> {
    let n = cx.node(node);
    let matmul = cx.matrix_product(node);
    let conv = n.op.is(&CONV2D) && n.outputs[0].dtype.is_float();
    if !matmul && !conv {
        return None;
    }
    let product = cx.output(node);
    let add = cx.single_reader(product)?;
    let bias = bias_operand(cx, add, product)?;
    let sum = cx.output(add);
    let relu = cx.single_reader(sum).filter(|&r| cx.is(r, &RELU));
    let activated = relu.unwrap_or(add);
    let out = cx.output(activated);
    let pool = cx
        .single_reader(out)
        .filter(|&p| conv && cx.is(p, &MAX_POOL));
    let last = pool.unwrap_or(activated);
    if cx.updates_between(node, last) {
        return None;
    }
    let mut names = cx.node(add).name.clone();
    for r in relu.into_iter().chain(pool) {
        names = format!("{names} and {}", cx.node(r).name);
    }
    let kernel = if matmul {
        fused_matmul(n.op.as_ref(), relu.is_some(), names)
    } else {
        let pool = pool.map(|p| cx.node(p).op.as_ref());
        fused_conv2d(n.op.as_ref(), relu.is_some(), pool, names)
    };
    let chain = Chain {
        head: node,
        absorbed: [Some(node), relu.map(|_| add), pool.map(|_| activated)]
            .into_iter()
            .flatten()
            .collect(),
        kernel,
        inputs: vec![n.inputs[0], n.inputs[1], bias],
    };
    Some((last, chain))
}

/// The bias of `add` when it is `product + bias` (or `bias + product`, or
/// `bias_add(product, bias)`) with a bias of rank 1 whose length is the
/// product's last dimension (known, or unknown while the bias is not a
/// single element that the add would broadcast).
fn bias_operand(cx: &Ctx<'_>, add: NodeIndex, product: Tensor) -> Option<Tensor> {
    let n = cx.node(add);
    let sum = n.op.is(&ADD);
    let bias = match *n.inputs.as_slice() {
        [x, b] if (sum || n.op.is(&BIAS_ADD)) && x == product && b != product => b,
        [b, x] if sum && x == product && b != product => b,
        _ => return None,
    };
    let spec = &cx.node(bias.node()).outputs[bias.index()];
    let out = &cx.node(product.node()).outputs[0];
    let same_dtype = spec.dtype == out.dtype;
    let row = spec.shape.rank() == Some(1)
        && out.shape.rank().is_some()
        && match (spec.shape.dim(0), out.shape.dim(-1)) {
            (Some(b), Some(c)) => b == c,
            (Some(b), None) => b != 1,
            (None, _) => false,
        };
    (same_dtype && row).then_some(bias)
}
