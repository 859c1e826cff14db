//! Maps each TF op name of the case files to tensorgraph calls; each op
//! family has its own file under `build/`.

mod activation;
mod array;
mod conv;
mod dropout;
mod loss;
mod math;
mod nn;
mod reduce;

use serde_json::Value as Json;
use tensorgraph::{Graph, Tensor};

/// What a family builder returns: `None` when it does not know the op,
/// else the op's outputs or why the case's attributes are not supported.
pub type Built = Option<Result<Vec<Tensor>, String>>;

/// The outputs of `op` on `x`, `None` if no family knows `op`.
pub fn build(op: &str, attrs: &Json, x: &[Tensor], g: &Graph) -> Built {
    math::build(op, attrs, x, g)
        .or_else(|| activation::build(op, attrs, x, g))
        .or_else(|| reduce::build(op, attrs, x, g))
        .or_else(|| array::build(op, attrs, x, g))
        .or_else(|| nn::build(op, attrs, x, g))
        .or_else(|| loss::build(op, attrs, x, g))
        .or_else(|| conv::build(op, attrs, x, g))
        .or_else(|| dropout::build(op, attrs, x, g))
}
