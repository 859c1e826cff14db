//! nn ops.

use super::Built;
use crate::support::attr_f64;
use serde_json::Value as Json;
use tensorgraph::{ops, Graph, Tensor};

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    match op {
        "tf.nn.bias_add" => Some(Ok(vec![ops::bias_add(x[0], x[1])])),
        "tf.nn.batch_normalization" => {
            let eps = attr_f64(attrs, "variance_epsilon").unwrap_or(0.0);
            let y = ops::batch_normalization(
                x[0],
                x[1],
                x[2],
                x.get(3).copied(),
                x.get(4).copied(),
                eps,
            );
            Some(Ok(vec![y]))
        }
        _ => None,
    }
}
