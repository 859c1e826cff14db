//! Finding the node chains one kernel can run (TF grappler's remapper):
//! `matmul(a, b) + bias`, optionally followed by `relu`, becomes one
//! product whose bias add and relu are applied while each tile of the
//! output is still in cache, instead of three passes over it.
//!
//! A chain is fused only when nothing else in the run reads the product or
//! the sum (no other node, fetch or control dependency) and no variable is
//! updated between the product and the chain's last node, so the fused
//! kernel computes exactly what the nodes would, in the same order of
//! floating-point operations.

use super::feed::Fetch;
use crate::graph::{GraphState, Tensor};
use petgraph::graph::NodeIndex;
use std::collections::HashMap;

/// `[relu](matmul(a, b) + bias)` as found in a plan.
#[derive(Clone, Copy, Debug)]
pub(super) struct Chain {
    /// The product node (its inputs are the fused kernel's first two).
    pub matmul: NodeIndex,
    /// The product's `(transpose_a, transpose_b)`.
    pub transposes: (bool, bool),
    /// The add node.
    pub add: NodeIndex,
    /// The relu node, if fused.
    pub relu: Option<NodeIndex>,
    /// The bias operand of the add.
    pub bias: Tensor,
}

impl Chain {
    /// The node whose output the fused kernel produces.
    pub fn last(&self) -> NodeIndex {
        self.relu.unwrap_or(self.add)
    }
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
    // The single reader of a tensor among the plan's nodes.
    let mut reader: HashMap<Tensor, NodeIndex> = HashMap::new();
    for &node in order {
        for &t in &st.nodes[node].inputs {
            reader.insert(t, node);
        }
    }

    let mut found = HashMap::new();
    for &node in order {
        let n = &st.nodes[node];
        let Some(transposes) = crate::ops::matmul_transposes(n.op.as_ref()) else {
            continue;
        };
        let matrices = n.inputs.iter().all(|t| {
            let spec = &st.nodes[t.node()].outputs[t.index()];
            spec.shape.rank() == Some(2)
        });
        if !matrices || !n.outputs[0].dtype.is_float() {
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
        let mut chain = Chain {
            matmul: node,
            transposes,
            add,
            relu: None,
            bias,
        };
        let sum = Tensor::new(gid, add, 0);
        if only_read_once(sum) {
            if let Some(&r) = reader.get(&sum) {
                if kind(r) == "Relu" {
                    chain.relu = Some(r);
                }
            }
        }
        // No variable update may run between the product's place and the
        // chain's end: the fused kernel reads its operands there.
        let (from, to) = (position[&node], position[&chain.last()]);
        let updates_between = order[from..to]
            .iter()
            .any(|&n| !st.nodes[n].op.updates().is_empty());
        if !updates_between {
            found.insert(chain.last(), chain);
        }
    }
    found
}

/// The bias of `add` when it is `product + bias` (or `bias + product`, or
/// `bias_add(product, bias)`) with a bias of rank 1 whose length is the
/// product's column count (known, or unknown while the bias is not a
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
        && out.shape.rank() == Some(2)
        && match (spec.shape.dim(0), out.shape.dim(1)) {
            (Some(b), Some(c)) => b == c,
            (Some(b), None) => b != 1,
            (None, _) => false,
        };
    (same_dtype && row).then_some(bias)
}
