//! Traced runs: every evaluated node with its shapes, a value summary and
//! its time, printable as a table or drawn as a graph whose nodes show
//! their values (and gradients, when the run computed them), like
//! micrograd's pictures.

use super::short_dtype;
use crate::dtype::fmt_dims;
use crate::graph::Tensor;
use crate::session::{Trace, TraceEntry, ValueDesc, ValueSummary};
use petgraph::graph::NodeIndex;
use std::collections::HashMap;
use std::fmt::{self, Write};

impl fmt::Display for ValueDesc {
    /// `f32[128, 784]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", short_dtype(self.dtype), fmt_dims(&self.shape))
    }
}

impl fmt::Display for ValueSummary {
    /// `3.2500` for one element; `min -1.2000 / mean 0.0300 / max 2.1000`
    /// otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ValueSummary::Empty => f.write_str("empty"),
            ValueSummary::Scalar(x) => write!(f, "{x:.4}"),
            ValueSummary::Range { min, mean, max } => {
                write!(f, "min {min:.4} / mean {mean:.4} / max {max:.4}")
            }
        }
    }
}

impl Trace {
    /// The graph of the evaluated forward nodes as Graphviz DOT, each node
    /// showing its value summary and, when the run also computed the
    /// gradient `gradients()` built for it, that gradient's summary.
    pub fn to_dot(&self) -> String {
        let st = self.graph.read();
        let by_node: HashMap<NodeIndex, &TraceEntry> =
            self.entries.iter().map(|e| (e.index, e)).collect();
        let grad_summary = |t: Tensor| -> Option<String> {
            let g = st.grad_of.get(&t)?;
            by_node
                .get(&g.node())
                .map(|e| e.summaries[g.index()].to_string())
        };
        let gid = self.graph.id();
        let mut out = String::from(
            "digraph trace {\n  rankdir=LR;\n  node [shape=record, fontname=\"Helvetica\", fontsize=10];\n",
        );
        let shown: Vec<&TraceEntry> = self
            .entries
            .iter()
            .filter(|e| !super::dot::is_gradient_node(&st.nodes[e.index]))
            .collect();
        for e in &shown {
            let t = Tensor::new(gid, e.index, 0);
            let mut fields = vec![
                format!("{} {}", e.node.op.python, e.node.name),
                match e.summaries.first() {
                    Some(s) => format!("data {s}"),
                    None => "data ()".to_string(),
                },
            ];
            if let Some(g) = grad_summary(t) {
                fields.push(format!("grad {g}"));
            }
            let label: Vec<String> = fields.iter().map(|f| escape_record(f)).collect();
            let _ = writeln!(
                out,
                "  n{} [label=\"{{{}}}\"];",
                e.index.index(),
                label.join(" | ")
            );
        }
        for e in &shown {
            for t in &st.nodes[e.index].inputs {
                if by_node.contains_key(&t.node()) {
                    let _ = writeln!(out, "  n{} -> n{};", t.node().index(), e.index.index());
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

fn escape_record(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '{' | '}' | '|' | '<' | '>' | '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

impl fmt::Display for Trace {
    /// One line per evaluated node: name, op, shapes, value, time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(
                f,
                "{:<32} {:<14} ({}) -> {}  {}  {:.1?}",
                e.node.name,
                e.node.op.python,
                join(&e.inputs),
                join(&e.outputs),
                join(&e.summaries),
                e.time
            )?;
        }
        Ok(())
    }
}

/// `items` displayed, separated by commas.
fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
