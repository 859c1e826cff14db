//! Seeing the graph: a stable text listing, Graphviz DOT (forward and
//! gradient graphs, one cluster per name scope), and explanations of why a
//! gradient is what it is.

mod dot;
mod explain;
mod text;
mod trace;

pub use dot::DotOptions;
pub use explain::GradientExplanation;
pub use trace::{Trace, TraceEntry};

use crate::dtype::DType;

/// TF-Python-style name of an op kind for listings: `MatMul` -> `matmul`,
/// `SoftmaxCrossEntropyWithLogits` -> `softmax_cross_entropy_with_logits`.
pub(crate) fn op_fn_name(kind: &str) -> String {
    let special = match kind {
        "MatMul" | "BatchMatMul" => Some("matmul"),
        "VariableV2" => Some("variable"),
        "Const" => Some("constant"),
        "RealDiv" => Some("divide"),
        "Sub" => Some("subtract"),
        "Mul" => Some("multiply"),
        "Neg" => Some("negative"),
        "Sum" => Some("reduce_sum"),
        "Mean" => Some("reduce_mean"),
        "Max" => Some("reduce_max"),
        "Min" => Some("reduce_min"),
        "Prod" => Some("reduce_prod"),
        "ArgMax" => Some("argmax"),
        "ArgMin" => Some("argmin"),
        "ConcatV2" => Some("concat"),
        "Pack" => Some("stack"),
        "Select" => Some("where"),
        _ => None,
    };
    if let Some(s) = special {
        return s.to_string();
    }
    let mut out = String::with_capacity(kind.len() + 4);
    let chars: Vec<char> = kind.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase())) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::op_fn_name;

    #[test]
    fn op_names_read_like_tf_python() {
        assert_eq!(op_fn_name("MatMul"), "matmul");
        assert_eq!(
            op_fn_name("SoftmaxCrossEntropyWithLogits"),
            "softmax_cross_entropy_with_logits"
        );
        assert_eq!(op_fn_name("AddN"), "add_n");
        assert_eq!(op_fn_name("Relu6"), "relu6");
        assert_eq!(op_fn_name("Placeholder"), "placeholder");
    }
}
