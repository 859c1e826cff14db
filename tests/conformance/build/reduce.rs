//! Reductions, argmax/argmin.

use super::Built;
use crate::support::attr_bool;
use serde_json::Value as Json;
use tensorgraph::ops::Axes;
use tensorgraph::{ops, DType, Graph, Tensor};

/// An axes attribute: absent or `null` (all axes), an integer or a list.
pub fn axes_attr(attrs: &Json, key: &str) -> Result<Axes, String> {
    let axis = |j: &Json| {
        j.as_i64()
            .map(|a| a as isize)
            .ok_or_else(|| format!("{key}: {j} is not an axis"))
    };
    match attrs.get(key) {
        None | Some(Json::Null) => Ok(Axes(None)),
        Some(Json::Array(list)) => Ok(Axes(Some(list.iter().map(axis).collect::<Result<_, _>>()?))),
        Some(j) => Ok(Axes::from(axis(j)?)),
    }
}

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let reduction = |f: fn(Tensor, Axes, bool) -> Tensor| {
        Some(
            axes_attr(attrs, "axis")
                .map(|axes| vec![f(x[0], axes, attr_bool(attrs, "keepdims", false))]),
        )
    };
    let arg = |f: fn(Tensor, isize, DType) -> Tensor| {
        // TF1's argmax/argmin default to axis 0 when `axis` is None.
        let axis = attrs.get("axis").and_then(Json::as_i64).unwrap_or(0) as isize;
        let out = match attrs.get("output_type").and_then(Json::as_str) {
            None => DType::Int64,
            Some(name) => DType::from_name(name)?,
        };
        Some(Ok(vec![f(x[0], axis, out)]))
    };
    match op {
        "tf.reduce_sum" => reduction(|x, a, k| ops::reduce_sum(x, a, k)),
        "tf.reduce_mean" => reduction(|x, a, k| ops::reduce_mean(x, a, k)),
        "tf.reduce_max" => reduction(|x, a, k| ops::reduce_max(x, a, k)),
        "tf.reduce_min" => reduction(|x, a, k| ops::reduce_min(x, a, k)),
        "tf.reduce_prod" => reduction(|x, a, k| ops::reduce_prod(x, a, k)),
        "tf.argmax" => arg(ops::argmax),
        "tf.argmin" => arg(ops::argmin),
        _ => None,
    }
}
