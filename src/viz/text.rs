//! `Graph::to_text`: one line per node in creation (= topological) order.

use super::short_dtype;
use crate::graph::Graph;
use std::fmt::Write;

impl Graph {
    /// A listing of the graph, one line per node in topological order:
    ///
    /// ```text
    /// %7 layer1/MatMul = matmul(%0 X, %3 W1) : f32[?, 200]  (examples/mnist.rs:31)
    /// ```
    ///
    /// Node numbers and names are stable, so listings can be diffed and
    /// used in doc tests. Multi-output inputs print as `%5:1`; control
    /// inputs follow a `^`.
    ///
    /// ```
    /// use tensorgraph::{Graph, DType};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
    /// let _y = x * 2.0;
    /// let text = g.to_text();
    /// let lines: Vec<&str> = text.lines().collect();
    /// assert!(lines[0].starts_with("%0 x = placeholder() : f32[?, 3]"));
    /// assert!(lines[2].starts_with("%2 Mul = multiply(%0 x, %1 Const) : f32[?, 3]"));
    /// ```
    pub fn to_text(&self) -> String {
        let st = self.read();
        let mut out = String::new();
        for idx in st.nodes.node_indices() {
            let n = &st.nodes[idx];
            let mut args: Vec<String> = n
                .inputs
                .iter()
                .map(|t| {
                    let src = &st.nodes[t.node()];
                    if src.outputs.len() > 1 {
                        format!("%{}:{} {}", t.node().index(), t.index(), src.name)
                    } else {
                        format!("%{} {}", t.node().index(), src.name)
                    }
                })
                .collect();
            args.extend(
                n.control_inputs
                    .iter()
                    .map(|o| format!("^%{} {}", o.node().index(), st.nodes[o.node()].name)),
            );
            let attrs = n.op.attrs();
            if !attrs.is_empty() {
                args.push(attrs);
            }
            let outs: Vec<String> = n
                .outputs
                .iter()
                .map(|s| format!("{}{}", short_dtype(s.dtype), s.shape))
                .collect();
            let ty = match outs.len() {
                0 => "()".to_string(),
                1 => outs[0].clone(),
                _ => format!("({})", outs.join(", ")),
            };
            let _ = writeln!(
                out,
                "%{} {} = {}({}) : {}  ({}:{})",
                idx.index(),
                n.name,
                n.kind().python,
                args.join(", "),
                ty,
                n.site.file(),
                n.site.line()
            );
        }
        out
    }
}
