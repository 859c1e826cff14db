//! Ops that move elements to new positions or repeat them: transpose (a
//! permutation of the axes) and tile, with [`untile`] (the sum of the
//! tiles) as tile's adjoint. Kernels serve every dtype (bool included) and
//! work from run-time shapes, so unknown batch dimensions are fine.
//! Reshapes, which keep the row-major order, live in `reshape.rs`; the
//! joining, slicing and gathering families in their own files.

use super::element::any_dispatch;
use super::element::numeric_dispatch;
use super::reshape::standard;
use crate::dtype::Shape;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::{ArrayD, IxDyn};

op_kinds! {
    TRANSPOSE = differentiable("Transpose", "transpose");
    TILE = differentiable("Tile", "tile");
    UNTILE = differentiable("Untile", "untile");
}

/// Axes permuted: output axis `i` is input axis `perm[i]`.
#[derive(Debug)]
struct Transpose {
    /// `None` reverses the axes.
    perm: Option<Vec<usize>>,
}

impl Transpose {
    fn perm(&self, rank: usize) -> Result<Vec<usize>, String> {
        match &self.perm {
            None => Ok((0..rank).rev().collect()),
            Some(p) => {
                let mut seen = vec![false; rank];
                if p.len() != rank
                    || p.iter()
                        .any(|&a| a >= rank || std::mem::replace(&mut seen[a], true))
                {
                    return Err(format!(
                        "perm {p:?} is not a permutation of the {rank} axes"
                    ));
                }
                Ok(p.clone())
            }
        }
    }
}

impl Op for Transpose {
    fn kind(&self) -> &'static OpKind {
        &TRANSPOSE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let shape = match (i[0].shape.dims(), &self.perm) {
            (None, None) => Shape::unknown(),
            (None, Some(p)) => Shape::unknown_dims(p.len()),
            (Some(dims), _) => Shape::from(
                self.perm(dims.len())?
                    .iter()
                    .map(|&a| dims[a])
                    .collect::<Vec<_>>(),
            ),
        };
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        let perm = self.perm(x.shape().len())?;
        any_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            k.set(0, standard(a.view().permuted_axes(perm)));
            Ok(())
        })
    }
    /// dx = transpose(dy, inverse(perm)).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let inverse = self.perm.as_ref().map(|p| {
            let mut inv = vec![0; p.len()];
            for (i, &a) in p.iter().enumerate() {
                inv[a] = i;
            }
            inv
        });
        vec![Some(transpose(c.dy(0), inverse.as_deref()))]
    }
    fn attrs(&self) -> String {
        format!("perm={:?}", self.perm)
    }
}

/// `tf.transpose(x, perm)`: output axis `i` is input axis `perm[i]`;
/// `None` reverses the axes (a matrix transpose for rank 2).
///
/// ```
/// use tensorgraph::{Graph, DType, ops::transpose};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(3), Some(4)], "x");
/// assert_eq!(transpose(x, Some(&[2, 0, 1])).shape().to_string(), "[4, ?, 3]");
/// assert_eq!(transpose(x, None).shape().to_string(), "[4, 3, ?]");
/// ```
#[track_caller]
pub fn transpose(x: Tensor, perm: Option<&[usize]>) -> Tensor {
    let perm = perm.map(<[usize]>::to_vec);
    x.graph().add_op(Transpose { perm }, &[x])
}

/// `x` repeated `multiples[i]` times along axis `i`.
#[derive(Debug)]
struct Tile {
    multiples: Vec<usize>,
}

/// Checks that `multiples` has one entry per axis of `x`.
fn check_multiples(x: &Shape, multiples: &[usize]) -> Result<(), String> {
    match x.rank() {
        Some(r) if r != multiples.len() => Err(format!(
            "multiples {multiples:?} do not match the rank of {x}"
        )),
        _ => Ok(()),
    }
}

impl Op for Tile {
    fn kind(&self) -> &'static OpKind {
        &TILE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        check_multiples(&i[0].shape, &self.multiples)?;
        let dims = match i[0].shape.dims() {
            None => vec![None; self.multiples.len()],
            Some(d) => d
                .iter()
                .zip(&self.multiples)
                .map(|(d, &m)| d.map(|d| d * m))
                .collect(),
        };
        Ok(vec![TensorSpec::new(i[0].dtype, Shape::from(dims))])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        check_multiples(&Shape::known(x.shape()), &self.multiples)?;
        let out: Vec<usize> = x
            .shape()
            .iter()
            .zip(&self.multiples)
            .map(|(d, m)| d * m)
            .collect();
        any_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            let dims = a.shape();
            let mut src = vec![0; dims.len()];
            let r = ArrayD::from_shape_fn(IxDyn(&out), |idx| {
                for (d, s) in src.iter_mut().enumerate() {
                    *s = idx[d] % dims[d];
                }
                a[IxDyn(&src)]
            });
            k.set(0, r);
            Ok(())
        })
    }
    /// dx = the sum of dy's tiles.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(untile(c.dy(0), &self.multiples))]
    }
    fn attrs(&self) -> String {
        format!("multiples={:?}", self.multiples)
    }
}

/// `tf.tile(x, multiples)`: `x` repeated `multiples[i]` times along axis `i`.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::tile};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
/// assert_eq!(tile(x, [2, 2]).shape().to_string(), "[?, 6]");
/// ```
#[track_caller]
pub fn tile(x: Tensor, multiples: impl AsRef<[usize]>) -> Tensor {
    let multiples = multiples.as_ref().to_vec();
    x.graph().add_op(Tile { multiples }, &[x])
}

/// The sum of the `multiples[i]` equal-sized blocks along each axis: the
/// inverse of tiling.
#[derive(Debug)]
struct Untile {
    multiples: Vec<usize>,
}

impl Op for Untile {
    fn kind(&self) -> &'static OpKind {
        &UNTILE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        check_multiples(&i[0].shape, &self.multiples)?;
        let mut dims = Vec::with_capacity(self.multiples.len());
        for (k, &m) in self.multiples.iter().enumerate() {
            dims.push(match i[0].shape.dim(k as isize) {
                Some(d) if m == 0 || d % m != 0 => {
                    return Err(format!(
                        "{} cannot be split into {:?} tiles",
                        i[0].shape, self.multiples
                    ));
                }
                d => d.map(|d| d / m),
            });
        }
        Ok(vec![TensorSpec::new(i[0].dtype, Shape::from(dims))])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        check_multiples(&Shape::known(x.shape()), &self.multiples)?;
        if x.shape()
            .iter()
            .zip(&self.multiples)
            .any(|(&d, &m)| m == 0 || d % m != 0)
        {
            return Err(format!(
                "shape {:?} cannot be split into {:?} tiles",
                x.shape(),
                self.multiples
            )
            .into());
        }
        let out: Vec<usize> = x
            .shape()
            .iter()
            .zip(&self.multiples)
            .map(|(d, m)| d / m)
            .collect();
        numeric_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            let mut r = ArrayD::<T>::zeros(IxDyn(&out));
            let mut dst = vec![0; out.len()];
            for (idx, &v) in a.indexed_iter() {
                for (d, o) in dst.iter_mut().enumerate() {
                    *o = idx[d] % out[d];
                }
                r[IxDyn(&dst)] += v;
            }
            k.set(0, r);
            Ok(())
        })
    }
    /// dx = tile(dy, multiples).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(tile(c.dy(0), &self.multiples))]
    }
    fn attrs(&self) -> String {
        format!("multiples={:?}", self.multiples)
    }
}

/// The sum of `x`'s `multiples[i]` equal blocks along each axis `i`: the
/// gradient of [`tile`], whose output shape it inverts.
#[track_caller]
pub fn untile(x: Tensor, multiples: impl AsRef<[usize]>) -> Tensor {
    let multiples = multiples.as_ref().to_vec();
    x.graph().add_op(Untile { multiples }, &[x])
}
