//! conv ops.

use super::Built;
use serde_json::Value as Json;
use tensorgraph::{Graph, Tensor};

pub fn build(_op: &str, _attrs: &Json, _x: &[Tensor], _g: &Graph) -> Built {
    None
}
