//! Losses (called as TF was: `labels=`, `logits=` in the listed order).

use super::Built;
use serde_json::Value as Json;
use tensorgraph::{ops, Graph, Tensor};

pub fn build(op: &str, _attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let one = |t: Tensor| Some(Ok(vec![t]));
    match op {
        "tf.nn.softmax_cross_entropy_with_logits_v2" => {
            one(ops::softmax_cross_entropy_with_logits(x[0], x[1]))
        }
        "tf.nn.sparse_softmax_cross_entropy_with_logits" => {
            one(ops::sparse_softmax_cross_entropy_with_logits(x[0], x[1]))
        }
        "tf.nn.sigmoid_cross_entropy_with_logits" => {
            one(ops::sigmoid_cross_entropy_with_logits(x[0], x[1]))
        }
        "tf.nn.l2_loss" => one(ops::l2_loss(x[0])),
        _ => None,
    }
}
