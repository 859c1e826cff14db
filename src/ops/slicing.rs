//! Rectangular windows of a tensor: slice and strided_slice, with
//! [`strided_slice_grad`] (a window written into zeros) as the adjoint of
//! both. Windows are resolved against run-time shapes, Python-style
//! (negative indices from the end, then clamped), so unknown dimensions
//! are fine. Pad, whose adjoint is a strided slice, lives in `pad.rs`.

use super::element::any_dispatch;
use super::element::numeric_dispatch;
use crate::dtype::{Dim, Shape};
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::{ArrayD, IxDyn};

op_kinds! {
    SLICE = differentiable("Slice", "slice");
    STRIDED_SLICE = differentiable("StridedSlice", "strided_slice");
    STRIDED_SLICE_GRAD = differentiable("StridedSliceGrad", "strided_slice_grad");
}

/// An `end` past every dimension: "to the end" for positive strides.
pub(super) const TO_END: isize = isize::MAX;

/// One axis of a window: first index, element count, step.
type Span = (isize, usize, isize);

/// `begin:end:stride` per leading axis (masks all 0), Python-style:
/// negative indices count from the end, then clamp to the axis.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Window {
    begin: Vec<isize>,
    end: Vec<isize>,
    strides: Vec<isize>,
}

impl Window {
    fn check(&self, rank: Option<usize>) -> Result<(), String> {
        let n = self.begin.len();
        if self.end.len() != n || self.strides.len() != n {
            return Err(format!(
                "begin {:?}, end {:?} and strides {:?} differ in length",
                self.begin, self.end, self.strides
            ));
        }
        if self.strides.contains(&0) {
            return Err(format!("strides {:?} contain 0", self.strides));
        }
        match rank {
            Some(r) if r < n => Err(format!("window of {n} axes on a rank-{r} tensor")),
            _ => Ok(()),
        }
    }

    /// The span of axis `k` (of size `dim`).
    fn span(&self, k: usize, dim: usize) -> Span {
        let Some(&s) = self.strides.get(k) else {
            return (0, dim, 1);
        };
        let d = dim as isize;
        let wrap = |x: isize| if x < 0 { x.saturating_add(d) } else { x };
        let (lo, hi) = if s > 0 { (0, d) } else { (-1, d - 1) };
        let b = wrap(self.begin[k]).clamp(lo, hi);
        let e = wrap(self.end[k]).clamp(lo, hi);
        let dist = if s > 0 { e - b } else { b - e };
        let len = if dist > 0 {
            (dist + s.abs() - 1) / s.abs()
        } else {
            0
        };
        (b, len as usize, s)
    }

    fn spans(&self, dims: &[usize]) -> Result<Vec<Span>, String> {
        self.check(Some(dims.len()))?;
        Ok(dims
            .iter()
            .enumerate()
            .map(|(k, &d)| self.span(k, d))
            .collect())
    }

    fn static_shape(&self, x: &Shape) -> Result<Shape, String> {
        self.check(x.rank())?;
        Ok(match x.dims() {
            None => Shape::unknown(),
            Some(dims) => Shape::from(
                dims.iter()
                    .enumerate()
                    .map(|(k, d)| d.map(|d| self.span(k, d).1))
                    .collect::<Vec<Dim>>(),
            ),
        })
    }
}

/// Row-major index of `a` at output position `idx` of a window.
fn source(spans: &[Span], idx: &IxDyn, src: &mut [usize]) {
    for (k, &(start, _, step)) in spans.iter().enumerate() {
        src[k] = (start + idx[k] as isize * step) as usize;
    }
}

/// Reads the window of input 0 (any dtype) into output 0.
fn window_kernel(k: &mut ComputeCtx<'_>, w: &Window) -> Result<(), KernelError> {
    let x = k.input(0);
    let spans = w.spans(x.shape())?;
    let out: Vec<usize> = spans.iter().map(|s| s.1).collect();
    any_dispatch!(x, T => {
        let a = T::from_value(x).expect("dispatched");
        let mut src = vec![0; spans.len()];
        let r = ArrayD::from_shape_fn(IxDyn(&out), |idx| {
            source(&spans, &idx, &mut src);
            a[IxDyn(&src)]
        });
        k.set(0, r);
        Ok(())
    })
}

/// `input[begin[i] : end[i] : strides[i]]` on each axis.
#[derive(Debug)]
struct StridedSlice {
    window: Window,
}

impl Op for StridedSlice {
    fn kind(&self) -> &'static OpKind {
        &STRIDED_SLICE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            self.window.static_shape(&i[0].shape)?,
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        window_kernel(k, &self.window)
    }
    /// dx = dy written into the window of zeros shaped like x.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let w = &self.window;
        vec![Some(strided_slice_grad(
            c.dy(0),
            c.x(0),
            &w.begin,
            &w.end,
            &w.strides,
        ))]
    }
    fn attrs(&self) -> String {
        let w = &self.window;
        format!(
            "begin={:?}, end={:?}, strides={:?}",
            w.begin, w.end, w.strides
        )
    }
}

/// `tf.strided_slice(input, begin, end, strides)` with all masks 0:
/// `input[b0:e0:s0, b1:e1:s1, ...]` in Python's rules (negative indices
/// count from the end, `end` is exclusive, a negative stride walks
/// backwards, out-of-range bounds clamp). Axes past the lists are kept whole.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::strided_slice};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(5)], "x");
/// assert_eq!(strided_slice(x, [0, 4], [1, 0], [1, -2]).shape().to_string(), "[?, 2]");
/// ```
#[track_caller]
pub fn strided_slice(
    input: Tensor,
    begin: impl AsRef<[isize]>,
    end: impl AsRef<[isize]>,
    strides: impl AsRef<[isize]>,
) -> Tensor {
    let window = Window {
        begin: begin.as_ref().to_vec(),
        end: end.as_ref().to_vec(),
        strides: strides.as_ref().to_vec(),
    };
    input.graph().add_op(StridedSlice { window }, &[input])
}

/// Zeros shaped like input 1 with input 0 written into a window.
#[derive(Debug)]
struct StridedSliceGrad {
    window: Window,
}

impl Op for StridedSliceGrad {
    fn kind(&self) -> &'static OpKind {
        &STRIDED_SLICE_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let expected = self.window.static_shape(&i[1].shape)?;
        if expected.merge(&i[0].shape).is_none() {
            return Err(format!(
                "the window of {} has shape {expected}, not {}",
                i[1].shape, i[0].shape
            ));
        }
        Ok(vec![TensorSpec::new(i[0].dtype, i[1].shape.clone())])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (dy, like) = (k.input(0), k.input(1));
        let spans = self.window.spans(like.shape())?;
        if spans.iter().map(|s| s.1).ne(dy.shape().iter().copied()) {
            return Err(format!(
                "the window of {:?} does not have shape {:?}",
                like.shape(),
                dy.shape()
            )
            .into());
        }
        numeric_dispatch!(dy, T => {
            let a = T::from_value(dy).expect("dispatched");
            let mut r = ArrayD::<T>::zeros(IxDyn(like.shape()));
            let mut dst = vec![0; spans.len()];
            for (idx, &v) in a.indexed_iter() {
                source(&spans, &idx, &mut dst);
                r[IxDyn(&dst)] = v;
            }
            k.set(0, r);
            Ok(())
        })
    }
    /// d dy = strided_slice(g) over the same window; `like` gets none.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let w = &self.window;
        vec![
            Some(strided_slice(c.dy(0), &w.begin, &w.end, &w.strides)),
            None,
        ]
    }
    fn attrs(&self) -> String {
        let w = &self.window;
        format!(
            "begin={:?}, end={:?}, strides={:?}",
            w.begin, w.end, w.strides
        )
    }
}

/// Zeros with `like`'s run-time shape and `dy`'s dtype, with `dy` written
/// into the window `begin:end:strides` (as [`strided_slice`] reads it):
/// the gradient of [`strided_slice`] and [`slice()`].
#[track_caller]
pub fn strided_slice_grad(
    dy: Tensor,
    like: Tensor,
    begin: impl AsRef<[isize]>,
    end: impl AsRef<[isize]>,
    strides: impl AsRef<[isize]>,
) -> Tensor {
    let window = Window {
        begin: begin.as_ref().to_vec(),
        end: end.as_ref().to_vec(),
        strides: strides.as_ref().to_vec(),
    };
    dy.graph().add_op(StridedSliceGrad { window }, &[dy, like])
}

/// `size[i]` elements from `begin[i]` on each axis (`-1`: the rest).
#[derive(Debug)]
struct Slice {
    begin: Vec<usize>,
    size: Vec<isize>,
}

impl Slice {
    /// The window, after checking it lies inside `dims` where known.
    fn window(&self, dims: Option<&[Dim]>) -> Result<Window, String> {
        let n = self.begin.len();
        if self.size.len() != n
            || dims.is_some_and(|d| d.len() != n)
            || self.size.iter().any(|&s| s < -1)
        {
            return Err(format!(
                "invalid slice begin {:?}, size {:?}",
                self.begin, self.size
            ));
        }
        let mut end = Vec::with_capacity(n);
        for (k, (&b, &s)) in self.begin.iter().zip(&self.size).enumerate() {
            let dim = dims.and_then(|d| d[k]);
            let stop = if s == -1 {
                dim.unwrap_or(b)
            } else {
                b + s as usize
            };
            if dim.is_some_and(|d| b > d || stop > d) {
                return Err(format!(
                    "slice begin {:?}, size {:?} goes past axis {k} of size {}",
                    self.begin,
                    self.size,
                    dim.unwrap_or(0)
                ));
            }
            end.push(if s == -1 { TO_END } else { stop as isize });
        }
        Ok(Window {
            begin: self.begin.iter().map(|&b| b as isize).collect(),
            end,
            strides: vec![1; n],
        })
    }
}

impl Op for Slice {
    fn kind(&self) -> &'static OpKind {
        &SLICE
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let rest = self.window(i[0].shape.dims())?.static_shape(&i[0].shape)?;
        // A slice of an unknown axis still has a known length when size >= 0.
        let shape = Shape::from(
            self.size
                .iter()
                .enumerate()
                .map(|(k, &s)| usize::try_from(s).ok().or_else(|| rest.dim(k as isize)))
                .collect::<Vec<Dim>>(),
        );
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let dims = Shape::known(k.input(0).shape());
        let window = self.window(dims.dims())?;
        window_kernel(k, &window)
    }
    /// dx = dy written into the window of zeros shaped like x.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let w = self.window(None).expect("checked when built");
        vec![Some(strided_slice_grad(
            c.dy(0),
            c.x(0),
            &w.begin,
            &w.end,
            &w.strides,
        ))]
    }
    fn attrs(&self) -> String {
        format!("begin={:?}, size={:?}", self.begin, self.size)
    }
}

/// `tf.slice(input, begin, size)`: `size[i]` elements from `begin[i]` on
/// each axis; a size of `-1` takes the rest of the axis.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::slice};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(4)], "x");
/// assert_eq!(slice(x, [0, 1], [2, -1]).shape().to_string(), "[2, 3]");
/// ```
#[track_caller]
pub fn slice(input: Tensor, begin: impl AsRef<[usize]>, size: impl AsRef<[isize]>) -> Tensor {
    let op = Slice {
        begin: begin.as_ref().to_vec(),
        size: size.as_ref().to_vec(),
    };
    input.graph().add_op(op, &[input])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{feed, DType, Graph, Session};

    #[test]
    fn windows_walk_backwards() {
        let g = Graph::new();
        let x = g.placeholder(DType::Int64, [None, Some(3)], "x");
        let rev = strided_slice(x, [-1, 2], [-10, -10], [-1, -1]);
        assert_eq!(rev.shape().to_string(), "[?, 3]");
        let mut s = Session::new(&g);
        let xv = ndarray::array![[1i64, 2, 3], [4, 5, 6]];
        let r = s.run(rev, &feed! { x => &xv }).unwrap();
        assert_eq!(
            r.into_array::<i64>().unwrap().as_slice().unwrap(),
            &[6, 5, 4, 3, 2, 1]
        );
    }
}
