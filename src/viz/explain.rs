//! `Graph::explain_gradient`: why `gradients(y, x)` is what it is.

use crate::graph::{Graph, GraphState, Tensor};
use petgraph::graph::NodeIndex;
use std::collections::VecDeque;
use std::fmt;

/// Why a gradient of `y` with respect to `x` exists or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GradientExplanation {
    /// Gradients flow; `path` is one shortest chain of node names from
    /// `x` to `y` through differentiable ops.
    Flows {
        /// `x`'s name.
        x: String,
        /// `y`'s name.
        y: String,
        /// Node names from x to y.
        path: Vec<String>,
    },
    /// No chain of data edges leads from `x` to `y`.
    NotConnected {
        /// `x`'s name.
        x: String,
        /// `y`'s name.
        y: String,
    },
    /// `x` reaches `y`, but every path is cut by a node with no gradient
    /// (or by an integer or bool tensor).
    Blocked {
        /// `x`'s name.
        x: String,
        /// `y`'s name.
        y: String,
        /// Each cut: (TF function name, node name, why).
        cuts: Vec<(String, String, String)>,
    },
}

impl fmt::Display for GradientExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradientExplanation::Flows { x, y, path } => {
                write!(f, "the gradient flows from `{x}` to `{y}` along {}", path.join(" -> "))
            }
            GradientExplanation::NotConnected { x, y } => write!(
                f,
                "`{x}` does not reach `{y}`: no chain of inputs leads from it to `{y}`, so the gradient is None"
            ),
            GradientExplanation::Blocked { x, y, cuts } => {
                write!(f, "every path from `{x}` to `{y}` is cut, so the gradient is None: ")?;
                let parts: Vec<String> = cuts
                    .iter()
                    .map(|(func, node, why)| format!("the path passes through `{func}` (node `{node}`), {why}"))
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

impl GradientExplanation {
    /// True when a gradient flows.
    pub fn flows(&self) -> bool {
        matches!(self, GradientExplanation::Flows { .. })
    }
}

/// Nodes from which `y`'s node is reachable (walking inputs backwards),
/// optionally only through edges gradients can cross.
fn ancestors(st: &GraphState, y: NodeIndex, differentiable_only: bool) -> Vec<bool> {
    let mut seen = vec![false; st.nodes.node_count()];
    seen[y.index()] = true;
    let mut stack = vec![y];
    while let Some(n) = stack.pop() {
        let node = &st.nodes[n];
        if differentiable_only && !node.kind().differentiable {
            continue;
        }
        for t in &node.inputs {
            let float = st.nodes[t.node()].outputs[t.index()].dtype.is_float();
            if (!differentiable_only || float) && !seen[t.node().index()] {
                seen[t.node().index()] = true;
                stack.push(t.node());
            }
        }
    }
    seen
}

impl Graph {
    /// Explains `gradients(&[y], &[x])`: the path the gradient takes,
    /// that `x` does not reach `y`, or which non-differentiable nodes cut
    /// every path (`argmax`, comparisons, casts to integers, ...).
    ///
    /// ```
    /// use tensorgraph::{Graph, DType, ops};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
    /// let y = (x * 2.0).reduce_sum(None, false);
    /// assert!(g.explain_gradient(y, x).flows());
    /// let n = ops::cast(ops::cast(x, DType::Int32), DType::Float32).reduce_sum(None, false);
    /// let why = g.explain_gradient(n, x).to_string();
    /// assert!(why.contains("the path passes through"), "{why}");
    /// ```
    pub fn explain_gradient(&self, y: Tensor, x: Tensor) -> GradientExplanation {
        let st = self.read();
        let (xn, yn) = (x.node(), y.node());
        let names = (st.tensor_name(x), st.tensor_name(y));
        let reach = ancestors(&st, yn, false);
        if !reach[xn.index()] {
            return GradientExplanation::NotConnected {
                x: names.0,
                y: names.1,
            };
        }
        let flow = ancestors(&st, yn, true);
        if flow[xn.index()] && x.dtype().is_float() {
            return GradientExplanation::Flows {
                x: names.0,
                y: names.1,
                path: shortest_path(&st, xn, yn, &flow),
            };
        }
        // Nodes on some x -> y path where the gradient stops.
        let n = st.nodes.node_count();
        let mut from_x = vec![false; n];
        from_x[xn.index()] = true;
        for i in xn.index()..n {
            let node = &st.nodes[NodeIndex::new(i)];
            if !from_x[i] {
                from_x[i] = node.inputs.iter().any(|t| from_x[t.node().index()]);
            }
        }
        let mut cuts = Vec::new();
        for i in xn.index()..=yn.index() {
            if !(from_x[i] && reach[i]) {
                continue;
            }
            let node = &st.nodes[NodeIndex::new(i)];
            let func = node.kind().python.to_string();
            if !node.kind().differentiable && i != xn.index() {
                cuts.push((func, node.name.clone(), "which has no gradient".to_string()));
            } else if node.outputs.iter().all(|s| !s.dtype.is_float()) && i != yn.index() {
                let dt = node.outputs.first().map(|s| s.dtype.name()).unwrap_or("no");
                cuts.push((
                    func,
                    node.name.clone(),
                    format!("whose {dt} output carries no gradient"),
                ));
            }
        }
        GradientExplanation::Blocked {
            x: names.0,
            y: names.1,
            cuts,
        }
    }
}

/// A shortest chain of node names from `x` to `y` within `allowed`.
fn shortest_path(st: &GraphState, x: NodeIndex, y: NodeIndex, allowed: &[bool]) -> Vec<String> {
    let n = st.nodes.node_count();
    let mut prev: Vec<Option<NodeIndex>> = vec![None; n];
    let mut seen = vec![false; n];
    let mut queue = VecDeque::from([x]);
    seen[x.index()] = true;
    while let Some(cur) = queue.pop_front() {
        if cur == y {
            break;
        }
        for next in st
            .nodes
            .neighbors_directed(cur, petgraph::Direction::Outgoing)
        {
            if allowed[next.index()] && !seen[next.index()] {
                seen[next.index()] = true;
                prev[next.index()] = Some(cur);
                queue.push_back(next);
            }
        }
    }
    let mut path = vec![st.nodes[y].name.clone()];
    let mut cur = y;
    while let Some(p) = prev[cur.index()] {
        path.push(st.nodes[p].name.clone());
        cur = p;
    }
    path.reverse();
    path
}
