//! Activations, softmax and moments (tf.nn).

use super::reduce::axes_attr;
use super::Built;
use crate::support::{attr_bool, attr_f64};
use serde_json::Value as Json;
use tensorgraph::{ops, Graph, Tensor};

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let one = |t: Tensor| Some(Ok(vec![t]));
    let axis = || attrs.get("axis").and_then(Json::as_i64).unwrap_or(-1) as isize;
    match op {
        "tf.nn.relu" => one(ops::relu(x[0])),
        "tf.nn.relu6" => one(ops::relu6(x[0])),
        "tf.nn.leaky_relu" => one(ops::leaky_relu(
            x[0],
            attr_f64(attrs, "alpha").unwrap_or(0.2),
        )),
        "tf.nn.elu" => one(ops::elu(x[0])),
        "tf.sigmoid" | "tf.nn.sigmoid" => one(ops::sigmoid(x[0])),
        "tf.tanh" | "tf.nn.tanh" => one(ops::tanh(x[0])),
        "tf.nn.softplus" => one(ops::softplus(x[0])),
        "tf.nn.softmax" => one(ops::softmax(x[0], axis())),
        "tf.nn.log_softmax" => one(ops::log_softmax(x[0], axis())),
        "tf.nn.moments" => Some(axes_attr(attrs, "axes").map(|axes| {
            let (mean, variance) = ops::moments(x[0], axes, attr_bool(attrs, "keepdims", false));
            vec![mean, variance]
        })),
        _ => None,
    }
}
