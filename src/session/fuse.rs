//! Finding the node chains one kernel can run (TF grappler's remapper):
//! `matmul(a, b) + bias` or `conv2d(x, w) + bias`, optionally followed by
//! `relu`, becomes one product whose bias add and relu are applied while
//! each tile of the output is still in cache, instead of three passes
//! over it (and a convolution's max pooling, when nothing else reads the
//! activations, pools each tile there too); in the backward pass, the max-pool gradient of a relu's
//! output followed by that relu's gradient becomes one pass; and a
//! variable's update whose gradient is a product (a weight matrix's
//! `x^T dy`) computes that product block by block as it updates, so the
//! gradient is never stored.
//!
//! A chain is fused only when nothing else in the run reads the product or
//! the sum (no other node, fetch or control dependency) and no variable
//! the chain reads is updated between its first node and its last, so the
//! fused kernel computes exactly what the nodes would, in the same order
//! of floating-point operations.

use super::feed::Fetch;
use crate::graph::{GraphState, Tensor};
use crate::op::Op;
use crate::ops::Variable;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;
use std::sync::Arc;

/// Nodes that one kernel computes, as found in a plan.
#[derive(Clone, Debug)]
pub(super) struct Chain {
    /// The node that names the kernel in messages (the product, the
    /// pooling gradient, or the update).
    pub head: NodeIndex,
    /// The chain's nodes before its last one, which need no step.
    pub absorbed: Vec<NodeIndex>,
    /// The kernel, computing the last node's output.
    pub kernel: Arc<dyn Op>,
    /// The kernel's inputs.
    pub inputs: Vec<Tensor>,
}

/// The chains among the `order`ed nodes of a plan, by their last node.
pub(super) fn chains(
    st: &GraphState,
    gid: u32,
    order: &[NodeIndex],
    fed: &HashMap<Tensor, usize>,
    fetches: &[Fetch],
) -> HashMap<NodeIndex, Chain> {
    // How many times each tensor is read in this run; control
    // dependencies and fetches count as reads that forbid fusion.
    let mut reads: HashMap<Tensor, usize> = HashMap::new();
    let mut pinned: Vec<NodeIndex> = Vec::new();
    for &node in order {
        let n = &st.nodes[node];
        for t in n.inputs.iter().filter(|t| !fed.contains_key(t)) {
            *reads.entry(*t).or_default() += 1;
        }
        pinned.extend(n.control_inputs.iter().map(|o| o.node()));
    }
    for f in fetches {
        match f {
            Fetch::Tensor(t) => pinned.push(t.node()),
            Fetch::Op(o) => pinned.push(o.node()),
        }
    }
    let position: HashMap<NodeIndex, usize> =
        order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let only_read_once = |t: Tensor| {
        reads.get(&t) == Some(&1) && !pinned.contains(&t.node()) && !fed.contains_key(&t)
    };
    let kind = |node: NodeIndex| st.nodes[node].op.kind().name;
    // No variable update may run between a chain's first node and its
    // last: the fused kernel reads the first node's operands there.
    let updates_between = |first: NodeIndex, last: NodeIndex| {
        order[position[&first]..position[&last]]
            .iter()
            .any(|&n| !st.nodes[n].op.updates().is_empty())
    };
    // The single reader of a tensor among the plan's nodes.
    let mut reader: HashMap<Tensor, NodeIndex> = HashMap::new();
    for &node in order {
        for &t in &st.nodes[node].inputs {
            reader.insert(t, node);
        }
    }

    // The transposes of a float product of two matrices (the products the
    // fused kernels compute).
    let matrix_product = |node: NodeIndex| {
        let n = &st.nodes[node];
        let matrices = n.inputs.iter().all(|t| {
            let spec = &st.nodes[t.node()].outputs[t.index()];
            spec.shape.rank() == Some(2)
        });
        let transposes = crate::ops::matmul_transposes(n.op.as_ref());
        transposes.filter(|_| matrices && n.outputs[0].dtype.is_float())
    };

    let mut found = HashMap::new();
    for &node in order {
        let n = &st.nodes[node];
        let transposes = matrix_product(node);
        let conv = kind(node) == "Conv2D" && n.outputs[0].dtype.is_float();
        if transposes.is_none() && !conv {
            continue;
        }
        let product = Tensor::new(gid, node, 0);
        if !only_read_once(product) {
            continue;
        }
        let Some(&add) = reader.get(&product) else {
            continue;
        };
        let Some(bias) = bias_operand(st, add, product) else {
            continue;
        };
        let sum = Tensor::new(gid, add, 0);
        let relu = reader
            .get(&sum)
            .copied()
            .filter(|&r| only_read_once(sum) && kind(r) == "Relu");
        let activated = relu.unwrap_or(add);
        // A convolution's max pooling, when it is the only reader (as in
        // inference; training's pool gradient reads the activations too).
        let out = Tensor::new(gid, activated, 0);
        let pool = reader
            .get(&out)
            .copied()
            .filter(|_| transposes.is_none() && only_read_once(out))
            .and_then(|p| Some((p, crate::ops::max_pool_attrs(st.nodes[p].op.as_ref())?)));
        let last = pool.map_or(activated, |(p, _)| p);
        if updates_between(node, last) {
            continue;
        }
        let mut names = st.nodes[add].name.clone();
        for r in relu.into_iter().chain(pool.map(|(p, _)| p)) {
            names = format!("{names} and {}", st.nodes[r].name);
        }
        let kernel = match transposes {
            Some(t) => crate::ops::fused_matmul(t, relu.is_some(), names),
            None => {
                let attrs = pool.map(|(_, a)| a);
                crate::ops::fused_conv2d(n.op.as_ref(), relu.is_some(), attrs, names)
                    .expect("a Conv2D node's op")
            }
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
        found.insert(last, chain);
    }
    // relu_grad(max_pool_grad(y, dy), y) with `y` a relu's output (the
    // CNN's backward pass through `max_pool(relu(...))`).
    for &node in order {
        let n = &st.nodes[node];
        let Some(kernel) = crate::ops::fused_max_pool_relu_grad(n.op.as_ref()) else {
            continue;
        };
        let pooled = Tensor::new(gid, node, 0);
        if !only_read_once(pooled) {
            continue;
        }
        let Some(&r) = reader.get(&pooled) else {
            continue;
        };
        let same_y = st.nodes[r].inputs.as_slice() == [pooled, n.inputs[0]];
        if kind(r) != "ReluGrad" || !same_y || updates_between(node, r) {
            continue;
        }
        let chain = Chain {
            head: node,
            absorbed: vec![node],
            kernel,
            inputs: n.inputs.clone(),
        };
        found.insert(r, chain);
    }
    // apply_*(var, matmul(a, b)): the update node runs where it would,
    // after every reader of the old values, and computes the product
    // there, so no update between the two (nor its own) may change a
    // variable the product reads.
    let read_vars = |t: &Tensor| {
        st.nodes[t.node()]
            .op
            .as_any()
            .downcast_ref::<Variable>()
            .map(|v| v.id)
    };
    for &node in order {
        let n = &st.nodes[node];
        let product = Tensor::new(gid, node, 0);
        let Some(transposes) = matrix_product(node).filter(|_| only_read_once(product)) else {
            continue;
        };
        let Some(&r) = reader.get(&product) else {
            continue;
        };
        let update = &st.nodes[r];
        if update.inputs.first() != Some(&product) {
            continue;
        }
        let product_vars: Vec<usize> = n.inputs.iter().filter_map(read_vars).collect();
        let changed = order[position[&node]..=position[&r]]
            .iter()
            .flat_map(|&u| st.nodes[u].op.updates().iter())
            .any(|v| product_vars.contains(v));
        if changed {
            continue;
        }
        let Some(kernel) = crate::ops::training::fused_matmul_apply(
            update.op.as_ref(),
            transposes,
            n.name.clone(),
        ) else {
            continue;
        };
        let chain = Chain {
            head: r,
            absorbed: vec![node],
            kernel,
            inputs: n
                .inputs
                .iter()
                .chain(&update.inputs[1..])
                .copied()
                .collect(),
        };
        found.insert(r, chain);
    }
    found
}

/// The bias of `add` when it is `product + bias` (or `bias + product`, or
/// `bias_add(product, bias)`) with a bias of rank 1 whose length is the
/// product's last dimension (known, or unknown while the bias is not a
/// single element that the add would broadcast).
fn bias_operand(st: &GraphState, add: NodeIndex, product: Tensor) -> Option<Tensor> {
    let n = &st.nodes[add];
    let bias = match (n.op.kind().name, n.inputs.as_slice()) {
        ("Add" | "BiasAdd", &[x, b]) if x == product && b != product => b,
        ("Add", &[b, x]) if x == product && b != product => b,
        _ => return None,
    };
    let spec = &st.nodes[bias.node()].outputs[bias.index()];
    let out = &st.nodes[product.node()].outputs[0];
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
