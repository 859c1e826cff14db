//! 2-D convolution over NHWC images, and the window geometry it shares
//! with pooling: TF's padding rules (`SAME` puts the odd padded row or
//! column at the bottom/right). `conv2d` runs as im2col and one matrix
//! product; its gradients are the two backprop ops, and conv2d and those
//! two are each other's adjoints, so every gradient here is built from the
//! ops of this file again and second derivatives work.

use super::{Float, GradCtx, Kernel, KernelError, Op, OpKind};
use crate::dtype::{Dim, Shape};
use crate::graph::{Tensor, TensorSpec};
use ndarray::{Array2, ArrayD, ArrayView2, IxDyn};
use std::borrow::Cow;

static CONV2D: OpKind = OpKind::differentiable("Conv2D");
static CONV2D_BACKPROP_INPUT: OpKind = OpKind::differentiable("Conv2DBackpropInput");
static CONV2D_BACKPROP_FILTER: OpKind = OpKind::differentiable("Conv2DBackpropFilter");

pub(super) static KINDS: &[&OpKind] = &[&CONV2D, &CONV2D_BACKPROP_INPUT, &CONV2D_BACKPROP_FILTER];

/// TF's padding schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(input / stride)`; the window is centred, with the
    /// odd padded row/column at the bottom/right.
    Same,
    /// No padding: only windows that fit inside the input.
    Valid,
}

/// A window size or stride over the NHWC axes: `[1, h, w, 1]` as TF
/// writes it, `(h, w)`, or one number for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window(pub [usize; 4]);

impl From<[usize; 4]> for Window {
    fn from(w: [usize; 4]) -> Window {
        Window(w)
    }
}
impl From<(usize, usize)> for Window {
    fn from((h, w): (usize, usize)) -> Window {
        Window([1, h, w, 1])
    }
}
impl From<usize> for Window {
    fn from(n: usize) -> Window {
        Window([1, n, n, 1])
    }
}

impl Window {
    /// `(h, w)`, or an error when the batch or channel entry is not 1.
    pub(super) fn spatial(self, what: &str) -> Result<(usize, usize), String> {
        match self.0 {
            [1, h, w, 1] if h > 0 && w > 0 => Ok((h, w)),
            other => Err(format!(
                "{what} must be [1, h, w, 1] with h, w >= 1, got {other:?}"
            )),
        }
    }
}

/// Output size and padding before, along one spatial axis.
fn out_size(input: usize, k: usize, s: usize, padding: Padding) -> Result<(usize, usize), String> {
    match padding {
        Padding::Valid if input < k => Err(format!(
            "a window of {k} does not fit an input of {input} with VALID padding"
        )),
        Padding::Valid => Ok(((input - k) / s + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(s);
            let total = ((out.max(1) - 1) * s + k).saturating_sub(input);
            Ok((out, total / 2))
        }
    }
}

/// Static output size along one axis (unknown input: unknown output).
pub(super) fn static_out(input: Dim, k: Dim, s: usize, padding: Padding) -> Result<Dim, String> {
    match (input, k) {
        (Some(i), Some(k)) => out_size(i, k, s, padding).map(|(o, _)| Some(o)),
        (Some(i), None) if padding == Padding::Same => Ok(Some(i.div_ceil(s))),
        _ => Ok(None),
    }
}

/// The four dimensions of a rank-4 static shape (unknown rank: all unknown).
pub(super) fn dims4(s: &Shape, what: &str) -> Result<[Dim; 4], String> {
    match s.dims() {
        None => Ok([None; 4]),
        Some(&[a, b, c, d]) => Ok([a, b, c, d]),
        Some(_) => Err(format!(
            "{what} must have rank 4 (NHWC / HWIO), got shape {s}"
        )),
    }
}

/// Float inputs of one dtype.
pub(super) fn same_float(i: &[TensorSpec]) -> Result<(), String> {
    if !i[0].dtype.is_float() || i.iter().any(|s| s.dtype != i[0].dtype) {
        let dts: Vec<String> = i.iter().map(|s| s.dtype.to_string()).collect();
        return Err(format!(
            "inputs must be floats of one dtype, got {}",
            dts.join(", ")
        ));
    }
    Ok(())
}

/// Where the windows of a convolution or pooling fall on an NHWC input.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub(super) n: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) c: usize,
    pub(super) kh: usize,
    pub(super) kw: usize,
    pub(super) sh: usize,
    pub(super) sw: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    /// Padding rows above and columns left of the input.
    pub(super) pt: usize,
    pub(super) pl: usize,
}

impl Geometry {
    pub(super) fn new(
        input: &[usize],
        (kh, kw): (usize, usize),
        strides: Window,
        padding: Padding,
    ) -> Result<Geometry, String> {
        let &[n, h, w, c] = input else {
            return Err(format!(
                "input must have rank 4 (NHWC), got shape {input:?}"
            ));
        };
        let (sh, sw) = strides.spatial("strides")?;
        let (oh, pt) = out_size(h, kh, sh, padding)?;
        let (ow, pl) = out_size(w, kw, sw, padding)?;
        Ok(Geometry {
            n,
            h,
            w,
            c,
            kh,
            kw,
            sh,
            sw,
            oh,
            ow,
            pt,
            pl,
        })
    }

    pub(super) fn input_len(&self) -> usize {
        self.n * self.h * self.w * self.c
    }

    /// Number of output positions (batch x rows x columns).
    pub(super) fn positions(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// Flat offset of channel 0 of window tap `(ky, kx)` of output
    /// position `pos`, or `None` when the tap falls in the padding.
    fn tap(&self, pos: usize, ky: usize, kx: usize) -> Option<usize> {
        let (b, oy, ox) = (
            pos / (self.oh * self.ow),
            (pos / self.ow) % self.oh,
            pos % self.ow,
        );
        let iy = (oy * self.sh + ky)
            .checked_sub(self.pt)
            .filter(|&y| y < self.h)?;
        let ix = (ox * self.sw + kx)
            .checked_sub(self.pl)
            .filter(|&x| x < self.w)?;
        Some(((b * self.h + iy) * self.w + ix) * self.c)
    }

    /// Calls `f(pos, taps)` for each output position with the offsets of
    /// its in-bounds taps, in row-major window order.
    pub(super) fn windows(&self, mut f: impl FnMut(usize, &[usize])) {
        let mut taps = Vec::with_capacity(self.kh * self.kw);
        for pos in 0..self.positions() {
            taps.clear();
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    taps.extend(self.tap(pos, ky, kx));
                }
            }
            f(pos, &taps);
        }
    }

    pub(super) fn out_shape(&self, channels: usize) -> [usize; 4] {
        [self.n, self.oh, self.ow, channels]
    }
}

/// The elements of `a` in row-major order, borrowed when possible.
pub(super) fn flat<T: Float>(a: &ArrayD<T>) -> Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().copied().collect()),
    }
}

pub(super) fn check_shape(what: &str, got: &[usize], want: &[usize]) -> Result<(), String> {
    if got != want {
        return Err(format!("{what} has shape {got:?}, expected {want:?}"));
    }
    Ok(())
}

/// Convolution attributes shared by conv2d and its two backprop ops.
#[derive(Clone, Copy, Debug)]
struct ConvAttrs {
    strides: Window,
    padding: Padding,
}

impl ConvAttrs {
    /// Geometry and output channels from input and filter shapes.
    fn geometry(&self, input: &[usize], filter: &[usize]) -> Result<(Geometry, usize), String> {
        let &[kh, kw, ci, co] = filter else {
            return Err(format!(
                "filter must have rank 4 (HWIO), got shape {filter:?}"
            ));
        };
        let g = Geometry::new(input, (kh, kw), self.strides, self.padding)?;
        if ci != g.c {
            return Err(format!(
                "filter {filter:?} expects {ci} input channels, input {input:?} has {}",
                g.c
            ));
        }
        Ok((g, co))
    }

    /// Static output shape of conv2d.
    fn infer_output(&self, input: &Shape, filter: &Shape) -> Result<Shape, String> {
        let [n, h, w, c] = dims4(input, "input")?;
        let [kh, kw, ci, co] = dims4(filter, "filter")?;
        if let (Some(c), Some(ci)) = (c, ci) {
            if c != ci {
                return Err(format!(
                    "filter {filter} expects {ci} input channels, input {input} has {c}"
                ));
            }
        }
        let (sh, sw) = self.strides.spatial("strides")?;
        let oh = static_out(h, kh, sh, self.padding)?;
        let ow = static_out(w, kw, sw, self.padding)?;
        Ok(Shape::from(vec![n, oh, ow, co]))
    }

    fn attrs(&self) -> String {
        format!("strides={:?}, padding={:?}", self.strides.0, self.padding)
    }
}

/// Calls `f(pos, at, o)` for every in-bounds window tap: output position
/// `pos`, offset `at` of the tap in a patch row, flat offset `o` of
/// channel 0 of the input pixel; positions in order, taps in row-major
/// window order (as [`Geometry::tap`], without its divisions).
fn for_each_tap(g: &Geometry, mut f: impl FnMut(usize, usize, usize)) {
    let mut pos = 0;
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for ky in 0..g.kh {
                    let Some(iy) = (oy * g.sh + ky).checked_sub(g.pt).filter(|&y| y < g.h) else {
                        continue;
                    };
                    for kx in 0..g.kw {
                        let Some(ix) = (ox * g.sw + kx).checked_sub(g.pl).filter(|&x| x < g.w)
                        else {
                            continue;
                        };
                        f(
                            pos,
                            (ky * g.kw + kx) * g.c,
                            ((b * g.h + iy) * g.w + ix) * g.c,
                        );
                    }
                }
                pos += 1;
            }
        }
    }
}

/// The patches matrix `[positions, kh*kw*c]` (zeros in the padding).
fn im2col<T: Float>(x: &[T], g: &Geometry) -> Array2<T> {
    let (c, width) = (g.c, g.kh * g.kw * g.c);
    let mut cols = Array2::<T>::zeros((g.positions(), width));
    let data = cols.as_slice_mut().expect("a new matrix is contiguous");
    for_each_tap(g, |pos, at, o| {
        let start = pos * width + at;
        data[start..start + c].copy_from_slice(&x[o..o + c]);
    });
    cols
}

/// Sums a patches matrix back onto the input positions it came from.
fn col2im<T: Float>(cols: &Array2<T>, g: &Geometry) -> Vec<T> {
    let (c, width) = (g.c, g.kh * g.kw * g.c);
    let mut x = vec![<T as Float>::from_f64(0.0); g.input_len()];
    let cols = cols.as_standard_layout();
    let data = cols.as_slice().expect("standard layout");
    for_each_tap(g, |pos, at, o| {
        let start = pos * width + at;
        for (d, s) in x[o..o + c].iter_mut().zip(&data[start..start + c]) {
            *d += *s;
        }
    });
    x
}

/// `a b`, split over `threads` threads when large (see `matmul`).
fn product<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>, threads: usize) -> Array2<T> {
    let mut out = Array2::zeros((a.nrows(), b.ncols()));
    super::matmul::gemm_into(a, b, out.view_mut(), threads);
    out
}

/// A filter as the `[kh*kw*c, o]` matrix matching [`im2col`]'s columns.
fn filter_matrix<T: Float>(f: &ArrayD<T>, g: &Geometry, o: usize) -> Array2<T> {
    Array2::from_shape_vec((g.kh * g.kw * g.c, o), flat(f).into_owned())
        .expect("filter shape checked")
}

/// An `[n, oh, ow, o]` gradient as a `[positions, o]` matrix.
fn out_matrix<T: Float>(dy: &ArrayD<T>, g: &Geometry, o: usize) -> Result<Array2<T>, String> {
    check_shape("the output gradient", dy.shape(), &g.out_shape(o))?;
    Ok(Array2::from_shape_vec((g.positions(), o), flat(dy).into_owned()).expect("shape checked"))
}

/// A matrix product reshaped (row-major) to `shape`.
fn reshaped<T: Float>(m: Array2<T>, shape: &[usize]) -> ArrayD<T> {
    let data = if m.is_standard_layout() {
        m.into_raw_vec_and_offset().0
    } else {
        m.iter().copied().collect()
    };
    array(shape, data)
}

pub(super) fn array<T: Float>(shape: &[usize], data: Vec<T>) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("sized")
}

/// `conv2d(input, filter)`.
#[derive(Debug)]
struct Conv2D(ConvAttrs);

impl Op for Conv2D {
    fn kind(&self) -> &'static OpKind {
        &CONV2D
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let shape = self.0.infer_output(&i[0].shape, &i[1].shape)?;
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        crate::float_dispatch!(k.input(0), T => {
            let (x, f) = (k.float::<T>(0)?, k.float::<T>(1)?);
            let (g, o) = self.0.geometry(x.shape(), f.shape())?;
            let y = product(im2col(&flat(x), &g).view(), filter_matrix(f, &g, o).view(), threads);
            k.set(0, reshaped(y, &g.out_shape(o)));
            Ok(())
        })
    }
    /// y = x (*) w: dx = backprop_input(x, w, dy), dw = backprop_filter(x, w, dy).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, w, dy) = (c.x(0), c.x(1), c.dy(0));
        let ConvAttrs { strides, padding } = self.0;
        vec![
            Some(conv2d_backprop_input(x, w, dy, strides, padding)),
            Some(conv2d_backprop_filter(x, w, dy, strides, padding)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.conv2d(input, filter, strides, padding)`: 2-D convolution
/// (cross-correlation, as TF) of an NHWC `input` `[N, H, W, C]` with an
/// HWIO `filter` `[KH, KW, C, O]`, giving `[N, OH, OW, O]`. `strides` is
/// `[1, sh, sw, 1]`, `(sh, sw)` or one number; `padding` is TF's.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::{conv2d, Padding}};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(28), Some(28), Some(1)], "x");
/// let w = g.placeholder(DType::Float32, [5usize, 5, 1, 32], "w");
/// assert_eq!(conv2d(x, w, [1, 1, 1, 1], Padding::Same).shape().to_string(), "[?, 28, 28, 32]");
/// assert_eq!(conv2d(x, w, (2, 2), Padding::Valid).shape().to_string(), "[?, 12, 12, 32]");
/// ```
#[track_caller]
pub fn conv2d(
    input: Tensor,
    filter: Tensor,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = Conv2D(ConvAttrs {
        strides: strides.into(),
        padding,
    });
    input.graph().add_op(op, &[input, filter])
}

/// The gradient of conv2d with respect to its input.
#[derive(Debug)]
struct Conv2DBackpropInput(ConvAttrs);

impl Op for Conv2DBackpropInput {
    fn kind(&self) -> &'static OpKind {
        &CONV2D_BACKPROP_INPUT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let out = self.0.infer_output(&i[0].shape, &i[1].shape)?;
        out.merge(&i[2].shape)
            .ok_or_else(|| format!("out_backprop has shape {}, conv2d gives {out}", i[2].shape))?;
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        crate::float_dispatch!(k.input(1), T => {
            let shape = k.input(0).shape();
            let (f, dy) = (k.float::<T>(1)?, k.float::<T>(2)?);
            let (g, o) = self.0.geometry(shape, f.shape())?;
            let dcols = product(out_matrix(dy, &g, o)?.view(), filter_matrix(f, &g, o).t(), threads);
            k.set(0, array(shape, col2im(&dcols, &g)));
            Ok(())
        })
    }
    /// dx = B(w, g), linear in w and g: d w = backprop_filter(h, w, g), d g = conv2d(h, w).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (w, g, h) = (c.x(1), c.x(2), c.dy(0));
        let ConvAttrs { strides, padding } = self.0;
        vec![
            None,
            Some(conv2d_backprop_filter(h, w, g, strides, padding)),
            Some(conv2d(h, w, strides, padding)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.conv2d_backprop_input`: the gradient of [`conv2d`] with respect
/// to its input, given `out_backprop` (the gradient of its output). TF
/// takes the input's sizes; here `input_like` is any tensor of the input's
/// shape (only its shape is read).
#[track_caller]
pub fn conv2d_backprop_input(
    input_like: Tensor,
    filter: Tensor,
    out_backprop: Tensor,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = Conv2DBackpropInput(ConvAttrs {
        strides: strides.into(),
        padding,
    });
    filter
        .graph()
        .add_op(op, &[input_like, filter, out_backprop])
}

/// The gradient of conv2d with respect to its filter.
#[derive(Debug)]
struct Conv2DBackpropFilter(ConvAttrs);

impl Op for Conv2DBackpropFilter {
    fn kind(&self) -> &'static OpKind {
        &CONV2D_BACKPROP_FILTER
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let out = self.0.infer_output(&i[0].shape, &i[1].shape)?;
        out.merge(&i[2].shape)
            .ok_or_else(|| format!("out_backprop has shape {}, conv2d gives {out}", i[2].shape))?;
        Ok(vec![i[1].clone()])
    }
    fn compute(&self, k: &mut Kernel<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        crate::float_dispatch!(k.input(0), T => {
            let shape = k.input(1).shape();
            let (x, dy) = (k.float::<T>(0)?, k.float::<T>(2)?);
            let (g, o) = self.0.geometry(x.shape(), shape)?;
            let dw = product(im2col(&flat(x), &g).t(), out_matrix(dy, &g, o)?.view(), threads);
            k.set(0, reshaped(dw, shape));
            Ok(())
        })
    }
    /// dw = B(x, g), linear in x and g: d x = backprop_input(x, h, g), d g = conv2d(x, h).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, g, h) = (c.x(0), c.x(2), c.dy(0));
        let ConvAttrs { strides, padding } = self.0;
        vec![
            Some(conv2d_backprop_input(x, h, g, strides, padding)),
            None,
            Some(conv2d(x, h, strides, padding)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.conv2d_backprop_filter`: the gradient of [`conv2d`] with respect
/// to its filter, given `out_backprop`. TF takes the filter's sizes; here
/// `filter_like` is any tensor of the filter's shape (only its shape is
/// read).
#[track_caller]
pub fn conv2d_backprop_filter(
    input: Tensor,
    filter_like: Tensor,
    out_backprop: Tensor,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = Conv2DBackpropFilter(ConvAttrs {
        strides: strides.into(),
        padding,
    });
    input
        .graph()
        .add_op(op, &[input, filter_like, out_backprop])
}
