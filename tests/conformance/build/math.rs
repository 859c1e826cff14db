//! tf.math ops: arithmetic, pow, maximum/minimum, unary math, matmul,
//! cast, comparisons, where and clip_by_value.

use super::Built;
use crate::support::{attr_bool, attr_f64};
use serde_json::Value as Json;
use tensorgraph::{ops, DType, Graph, Tensor};

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let one = |t: Tensor| Some(Ok(vec![t]));
    match op {
        "tf.add" => one(ops::add(x[0], x[1])),
        "tf.subtract" => one(ops::subtract(x[0], x[1])),
        "tf.multiply" => one(ops::multiply(x[0], x[1])),
        "tf.divide" | "tf.realdiv" => one(ops::divide(x[0], x[1])),
        "tf.pow" => one(ops::pow(x[0], x[1])),
        "tf.maximum" => one(ops::maximum(x[0], x[1])),
        "tf.minimum" => one(ops::minimum(x[0], x[1])),
        "tf.negative" => one(ops::negative(x[0])),
        "tf.abs" => one(ops::abs(x[0])),
        "tf.sign" => one(ops::sign(x[0])),
        "tf.square" => one(ops::square(x[0])),
        "tf.sqrt" => one(ops::sqrt(x[0])),
        "tf.rsqrt" => one(ops::rsqrt(x[0])),
        "tf.exp" => one(ops::exp(x[0])),
        "tf.sin" => one(ops::sin(x[0])),
        "tf.cos" => one(ops::cos(x[0])),
        "tf.log" => one(ops::log(x[0])),
        "tf.reciprocal" => one(ops::reciprocal(x[0])),
        "tf.identity" => one(ops::identity(x[0])),
        "tf.stop_gradient" => one(ops::stop_gradient(x[0])),
        "tf.matmul" => one(ops::matmul(
            x[0],
            x[1],
            attr_bool(attrs, "transpose_a", false),
            attr_bool(attrs, "transpose_b", false),
        )),
        "tf.add_n" => one(ops::add_n(x)),
        "tf.cast" => {
            let name = attrs.get("dtype").and_then(Json::as_str).unwrap_or("?");
            match DType::from_name(name) {
                Some(dt) => one(ops::cast(x[0], dt)),
                None => Some(Err(format!("unknown cast dtype {name}"))),
            }
        }
        "tf.equal" => one(ops::equal(x[0], x[1])),
        "tf.not_equal" => one(ops::not_equal(x[0], x[1])),
        "tf.less" => one(ops::less(x[0], x[1])),
        "tf.less_equal" => one(ops::less_equal(x[0], x[1])),
        "tf.greater" => one(ops::greater(x[0], x[1])),
        "tf.greater_equal" => one(ops::greater_equal(x[0], x[1])),
        "tf.logical_and" => one(ops::logical_and(x[0], x[1])),
        "tf.logical_or" => one(ops::logical_or(x[0], x[1])),
        "tf.logical_not" => one(ops::logical_not(x[0])),
        "tf.where" => one(ops::where_(x[0], x[1], x[2])),
        "tf.clip_by_value" => {
            let bound = |key: &str, i: usize| {
                attr_f64(attrs, key)
                    .map(|v| ops::scalar_like(v, x[0]))
                    .or(x.get(i).copied())
            };
            match (bound("clip_value_min", 1), bound("clip_value_max", 2)) {
                (Some(lo), Some(hi)) => one(ops::clip_by_value(x[0], lo, hi)),
                _ => Some(Err(
                    "clip_by_value needs clip_value_min and clip_value_max".into()
                )),
            }
        }
        _ => None,
    }
}
