//! Seeing the graph: a stable text listing, Graphviz DOT (forward and
//! gradient graphs, one cluster per name scope), and explanations of why a
//! gradient is what it is.

mod dot;
mod explain;
mod text;
mod trace;

pub use crate::session::{Trace, TraceEntry};
pub use dot::DotOptions;
pub use explain::GradientExplanation;

use crate::dtype::DType;

/// `f32`, `f64`, `i32`, `i64`, `bool`.
pub(crate) fn short_dtype(d: DType) -> &'static str {
    match d {
        DType::Float32 => "f32",
        DType::Float64 => "f64",
        DType::Int32 => "i32",
        DType::Int64 => "i64",
        DType::Bool => "bool",
    }
}
