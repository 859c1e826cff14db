//! Convolution and pooling.

use super::Built;
use serde_json::Value as Json;
use tensorgraph::ops::{self, Padding, Window};
use tensorgraph::{Graph, Tensor};

/// A `[1, h, w, 1]` attribute.
fn window(attrs: &Json, key: &str) -> Result<Window, String> {
    let list: Option<Vec<usize>> = attrs
        .get(key)
        .and_then(Json::as_array)
        .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect());
    match list.as_deref() {
        Some(&[a, b, c, d]) => Ok(Window([a, b, c, d])),
        _ => Err(format!(
            "{key} {:?} is not a list of four sizes",
            attrs.get(key)
        )),
    }
}

fn padding(attrs: &Json) -> Result<Padding, String> {
    match attrs.get("padding").and_then(Json::as_str) {
        Some("SAME") => Ok(Padding::Same),
        Some("VALID") => Ok(Padding::Valid),
        other => Err(format!("padding {other:?}")),
    }
}

pub fn build(op: &str, attrs: &Json, x: &[Tensor], _g: &Graph) -> Built {
    let built = || -> Result<Tensor, String> {
        let (strides, padding) = (window(attrs, "strides")?, padding(attrs)?);
        Ok(match op {
            "tf.nn.conv2d" => ops::conv2d(x[0], x[1], strides, padding),
            "tf.nn.max_pool" => ops::max_pool(x[0], window(attrs, "ksize")?, strides, padding),
            _ => ops::avg_pool(x[0], window(attrs, "ksize")?, strides, padding),
        })
    };
    match op {
        "tf.nn.conv2d" | "tf.nn.max_pool" | "tf.nn.avg_pool" => Some(built().map(|t| vec![t])),
        _ => None,
    }
}
