//! tf.math ops.

use super::Built;
use crate::support::attr_bool;
use serde_json::Value as Json;
use tensorgraph::{ops, Graph, Tensor};

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let one = |t: Tensor| Some(Ok(vec![t]));
    match op {
        "tf.add" => one(ops::add(x[0], x[1])),
        "tf.subtract" => one(ops::subtract(x[0], x[1])),
        "tf.multiply" => one(ops::multiply(x[0], x[1])),
        "tf.divide" | "tf.realdiv" => one(ops::divide(x[0], x[1])),
        "tf.negative" => one(ops::negative(x[0])),
        "tf.matmul" => one(ops::matmul(
            x[0],
            x[1],
            attr_bool(attrs, "transpose_a", false),
            attr_bool(attrs, "transpose_b", false),
        )),
        "tf.add_n" => one(ops::add_n(x)),
        _ => None,
    }
}
