//! `Graph::to_dot`: Graphviz DOT of the forward graph and, optionally, its
//! gradient graph, with one cluster per name scope.

use super::short_dtype;
use crate::graph::{Graph, GraphState, Node};
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// What [`Graph::to_dot`] draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotOptions {
    /// Include gradient nodes (those under the `gradients` scopes), styled
    /// apart and grouped in their own cluster.
    pub gradients: bool,
    /// Draw each top-level name scope as a single node.
    pub collapse_scopes: bool,
    /// Put each node's static shape in its label.
    pub shapes: bool,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions {
            gradients: true,
            collapse_scopes: false,
            shapes: true,
        }
    }
}

impl DotOptions {
    /// The forward graph only.
    pub fn forward() -> DotOptions {
        DotOptions {
            gradients: false,
            ..DotOptions::default()
        }
    }
}

/// True for nodes built by `gradients()`.
pub(crate) fn is_gradient_node(n: &Node) -> bool {
    n.name
        .split('/')
        .next()
        .is_some_and(|s| s == "gradients" || s.starts_with("gradients_"))
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn node_style(n: &Node) -> &'static str {
    let grad = is_gradient_node(n);
    match (n.kind().name, grad) {
        ("Placeholder" | "PlaceholderWithDefault", _) => {
            "shape=invhouse, style=filled, fillcolor=\"#fff2cc\""
        }
        ("VariableV2", _) => "shape=box, style=filled, fillcolor=\"#cfe2f3\"",
        ("Const" | "ZerosLike" | "OnesLike", false) => {
            "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", fontsize=9"
        }
        ("Assign" | "AssignAdd" | "AssignSub" | "NoOp", false) => {
            "shape=box, style=\"rounded,filled\", fillcolor=\"#d9ead3\""
        }
        (_, true) => {
            "shape=box, style=\"rounded,filled,dashed\", color=\"#e69138\", fillcolor=\"#fce5cd\""
        }
        (_, false) => "shape=box, style=rounded",
    }
}

fn label(n: &Node, shapes: bool) -> String {
    let leaf = n.name.rsplit('/').next().unwrap_or(&n.name);
    let mut l = format!("{}\\n{}", n.kind().python, escape(leaf));
    if shapes {
        for s in &n.outputs {
            let _ = write!(l, "\\n{}{}", short_dtype(s.dtype), s.shape);
        }
    }
    l
}

/// Scope path of a node: every name segment but the last.
fn scope_of(name: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    parts
}

#[derive(Default)]
struct ScopeTree {
    nodes: Vec<NodeIndex>,
    children: BTreeMap<String, ScopeTree>,
}

impl ScopeTree {
    fn insert(&mut self, path: &[&str], n: NodeIndex) {
        match path.split_first() {
            None => self.nodes.push(n),
            Some((first, rest)) => self
                .children
                .entry(first.to_string())
                .or_default()
                .insert(rest, n),
        }
    }

    fn write(&self, out: &mut String, st: &GraphState, prefix: &str, shapes: bool, depth: usize) {
        let pad = "  ".repeat(depth);
        for &n in &self.nodes {
            let node = &st.nodes[n];
            let _ = writeln!(
                out,
                "{pad}n{} [label=\"{}\", {}];",
                n.index(),
                label(node, shapes),
                node_style(node)
            );
        }
        for (name, child) in &self.children {
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let grad = full == "gradients" || full.starts_with("gradients_");
            let _ = writeln!(out, "{pad}subgraph \"cluster_{}\" {{", escape(&full));
            let _ = writeln!(out, "{pad}  label=\"{}\";", escape(name));
            if grad {
                let _ = writeln!(out, "{pad}  style=dashed; color=\"#e69138\";");
            } else {
                let _ = writeln!(out, "{pad}  style=rounded; color=\"#999999\";");
            }
            child.write(out, st, &full, shapes, depth + 1);
            let _ = writeln!(out, "{pad}}}");
        }
    }
}

impl Graph {
    /// The graph in Graphviz DOT: placeholders, variables, constants and
    /// ops drawn distinctly, each labelled with its op, name and static
    /// shape; gradient nodes dashed and orange in their own cluster; one
    /// cluster per name scope (or one node per top-level scope with
    /// `collapse_scopes`). Render with `dot -Tsvg`.
    ///
    /// ```
    /// use tensorgraph::{Graph, DType, gradients, viz::DotOptions};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
    /// let y = (x * x).reduce_sum(None, false);
    /// let _ = gradients(&[y], &[x]);
    /// let dot = g.to_dot(&DotOptions::default());
    /// assert!(dot.starts_with("digraph"));
    /// assert!(dot.contains("cluster_gradients"));
    /// assert!(!g.to_dot(&DotOptions::forward()).contains("cluster_gradients"));
    /// ```
    pub fn to_dot(&self, opts: &DotOptions) -> String {
        let st = self.read();
        let keep: Vec<bool> = st
            .nodes
            .node_indices()
            .map(|i| opts.gradients || !is_gradient_node(&st.nodes[i]))
            .collect();
        let mut out = String::from("digraph tensorgraph {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\"];\n");
        // With collapse_scopes, every node of a top-level scope is drawn
        // as that scope's node.
        let group = |i: NodeIndex| -> String {
            let n = &st.nodes[i];
            match scope_of(&n.name).first() {
                Some(s) if opts.collapse_scopes => format!("scope_{}", escape(s)),
                _ => format!("n{}", i.index()),
            }
        };
        if opts.collapse_scopes {
            let mut scopes = BTreeSet::new();
            for i in st.nodes.node_indices().filter(|i| keep[i.index()]) {
                let n = &st.nodes[i];
                match scope_of(&n.name).first() {
                    Some(s) => {
                        scopes.insert(s.to_string());
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "  n{} [label=\"{}\", {}];",
                            i.index(),
                            label(n, opts.shapes),
                            node_style(n)
                        );
                    }
                }
            }
            for s in scopes {
                let style = if s == "gradients" || s.starts_with("gradients_") {
                    "style=\"filled,dashed\", color=\"#e69138\", fillcolor=\"#fce5cd\""
                } else {
                    "style=filled, fillcolor=\"#f3f3f3\""
                };
                let _ = writeln!(
                    out,
                    "  \"scope_{0}\" [label=\"{0}/\", shape=box3d, {style}];",
                    escape(&s)
                );
            }
        } else {
            let mut tree = ScopeTree::default();
            for i in st.nodes.node_indices().filter(|i| keep[i.index()]) {
                tree.insert(&scope_of(&st.nodes[i].name), i);
            }
            tree.write(&mut out, &st, "", opts.shapes, 1);
        }
        let mut seen = BTreeSet::new();
        for i in st.nodes.node_indices().filter(|i| keep[i.index()]) {
            let n = &st.nodes[i];
            let to = group(i);
            for t in &n.inputs {
                if !keep[t.node().index()] {
                    continue;
                }
                let from = group(t.node());
                if from != to && seen.insert((from.clone(), to.clone(), false)) {
                    let _ = writeln!(out, "  \"{from}\" -> \"{to}\";");
                }
            }
            for c in &n.control_inputs {
                if !keep[c.node().index()] {
                    continue;
                }
                let from = group(c.node());
                if from != to && seen.insert((from.clone(), to.clone(), true)) {
                    let _ = writeln!(
                        out,
                        "  \"{from}\" -> \"{to}\" [style=dashed, color=\"#999999\"];"
                    );
                }
            }
        }
        out.push_str("}\n");
        out
    }
}
