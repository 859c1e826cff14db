//! The static graph: nodes (an op, its inputs, static shapes and dtypes,
//! a unique name and the user's line that built it) stored in a petgraph
//! `DiGraph`. Node indices are a topological order: a node's inputs always
//! exist before it, so creation order is a valid execution order.

mod build;
mod names;
mod registry;
mod tensor;

pub(crate) use build::raise;

pub use names::ScopeGuard;
pub use tensor::{Operation, Tensor};

use crate::dtype::{DType, Shape};
use crate::op::{Op, OpKind};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Dtype and static shape of one tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// Element type.
    pub dtype: DType,
    /// Static shape (possibly partly unknown).
    pub shape: Shape,
}

impl TensorSpec {
    /// A spec from a dtype and anything that converts to a [`Shape`].
    pub fn new(dtype: DType, shape: impl Into<Shape>) -> TensorSpec {
        TensorSpec {
            dtype,
            shape: shape.into(),
        }
    }
}

impl std::fmt::Display for TensorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.dtype, self.shape)
    }
}

/// One node of the graph.
#[derive(Debug)]
pub struct Node {
    /// The op it runs.
    pub op: Arc<dyn Op>,
    /// Its data inputs.
    pub inputs: Vec<Tensor>,
    /// Nodes that must run before it (TF's control dependencies).
    pub control_inputs: Vec<Operation>,
    /// Unique name, scopes included (`layer1/MatMul_1`).
    pub name: String,
    /// Dtype and static shape of each output.
    pub outputs: Vec<TensorSpec>,
    /// The user code that built the node.
    pub site: &'static Location<'static>,
}

impl Node {
    /// The op kind.
    pub fn kind(&self) -> &'static OpKind {
        self.op.kind()
    }

    /// The identification used in error messages.
    pub fn info(&self) -> crate::NodeInfo {
        crate::NodeInfo {
            name: self.name.clone(),
            op: self.op.kind(),
            site: self.site,
        }
    }
}

/// The mutable part of a graph, behind its lock.
#[derive(Debug, Default)]
pub(crate) struct GraphState {
    pub nodes: DiGraph<Node, usize>,
    pub names: HashMap<String, NodeIndex>,
    pub name_counts: HashMap<String, usize>,
    pub scopes: Vec<String>,
    pub control_scopes: Vec<Vec<Operation>>,
    pub seed: Option<u64>,
    /// Variable nodes, indexed by variable id.
    pub variables: Vec<NodeIndex>,
    /// Each variable's trainable flag and initializer op, by variable id.
    pub var_meta: Vec<VariableMeta>,
    /// Nodes built by random ops, in creation order; index = rng slot.
    pub random_nodes: Vec<NodeIndex>,
    /// The gradient tensor that the latest `gradients()` call built for
    /// each tensor it reached (used to draw traced values with their
    /// gradients).
    pub grad_of: HashMap<Tensor, Tensor>,
    /// While set, nodes are attributed to this site (gradients() sets it
    /// to its caller so gradient nodes point at the user's line).
    pub site_override: Option<&'static Location<'static>>,
}

/// What the graph knows about one variable.
#[derive(Clone, Debug)]
pub(crate) struct VariableMeta {
    pub initializer: Option<Operation>,
    pub trainable: bool,
}

#[derive(Debug)]
pub(crate) struct GraphShared {
    pub id: u32,
    pub state: RwLock<GraphState>,
    /// Sessions alive on this graph; while non-zero the graph is frozen.
    pub sessions: AtomicUsize,
}

/// A dataflow graph: what TF1 calls `tf.Graph`.
///
/// Cloning a `Graph` gives another handle to the same graph.
///
/// ```
/// use tensorgraph::{Graph, DType, Session, feed};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(2)], "x");
/// let y = (x * 2.0 + 1.0).reduce_sum(None, false);
/// let mut sess = Session::new(&g);
/// let out = sess.run(y, &feed! { x => vec![1.0f32, 2.0].into_iter().collect::<ndarray::Array1<f32>>().into_shape_with_order((1, 2)).unwrap() }).unwrap();
/// assert_eq!(out.scalar::<f32>().unwrap(), 8.0);
/// ```
#[derive(Clone, Debug)]
pub struct Graph {
    pub(crate) shared: Arc<GraphShared>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

impl PartialEq for Graph {
    fn eq(&self, other: &Graph) -> bool {
        self.shared.id == other.shared.id
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        registry::register(|id| GraphShared {
            id,
            state: RwLock::new(GraphState::default()),
            sessions: AtomicUsize::new(0),
        })
    }

    pub(crate) fn id(&self) -> u32 {
        self.shared.id
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, GraphState> {
        self.shared.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, GraphState> {
        self.shared.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the graph-level random seed (TF1's `tf.set_random_seed`).
    ///
    /// Random ops built afterwards take their stream from this seed and
    /// their own op seed, or, when they have none, from their node name
    /// (not their creation index as in TF1), so adding an unrelated op never
    /// changes another op's random numbers.
    pub fn set_random_seed(&self, seed: u64) {
        self.write().seed = Some(seed);
    }

    /// The graph-level seed, if set.
    pub fn random_seed(&self) -> Option<u64> {
        self.read().seed
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.read().nodes.node_count()
    }

    /// True when the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor named `name` (`"layer1/MatMul"` for output 0, or
    /// `"layer1/MatMul:1"`), if there is one.
    pub fn tensor_by_name(&self, name: &str) -> Option<Tensor> {
        let (node, output) = match name.rsplit_once(':') {
            Some((n, k)) => (n, k.parse().ok()?),
            None => (name, 0),
        };
        let st = self.read();
        let idx = *st.names.get(node)?;
        (output < st.nodes[idx].outputs.len()).then(|| Tensor::new(self.id(), idx, output))
    }

    /// The operation named `name`, if there is one.
    pub fn operation_by_name(&self, name: &str) -> Option<Operation> {
        let st = self.read();
        st.names.get(name).map(|&i| Operation::new(self.id(), i))
    }

    /// Calls `f` on every node in creation (= topological) order.
    pub fn for_each_node(&self, mut f: impl FnMut(Operation, &Node)) {
        let st = self.read();
        for i in st.nodes.node_indices() {
            f(Operation::new(self.id(), i), &st.nodes[i]);
        }
    }

    /// Runs `f` with read access to one node.
    pub(crate) fn with_node<R>(&self, node: NodeIndex, f: impl FnOnce(&Node) -> R) -> R {
        f(&self.read().nodes[node])
    }

    /// The spec of a tensor.
    pub fn spec(&self, t: Tensor) -> TensorSpec {
        self.read().nodes[t.node()].outputs[t.index()].clone()
    }

    /// Makes the nodes built while the guard lives depend on `deps`
    /// (TF1's `tf.control_dependencies`).
    pub fn control_dependencies(&self, deps: &[Operation]) -> ControlGuard {
        self.write().control_scopes.push(deps.to_vec());
        ControlGuard {
            graph: self.clone(),
        }
    }

    pub(crate) fn freeze(&self) {
        self.shared.sessions.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn unfreeze(&self) {
        self.shared.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends a [`Graph::control_dependencies`] block when dropped.
#[must_use = "the control dependencies end when the guard is dropped"]
#[derive(Debug)]
pub struct ControlGuard {
    graph: Graph,
}

impl Drop for ControlGuard {
    fn drop(&mut self) {
        self.graph.write().control_scopes.pop();
    }
}

impl GraphState {
    pub fn tensor_name(&self, t: Tensor) -> String {
        let n = &self.nodes[t.node()];
        if n.outputs.len() == 1 {
            n.name.clone()
        } else {
            format!("{}:{}", n.name, t.index())
        }
    }
}
