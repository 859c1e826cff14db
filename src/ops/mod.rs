//! Ops: one type per op kind, holding (in this order) its kind, its static
//! shape/dtype rule, its kernel and its gradient. Families live in their
//! own files; [`registry`] lists every kind so tests can check that each
//! differentiable one has a numeric gradient check.
//!
//! An op's gradient is built only from the public graph-building functions,
//! so gradients are ordinary nodes and can be differentiated again.

mod activation;
mod array;
mod broadcast;
mod cnn;
mod compare;
mod concat;
mod dropout;
pub(crate) mod element;
mod elementwise;
mod extreme;
mod fused;
mod gather;
mod input;
mod loss;
pub(crate) mod math;
mod matmul;
mod nn;
mod operators;
mod pad;
mod random;
mod reduce;
mod reshape;
mod scalar;
pub(crate) mod scratch;
mod slicing;
mod stack;
mod state;
pub(crate) mod training;

pub use activation::*;
pub use array::*;
pub use broadcast::*;
pub use cnn::*;
pub use compare::*;
pub use concat::*;
pub use dropout::*;
pub use element::Float;
pub use elementwise::*;
pub use extreme::*;
pub(crate) use fused::{in_fused, not_a_graph_node};
pub use gather::*;
pub use input::*;
pub use loss::*;
pub use math::*;
pub use matmul::*;
pub use nn::*;
pub use pad::*;
pub use random::*;
pub use reduce::*;
pub use reshape::*;
pub use scalar::Scalar;
pub use slicing::*;
pub use stack::*;
pub use state::*;

use crate::op::OpKind;

/// Every op kind of the crate, with its differentiability.
pub fn registry() -> Vec<&'static OpKind> {
    [
        activation::KINDS,
        array::KINDS,
        broadcast::KINDS,
        cnn::KINDS,
        compare::KINDS,
        concat::KINDS,
        dropout::KINDS,
        elementwise::KINDS,
        extreme::KINDS,
        gather::KINDS,
        input::KINDS,
        loss::KINDS,
        math::KINDS,
        matmul::KINDS,
        nn::KINDS,
        pad::KINDS,
        random::KINDS,
        reduce::KINDS,
        reshape::KINDS,
        slicing::KINDS,
        stack::KINDS,
        state::KINDS,
        training::KINDS,
    ]
    .concat()
}

/// Axes of a reduction: `None` (all), one axis, or several; negative
/// axes count from the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axes(pub Option<Vec<isize>>);

impl Axes {
    /// Resolves the axes against a rank: sorted, deduplicated, non-negative.
    pub(crate) fn resolve(&self, rank: usize) -> Result<Vec<usize>, String> {
        match &self.0 {
            None => Ok((0..rank).collect()),
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for &a in list {
                    out.push(normalize_axis(a, rank)?);
                }
                out.sort_unstable();
                out.dedup();
                Ok(out)
            }
        }
    }
}

/// A possibly negative axis made non-negative, or an error naming it.
pub(crate) fn normalize_axis(axis: isize, rank: usize) -> Result<usize, String> {
    let r = rank as isize;
    if axis < -r || axis >= r {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

impl From<Option<isize>> for Axes {
    fn from(a: Option<isize>) -> Axes {
        Axes(a.map(|a| vec![a]))
    }
}
impl From<isize> for Axes {
    fn from(a: isize) -> Axes {
        Axes(Some(vec![a]))
    }
}
impl From<i32> for Axes {
    fn from(a: i32) -> Axes {
        Axes(Some(vec![a as isize]))
    }
}
impl From<&[isize]> for Axes {
    fn from(a: &[isize]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}
impl<const N: usize> From<[isize; N]> for Axes {
    fn from(a: [isize; N]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}
impl From<Vec<isize>> for Axes {
    fn from(a: Vec<isize>) -> Axes {
        Axes(Some(a))
    }
}
