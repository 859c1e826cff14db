//! Finding the node chains one kernel can run (TF grappler's remapper).
//! This file is the driver: it counts the reads of each tensor in the
//! run, and offers each [`PATTERNS`] entry every node of the plan in
//! order; a pattern recognises ops by kind (`op.is(&RELU)`) and answers
//! with the chain that ends at some node and the fused kernel for it.
//! Adding a fusion is one file here and one line in [`PATTERNS`].
//!
//! The invariant every pattern keeps, with the checks of [`Ctx`]: a chain
//! is fused only when nothing else in the run reads its intermediate
//! values (no other node, fetch or control dependency) and no variable
//! the chain reads is updated between its first node and its last, so the
//! fused kernel computes exactly what the nodes would, in the same order
//! of floating-point operations.

mod epilogue;
mod pool_relu_grad;
mod update;

use super::feed::Fetch;
use crate::graph::{GraphState, Node, Tensor};
use crate::op::{Op, OpKind};
use crate::ops::MATMUL;
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

/// A fusion: given a node of the plan, the chain it starts (or ends) and
/// that chain's last node, whose step the fused kernel takes.
type Pattern = fn(&Ctx<'_>, NodeIndex) -> Option<(NodeIndex, Chain)>;

/// Every fusion, tried in this order over all nodes each; a later
/// pattern's chain replaces an earlier one's with the same last node.
const PATTERNS: &[Pattern] = &[epilogue::find, pool_relu_grad::find, update::find];

/// What a pattern sees of the plan being compiled.
pub(super) struct Ctx<'a> {
    st: &'a GraphState,
    gid: u32,
    /// The plan's nodes in execution order.
    order: &'a [NodeIndex],
    fed: &'a HashMap<Tensor, usize>,
    /// How many times each unfed tensor is read in this run.
    reads: HashMap<Tensor, usize>,
    /// Nodes whose outputs a fetch or a control dependency needs.
    pinned: Vec<NodeIndex>,
    /// Each node's place in `order`.
    position: HashMap<NodeIndex, usize>,
    /// A reader of each tensor among the plan's nodes (the only one when
    /// [`Ctx::only_read_once`] holds).
    reader: HashMap<Tensor, NodeIndex>,
}

impl<'a> Ctx<'a> {
    fn new(
        st: &'a GraphState,
        gid: u32,
        order: &'a [NodeIndex],
        fed: &'a HashMap<Tensor, usize>,
        fetches: &[Fetch],
    ) -> Ctx<'a> {
        // Control dependencies and fetches count as reads that forbid
        // fusion.
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
        let position = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut reader = HashMap::new();
        for &node in order {
            for &t in &st.nodes[node].inputs {
                reader.insert(t, node);
            }
        }
        Ctx {
            st,
            gid,
            order,
            fed,
            reads,
            pinned,
            position,
            reader,
        }
    }

    /// The graph node at `node`.
    fn node(&self, node: NodeIndex) -> &'a Node {
        &self.st.nodes[node]
    }

    /// Whether `node`'s op is of `kind`.
    fn is(&self, node: NodeIndex, kind: &'static OpKind) -> bool {
        self.node(node).op.is(kind)
    }

    /// The first output of `node`.
    fn output(&self, node: NodeIndex) -> Tensor {
        Tensor::new(self.gid, node, 0)
    }

    /// Whether exactly one node of the run reads `t`, and no fetch,
    /// control dependency or feed needs it: a fused kernel may then
    /// leave it unstored.
    fn only_read_once(&self, t: Tensor) -> bool {
        self.reads.get(&t) == Some(&1)
            && !self.pinned.contains(&t.node())
            && !self.fed.contains_key(&t)
    }

    /// The only reader of `t` (see [`Ctx::only_read_once`]), or `None`.
    fn single_reader(&self, t: Tensor) -> Option<NodeIndex> {
        self.reader
            .get(&t)
            .copied()
            .filter(|_| self.only_read_once(t))
    }

    /// The nodes from `first` up to `last` (both included) in run order.
    fn through(&self, first: NodeIndex, last: NodeIndex) -> &'a [NodeIndex] {
        &self.order[self.position[&first]..=self.position[&last]]
    }

    /// Whether a variable update runs from `first` up to (not including)
    /// `last`: the kernel fused from `first` to `last` reads `first`'s
    /// operands when `last` runs, so none may change before.
    fn updates_between(&self, first: NodeIndex, last: NodeIndex) -> bool {
        self.order[self.position[&first]..self.position[&last]]
            .iter()
            .any(|&n| !self.node(n).op.updates().is_empty())
    }

    /// Whether `node` is a float product of two matrices (the products
    /// the fused kernels compute).
    fn matrix_product(&self, node: NodeIndex) -> bool {
        let n = self.node(node);
        let matrices = n.inputs.iter().all(|t| {
            let spec = &self.node(t.node()).outputs[t.index()];
            spec.shape.rank() == Some(2)
        });
        n.op.is(&MATMUL) && matrices && n.outputs[0].dtype.is_float()
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
    let cx = Ctx::new(st, gid, order, fed, fetches);
    let mut found = HashMap::new();
    for pattern in PATTERNS {
        for &node in order {
            if let Some((last, chain)) = pattern(&cx, node) {
                found.insert(last, chain);
            }
        }
    }
    found
}
