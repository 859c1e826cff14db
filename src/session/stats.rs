//! Per-kernel times of an ordinary run ([`Session::run_with_stats`]), as
//! TF1's `RunMetadata.step_stats`: what a profile of the real step needs,
//! fused kernels included, without the recording of values that makes
//! [`Session::run_traced`] slower.
//!
//! [`Session::run_with_stats`]: crate::Session::run_with_stats
//! [`Session::run_traced`]: crate::Session::run_traced

use crate::error::NodeInfo;
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
