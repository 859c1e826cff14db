//! What a run records besides its results: per-kernel times of an
//! ordinary run ([`Session::run_with_stats`]), as TF1's
//! `RunMetadata.step_stats` (what a profile of the real step needs, fused
//! kernels included), and the per-node record of a traced run
//! ([`Session::run_traced`]: shapes, value summaries and times of every
//! node, unfused). [`crate::viz`] formats both.
//!
//! [`Session::run_with_stats`]: crate::Session::run_with_stats
//! [`Session::run_traced`]: crate::Session::run_traced

use crate::dtype::DType;
use crate::error::NodeInfo;
use crate::graph::Graph;
use crate::value::Value;
use petgraph::graph::NodeIndex;
use std::fmt::Write;
use std::time::Duration;

/// One kernel of a run: the node it ran for (for a fused kernel, the node
/// that names it: the product, the pooling gradient or the update), the
/// kernel's op kind (`MatMul`, or a fused kind such as `_FusedMatMul`),
/// and its wall time.
#[derive(Clone, Debug)]
pub struct KernelStats {
    /// The node the kernel ran for.
    pub node: NodeInfo,
    /// The kernel's op kind, `_Fused...` for fused chains.
    pub kernel: &'static str,
    /// Wall time of the kernel.
    pub time: Duration,
}

/// The kernels of one run, in execution order.
#[derive(Clone, Debug, Default)]
pub struct StepStats {
    pub(crate) kernels: Vec<KernelStats>,
}

impl StepStats {
    /// The run's kernels, in execution order.
    pub fn kernels(&self) -> &[KernelStats] {
        &self.kernels
    }

    /// The sum of the kernels' times (the run's time without feeding and
    /// fetching).
    pub fn total(&self) -> Duration {
        self.kernels.iter().map(|k| k.time).sum()
    }

    /// A table of the kernels, slowest first: time, share of the total,
    /// kernel kind and node name.
    ///
    /// ```
    /// use tensorgraph::{feed, DType, Graph, Session};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
    /// let w = g.constant(ndarray::Array2::<f32>::ones((3, 2)).into_dyn());
    /// let y = tensorgraph::nn::relu(x.matmul(w) + g.constant(vec![0.5f32, -9.0]));
    /// let mut s = Session::new(&g);
    /// let xv = ndarray::Array2::<f32>::ones((2, 3));
    /// let (_, stats) = s.run_with_stats(y, &feed! { x => &xv }).unwrap();
    /// // The product, bias add and relu ran as one fused kernel.
    /// assert!(stats.kernels().iter().any(|k| k.kernel == "_FusedMatMul"));
    /// assert!(stats.to_text().contains("_FusedMatMul"));
    /// ```
    pub fn to_text(&self) -> String {
        let total = self.total().as_secs_f64().max(f64::MIN_POSITIVE);
        let mut sorted: Vec<&KernelStats> = self.kernels.iter().collect();
        sorted.sort_by_key(|k| std::cmp::Reverse(k.time));
        let mut out = String::new();
        for k in sorted {
            let t = k.time.as_secs_f64();
            let _ = writeln!(
                out,
                "{:9.4} ms {:5.1}%  {:<28} {}",
                t * 1e3,
                100.0 * t / total,
                k.kernel,
                k.node.name
            );
        }
        let _ = writeln!(out, "{:9.4} ms total", total * 1e3);
        out
    }
}

/// The dtype and concrete shape of one value of a traced run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueDesc {
    /// Element type.
    pub dtype: DType,
    /// Concrete shape.
    pub shape: Vec<usize>,
}

/// What a traced run keeps of one value: the value itself for a single
/// element, else its range and mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueSummary {
    /// No elements.
    Empty,
    /// The only element.
    Scalar(f64),
    /// Smallest, mean and largest element.
    Range {
        /// Smallest element.
        min: f64,
        /// Mean of the elements.
        mean: f64,
        /// Largest element.
        max: f64,
    },
}

impl ValueDesc {
    fn of(v: &Value) -> ValueDesc {
        ValueDesc {
            dtype: v.dtype(),
            shape: v.shape().to_vec(),
        }
    }
}

impl ValueSummary {
    /// The summary of `v`'s elements (as f64).
    pub fn of(v: &Value) -> ValueSummary {
        let a = v.to_array::<f64>();
        match a.len() {
            0 => ValueSummary::Empty,
            1 => ValueSummary::Scalar(a.iter().next().copied().unwrap_or(0.0)),
            n => {
                let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
                for &x in a.iter() {
                    min = min.min(x);
                    max = max.max(x);
                    sum += x;
                }
                ValueSummary::Range {
                    min,
                    mean: sum / n as f64,
                    max,
                }
            }
        }
    }
}

/// What one evaluated node did in a traced run.
#[derive(Clone, Debug)]
pub struct TraceEntry {
    /// The node.
    pub node: NodeInfo,
    pub(crate) index: NodeIndex,
    /// Input dtypes and shapes.
    pub inputs: Vec<ValueDesc>,
    /// Output dtypes and shapes.
    pub outputs: Vec<ValueDesc>,
    /// Per output: its value for one element, else min / mean / max.
    pub summaries: Vec<ValueSummary>,
    /// Time spent in the kernel.
    pub time: Duration,
}

impl TraceEntry {
    pub(super) fn record(
        index: NodeIndex,
        node: &NodeInfo,
        inputs: &[&Value],
        outputs: &[Value],
        time: Duration,
    ) -> TraceEntry {
        TraceEntry {
            node: node.clone(),
            index,
            inputs: inputs.iter().map(|v| ValueDesc::of(v)).collect(),
            outputs: outputs.iter().map(ValueDesc::of).collect(),
            summaries: outputs.iter().map(ValueSummary::of).collect(),
            time,
        }
    }
}

/// The record of a traced run ([`Session::run_traced`](crate::Session::run_traced)):
/// every evaluated node in execution order. `viz` prints it as a table
/// (`Display`) or draws it ([`Trace::to_dot`]).
#[derive(Clone, Debug)]
pub struct Trace {
    pub(crate) graph: Graph,
    pub(crate) entries: Vec<TraceEntry>,
}

impl Trace {
    /// The evaluated nodes, in execution order.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Total kernel time.
    pub fn total_time(&self) -> Duration {
        self.entries.iter().map(|e| e.time).sum()
    }
}
