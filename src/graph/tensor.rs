//! Tensor and operation handles: small `Copy` ids (graph, node, output),
//! so they fit in structs and `a + b` reads like the Python.

use super::{registry, Graph, TensorSpec};
use crate::dtype::{DType, Shape};
use petgraph::graph::NodeIndex;
use std::fmt;

/// A symbolic tensor: one output of one node of a graph.
///
/// Arithmetic operators build nodes in the tensor's graph; a plain number
/// on either side becomes a constant of the tensor's dtype.
///
/// ```
/// use tensorgraph::{Graph, DType};
/// let g = Graph::new();
/// let a = g.placeholder(DType::Float32, [None, Some(3)], "a");
/// let b = -(a * 2.0 + a) / 3.0;
/// assert_eq!(b.shape().to_string(), "[?, 3]");
/// let c = (b.square() + 1.0).log().reduce_mean(-1, false);
/// assert_eq!(c.shape().to_string(), "[?]");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tensor {
    graph: u32,
    node: u32,
    output: u32,
}

/// A node of a graph, fetched for its effect (a training step, an
/// initializer) or to reach its outputs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operation {
    graph: u32,
    node: u32,
}

impl Tensor {
    pub(crate) fn new(graph: u32, node: NodeIndex, output: usize) -> Tensor {
        Tensor {
            graph,
            node: node.index() as u32,
            output: output as u32,
        }
    }

    pub(crate) fn graph_id(self) -> u32 {
        self.graph
    }

    pub(crate) fn node(self) -> NodeIndex {
        NodeIndex::new(self.node as usize)
    }

    /// Which output of its node this tensor is.
    pub fn index(self) -> usize {
        self.output as usize
    }

    /// The graph the tensor belongs to.
    pub fn graph(self) -> Graph {
        registry::lookup(self.graph)
    }

    /// The node that produces the tensor.
    pub fn op(self) -> Operation {
        Operation {
            graph: self.graph,
            node: self.node,
        }
    }

    /// The tensor's name: its node's name, with `:k` for output k > 0 of
    /// multi-output nodes.
    pub fn name(self) -> String {
        self.graph().read().tensor_name(self)
    }

    /// The static dtype and shape.
    pub fn spec(self) -> TensorSpec {
        self.graph().spec(self)
    }

    /// The element type.
    pub fn dtype(self) -> DType {
        self.spec().dtype
    }

    /// The static shape (TF1's `get_shape()`).
    pub fn shape(self) -> Shape {
        self.spec().shape
    }
}

impl Operation {
    pub(crate) fn new(graph: u32, node: NodeIndex) -> Operation {
        Operation {
            graph,
            node: node.index() as u32,
        }
    }

    pub(crate) fn graph_id(self) -> u32 {
        self.graph
    }

    pub(crate) fn node(self) -> NodeIndex {
        NodeIndex::new(self.node as usize)
    }

    /// The graph the operation belongs to.
    pub fn graph(self) -> Graph {
        registry::lookup(self.graph)
    }

    /// Output `k` of the node.
    ///
    /// # Panics
    /// When the node has no output `k`.
    #[track_caller]
    pub fn output(self, k: usize) -> Tensor {
        let n = self.graph().with_node(self.node(), |n| n.outputs.len());
        assert!(k < n, "{} has {n} outputs, not {}", self.name(), k + 1);
        Tensor::new(self.graph, self.node(), k)
    }

    /// All outputs of the node.
    pub fn outputs(self) -> Vec<Tensor> {
        let n = self.graph().with_node(self.node(), |n| n.outputs.len());
        (0..n)
            .map(|k| Tensor::new(self.graph, self.node(), k))
            .collect()
    }

    /// The node's unique name.
    pub fn name(self) -> String {
        self.graph().with_node(self.node(), |n| n.name.clone())
    }

    /// The op kind (`MatMul`, `Placeholder`, ...).
    pub fn kind(self) -> &'static str {
        self.graph().with_node(self.node(), |n| n.kind().name)
    }

    /// The node's data inputs.
    pub fn inputs(self) -> Vec<Tensor> {
        self.graph().with_node(self.node(), |n| n.inputs.clone())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(g{}:%{}:{})", self.graph, self.node, self.output)
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Operation(g{}:%{})", self.graph, self.node)
    }
}

impl From<Tensor> for Operation {
    fn from(t: Tensor) -> Operation {
        t.op()
    }
}
