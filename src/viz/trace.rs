//! Traced runs: every evaluated node with its shapes, a value summary and
//! its time, printable as a table or drawn as a graph whose nodes show
//! their values (and gradients, when the run computed them), like
//! micrograd's pictures.

use super::{op_fn_name, short_dtype};
use crate::error::NodeInfo;
use crate::graph::{Graph, Tensor};
use crate::value::Value;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;
use std::fmt::{self, Write};
use std::time::Duration;

/// What one evaluated node did in a traced run.
#[derive(Clone, Debug)]
pub struct TraceEntry {
    /// The node.
    pub node: NodeInfo,
    index: NodeIndex,
    /// Input dtypes and shapes, `f32[128, 784]`.
    pub inputs: Vec<String>,
    /// Per output: dtype and shape.
    pub outputs: Vec<String>,
    /// Per output: the value for scalars, else min / mean / max.
    pub summaries: Vec<String>,
    /// Time spent in the kernel.
    pub time: Duration,
}

fn describe(v: &Value) -> String {
    format!(
        "{}{}",
        short_dtype(v.dtype()),
        crate::dtype::fmt_dims(v.shape())
    )
}

/// `3.25` for a scalar; `min -1.2 / mean 0.03 / max 2.1` otherwise.
pub(crate) fn summarize(v: &Value) -> String {
    let a = v.to_array::<f64>();
    if a.len() == 1 {
        return format!("{:.4}", a.iter().next().copied().unwrap_or(0.0));
    }
    if a.is_empty() {
        return "empty".into();
    }
    let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &x in a.iter() {
        lo = lo.min(x);
        hi = hi.max(x);
        sum += x;
    }
    format!(
        "min {lo:.4} / mean {:.4} / max {hi:.4}",
        sum / a.len() as f64
    )
}

impl TraceEntry {
    pub(crate) fn record(
        index: NodeIndex,
        node: &NodeInfo,
        inputs: &[&Value],
        outputs: &[Value],
        time: Duration,
    ) -> TraceEntry {
        TraceEntry {
            node: node.clone(),
            index,
            inputs: inputs.iter().map(|v| describe(v)).collect(),
            outputs: outputs.iter().map(describe).collect(),
            summaries: outputs.iter().map(summarize).collect(),
            time,
        }
    }
}

/// The record of a traced run ([`Session::run_traced`](crate::Session::run_traced)).
#[derive(Clone, Debug)]
pub struct Trace {
    graph: Graph,
    entries: Vec<TraceEntry>,
}

impl Trace {
    pub(crate) fn new(graph: &Graph, entries: Vec<TraceEntry>) -> Trace {
        Trace {
            graph: graph.clone(),
            entries,
        }
    }

    /// The evaluated nodes, in execution order.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Total kernel time.
    pub fn total_time(&self) -> Duration {
        self.entries.iter().map(|e| e.time).sum()
    }

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
                .map(|e| e.summaries[g.index()].clone())
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
                format!("{} {}", op_fn_name(e.node.op), e.node.name),
                format!(
                    "data {}",
                    e.summaries.first().map(String::as_str).unwrap_or("()")
                ),
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
                op_fn_name(e.node.op),
                e.inputs.join(", "),
                e.outputs.join(", "),
                e.summaries.join(", "),
                e.time
            )?;
        }
        Ok(())
    }
}
