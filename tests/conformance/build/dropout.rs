//! tf.nn.dropout (the keep_prob = 1 identity case; keep_prob < 1 is a
//! "stats" case, see stats.rs).

use super::Built;
use crate::support::attr_f64;
use serde_json::Value as Json;
use tensorgraph::{nn, DType, Graph, Tensor, Value};

pub fn build(op: &str, attrs: &Json, x: &[Tensor], g: &Graph) -> Built {
    if op != "tf.nn.dropout" {
        return None;
    }
    let Some(p) = attr_f64(attrs, "keep_prob") else {
        return Some(Err("dropout without keep_prob".into()));
    };
    // A constant tensor, so the mask op runs (a plain 1.0 would return x).
    let keep_prob = g.constant(Value::from(p).cast(DType::Float32));
    Some(Ok(vec![nn::dropout(x[0], keep_prob)]))
}
