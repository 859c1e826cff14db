//! 2-D convolution over NHWC images, and the window geometry it shares
//! with pooling: TF's padding rules (`SAME` puts the odd padded row or
//! column at the bottom/right). `conv2d` runs as im2col and one matrix
//! product; its gradients are the two backprop ops, and conv2d and those
//! two are each other's adjoints, so every gradient here is built from the
//! ops of this file again and second derivatives work.

use super::element::float_dispatch;
use super::pool::PoolAttrs;
use super::scratch::with_scratch;
use super::Float;
use crate::dtype::{Dim, Shape};
use crate::gemm::mat_mul;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use ndarray::{ArrayD, ArrayView2, ArrayViewMut2, IxDyn};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, Mutex};

op_kinds! {
    CONV2D = differentiable("Conv2D", "conv2d");
    CONV2D_BACKPROP_INPUT = differentiable("Conv2DBackpropInput", "conv2d_backprop_input");
    CONV2D_BACKPROP_FILTER = differentiable("Conv2DBackpropFilter", "conv2d_backprop_filter");
    /// The session's fused `[relu](conv2d + bias)` (built by the session,
    /// never a graph node).
    FUSED_CONV2D = not_differentiable("_FusedConv2D", "_fused_conv2d");
}

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

/// Calls `f(pos, at, src, len)` for the runs of window taps of the first
/// `images` images that are contiguous in both a patch row and the input
/// (the taps of one window row): output position `pos` (from 0), offset
/// `at` of the run in a patch row, flat offset `src` of the run in the
/// input (from the first image), or `None` for a run in the padding, and
/// its length `len` in elements; positions in order, runs in row-major
/// window order.
fn for_each_run(
    g: &Geometry,
    images: usize,
    mut f: impl FnMut(usize, usize, Option<usize>, usize),
) {
    let (c, row) = (g.c, g.kw * g.c);
    let mut pos = 0;
    for b in 0..images {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let kx0 = g.pl.saturating_sub(ox * g.sw).min(g.kw);
                let kx1 = (g.w + g.pl).saturating_sub(ox * g.sw).clamp(kx0, g.kw);
                for ky in 0..g.kh {
                    let at = ky * row;
                    let Some(iy) = (oy * g.sh + ky).checked_sub(g.pt).filter(|&y| y < g.h) else {
                        f(pos, at, None, row);
                        continue;
                    };
                    if kx0 > 0 {
                        f(pos, at, None, kx0 * c);
                    }
                    if kx1 > kx0 {
                        let ix = ox * g.sw + kx0 - g.pl;
                        let src = ((b * g.h + iy) * g.w + ix) * c;
                        f(pos, at + kx0 * c, Some(src), (kx1 - kx0) * c);
                    }
                    if kx1 < g.kw {
                        f(pos, at + kx1 * c, None, (g.kw - kx1) * c);
                    }
                }
                pos += 1;
            }
        }
    }
}

/// Writes the patches matrix `[images*oh*ow, kh*kw*c]` of the images
/// starting at `x` into `cols` (zeros in the padding).
fn im2col_into<T: Float>(x: &[T], g: &Geometry, images: usize, cols: &mut [T]) {
    let width = g.kh * g.kw * g.c;
    for_each_run(g, images, |pos, at, src, len| {
        let dst = &mut cols[pos * width + at..pos * width + at + len];
        match src {
            Some(o) => dst.copy_from_slice(&x[o..o + len]),
            None => dst.fill(T::zero()),
        }
    });
}

/// Inputs with fewer channels than this build their patches column by
/// column ([`im2col_t_into`]): a window row of one channel is a handful
/// of elements, and copying them patch by patch is mostly call overhead.
const FEW_CHANNELS: usize = 4;

/// The transposed patches matrix, `[kh*kw*c, images*oh*ow]`, of the
/// images starting at `x` into `cols_t`: each row (one tap of every
/// window) is a strided copy of input rows, contiguous for stride 1 and
/// one channel, with zeros in the padding.
fn im2col_t_into<T: Float>(x: &[T], g: &Geometry, images: usize, cols_t: &mut [T]) {
    let rows = images * g.oh * g.ow;
    let step = g.sw * g.c;
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            // Output columns whose tap (ky, kx) is inside the input.
            let off = kx as isize - g.pl as isize;
            let ox0 = if off >= 0 {
                0
            } else {
                off.unsigned_abs().div_ceil(g.sw)
            };
            let last = g.w as isize - 1 - off;
            let ox1 = if last < 0 {
                0
            } else {
                (last as usize / g.sw + 1).min(g.ow)
            };
            let ox0 = ox0.min(ox1);
            for ci in 0..g.c {
                let k = (ky * g.kw + kx) * g.c + ci;
                let dst_k = &mut cols_t[k * rows..(k + 1) * rows];
                for (row, dst) in dst_k.chunks_exact_mut(g.ow).enumerate() {
                    let (b, oy) = (row / g.oh, row % g.oh);
                    let iy = (oy * g.sh + ky).checked_sub(g.pt).filter(|&y| y < g.h);
                    let Some(iy) = iy.filter(|_| ox1 > ox0) else {
                        dst.fill(T::zero());
                        continue;
                    };
                    dst[..ox0].fill(T::zero());
                    dst[ox1..].fill(T::zero());
                    let ix0 = (ox0 as isize * g.sw as isize + off) as usize;
                    let start = ((b * g.h + iy) * g.w + ix0) * g.c + ci;
                    let run = &mut dst[ox0..ox1];
                    if step == 1 {
                        run.copy_from_slice(&x[start..start + run.len()]);
                    } else {
                        for (j, d) in run.iter_mut().enumerate() {
                            *d = x[start + j * step];
                        }
                    }
                }
            }
        }
    }
}

/// The patches matrix `[images*oh*ow, kh*kw*c]` of the images starting at
/// `x`, built in `buffer`: row by row ([`im2col_into`]), or for inputs of
/// few channels column by column ([`im2col_t_into`]) and returned as a
/// transposed view. The products take either layout.
fn patches<'b, T: Float>(
    x: &[T],
    g: &Geometry,
    images: usize,
    buffer: &'b mut [T],
) -> ArrayView2<'b, T> {
    let (rows, width) = (images * g.oh * g.ow, g.kh * g.kw * g.c);
    let cols = &mut buffer[..rows * width];
    if g.c < FEW_CHANNELS {
        im2col_t_into(x, g, images, cols);
        let cols: &'b [T] = cols;
        ArrayView2::from_shape((width, rows), cols)
            .expect("tile shape")
            .reversed_axes()
    } else {
        im2col_into(x, g, images, cols);
        let cols: &'b [T] = cols;
        ArrayView2::from_shape((rows, width), cols).expect("tile shape")
    }
}

/// Sets `x` (the images of a patches matrix) to the sum of the patches
/// over the positions they came from.
fn col2im_into<T: Float>(cols: &[T], g: &Geometry, images: usize, x: &mut [T]) {
    let width = g.kh * g.kw * g.c;
    x.fill(T::zero());
    for_each_run(g, images, |pos, at, src, len| {
        if let Some(o) = src {
            let from = &cols[pos * width + at..pos * width + at + len];
            for (d, s) in x[o..o + len].iter_mut().zip(from) {
                *d += *s;
            }
        }
    });
}

/// Most elements of one patches tile: the im2col matrix of a batch is
/// built and consumed a few images at a time, so its memory is bounded.
const TILE_ELEMS: usize = 1 << 19;

/// Most output elements of one tile of a convolution whose output is max
/// pooled in the same kernel: 512 KB of f32, so the tile's output is
/// still in L2 when the pooling reads it.
const POOLED_TILE_OUTPUT: usize = 1 << 17;

/// Least multiply-adds of a convolution split over threads.
const PARALLEL_MIN_WORK: usize = 8_000_000;

/// How a convolution is cut: whole images per tile, and the threads.
#[derive(Clone, Copy, Debug)]
struct Tiling {
    /// Output positions of one image.
    per_image: usize,
    /// Patch row length `kh*kw*c`.
    width: usize,
    /// Images per tile.
    images: usize,
    /// Threads (each with its own tile buffer).
    workers: usize,
}

impl Tiling {
    fn new(g: &Geometry, o: usize, threads: usize) -> Tiling {
        let (per_image, width) = (g.oh * g.ow, g.kh * g.kw * g.c);
        let images = (TILE_ELEMS / (per_image * width).max(1)).clamp(1, g.n.max(1));
        let tiles = g.n.div_ceil(images);
        let work = g.positions() * width * o;
        let workers = if work < PARALLEL_MIN_WORK {
            1
        } else {
            threads.clamp(1, tiles.max(1))
        };
        Tiling {
            per_image,
            width,
            images,
            workers,
        }
    }

    /// Elements of one worker's tile buffer.
    fn tile_len(&self) -> usize {
        self.images * self.per_image * self.width
    }

    /// This tiling with at most `max` output elements (`o` channels) per
    /// tile, so a tile's output stays in cache for a pass over it.
    fn with_output_at_most(self, max: usize, o: usize) -> Tiling {
        let images = self.images.min((max / (self.per_image * o).max(1)).max(1));
        Tiling { images, ..self }
    }
}

/// Runs `work(buffer, images, out)` for every tile of images, on
/// `t.workers` threads taking tiles one at a time; `out` is the tile's
/// part of `out_all` (`out_per_image` elements per image), `buffer` the
/// worker's `buffer_len` elements of `scratch`.
fn run_tiles<T: Float>(
    t: &Tiling,
    n: usize,
    out_all: &mut [T],
    out_per_image: usize,
    scratch: &mut [T],
    buffer_len: usize,
    work: impl Fn(&mut [T], Range<usize>, &mut [T]) + Sync,
) {
    let next = Mutex::new((0, out_all));
    let take = || {
        let mut guard = next.lock().unwrap_or_else(|e| e.into_inner());
        let (start, rest) = &mut *guard;
        if *start >= n {
            return None;
        }
        let images = *start..(*start + t.images).min(n);
        let (head, tail) = std::mem::take(rest).split_at_mut(images.len() * out_per_image);
        *start = images.end;
        *rest = tail;
        Some((images, head))
    };
    let worker = |buffer: &mut [T]| {
        while let Some((images, out)) = take() {
            work(buffer, images, out);
        }
    };
    crate::parallel::for_each(t.workers, scratch.chunks_mut(buffer_len.max(1)), worker);
}

/// A filter as the `[kh*kw*c, o]` matrix matching the patches' columns.
fn filter_matrix<'a, T: Float>(f: &'a [T], t: &Tiling, o: usize) -> ArrayView2<'a, T> {
    ArrayView2::from_shape((t.width, o), f).expect("filter shape checked")
}

/// An `[n, oh, ow, o]` gradient, checked against the geometry.
fn out_rows<'a, T: Float>(
    dy: &'a ArrayD<T>,
    g: &Geometry,
    o: usize,
) -> Result<Cow<'a, [T]>, String> {
    check_shape("the output gradient", dy.shape(), &g.out_shape(o))?;
    Ok(flat(dy))
}

/// conv2d into `y` (`[n*oh*ow, o]` row-major): per tile, im2col and one
/// product, with `epilogue`'s bias added to every output position and
/// then relu if it says so (the fused kernel's) while the tile is in cache.
/// With a pooling geometry (of the whole output) in `epilogue`, the max
/// pooling of each tile's output goes to `y` instead, so the convolution's
/// output is never stored whole.
fn conv_forward<T: Float>(
    x: &[T],
    f: &[T],
    g: &Geometry,
    o: usize,
    threads: usize,
    y: &mut [T],
    epilogue: (Option<&[T]>, bool, Option<&Geometry>),
) {
    let (bias, relu, pool) = epilogue;
    let mut t = Tiling::new(g, o, threads);
    if pool.is_some() {
        t = t.with_output_at_most(POOLED_TILE_OUTPUT, o);
    }
    let (fmat, image_len) = (filter_matrix(f, &t, o), g.h * g.w * g.c);
    let conv_len = t.images * t.per_image * o;
    let (buffer, out_per_image) = match pool {
        Some(p) => (t.tile_len() + conv_len, p.oh * p.ow * o),
        None => (t.tile_len(), t.per_image * o),
    };
    with_scratch(t.workers * buffer, |scratch: &mut [T]| {
        run_tiles(
            &t,
            g.n,
            y,
            out_per_image,
            scratch,
            buffer,
            |buffer, images, out| {
                let rows = images.len() * t.per_image;
                let x = &x[images.start * image_len..images.end * image_len];
                let (patches_buffer, conv_out) = buffer.split_at_mut(t.tile_len());
                let a = patches(x, g, images.len(), patches_buffer);
                let Some(p) = pool else {
                    let c = ArrayViewMut2::from_shape((rows, o), out).expect("tile shape");
                    mat_mul(a, fmat, c, false, bias, relu);
                    return;
                };
                let conv_out = &mut conv_out[..rows * o];
                let c = ArrayViewMut2::from_shape((rows, o), &mut *conv_out).expect("tile shape");
                mat_mul(a, fmat, c, false, bias, relu);
                let tile = Geometry {
                    n: images.len(),
                    ..*p
                };
                super::pool::max_pool_images(conv_out, &tile, out);
            },
        );
    });
}

/// The input gradient into `dx`: per tile, `dy f^T` and col2im.
fn conv_backprop_input<T: Float>(
    f: &[T],
    dy: &[T],
    g: &Geometry,
    o: usize,
    threads: usize,
    dx: &mut [T],
) {
    let t = Tiling::new(g, o, threads);
    let (fmat, image_len) = (filter_matrix(f, &t, o), g.h * g.w * g.c);
    with_scratch(t.workers * t.tile_len(), |scratch: &mut [T]| {
        run_tiles(
            &t,
            g.n,
            dx,
            image_len,
            scratch,
            t.tile_len(),
            |buffer, images, out| {
                let rows = images.len() * t.per_image;
                let cols = &mut buffer[..rows * t.width];
                let dy = &dy[images.start * t.per_image * o..images.end * t.per_image * o];
                let a = ArrayView2::from_shape((rows, o), dy).expect("tile shape");
                let c = ArrayViewMut2::from_shape((rows, t.width), &mut *cols).expect("tile shape");
                mat_mul(a, fmat.t(), c, false, None, false);
                col2im_into(cols, g, images.len(), out);
            },
        );
    });
}

/// The filter gradient into `dw`: per tile, `im2col(x)^T dy` summed; with
/// threads, each sums a fixed contiguous share of the images (so the
/// result does not depend on timing), then the shares are added in order.
fn conv_backprop_filter<T: Float>(
    x: &[T],
    dy: &[T],
    g: &Geometry,
    o: usize,
    threads: usize,
    dw: &mut [T],
) {
    let t = Tiling::new(g, o, threads);
    let (image_len, part_len) = (g.h * g.w * g.c, t.width * o);
    let share = |w: usize| w * g.n / t.workers..(w + 1) * g.n / t.workers;
    let work = |buffer: &mut [T], part: &mut [T], images: Range<usize>| {
        let mut part = ArrayViewMut2::from_shape((t.width, o), part).expect("filter shape");
        for start in images.clone().step_by(t.images) {
            let end = (start + t.images).min(images.end);
            let rows = (end - start) * t.per_image;
            let a = patches(
                &x[start * image_len..end * image_len],
                g,
                end - start,
                buffer,
            );
            let d = &dy[start * t.per_image * o..end * t.per_image * o];
            let b = ArrayView2::from_shape((rows, o), d).expect("tile shape");
            mat_mul(a.t(), b, part.view_mut(), true, None, false);
        }
    };
    with_scratch(
        t.workers * (t.tile_len() + part_len),
        |scratch: &mut [T]| {
            let (buffers, parts) = scratch.split_at_mut(t.workers * t.tile_len());
            dw.fill(T::zero());
            if t.workers < 2 {
                work(buffers, dw, 0..g.n);
                return;
            }
            parts.fill(T::zero());
            let jobs = buffers
                .chunks_mut(t.tile_len())
                .zip(parts.chunks_mut(part_len))
                .enumerate();
            crate::parallel::for_each(t.workers, jobs, |(w, (buffer, part))| {
                work(buffer, part, share(w))
            });
            for part in parts.chunks(part_len) {
                for (d, p) in dw.iter_mut().zip(part) {
                    *d += *p;
                }
            }
        },
    );
}

pub(super) fn array<T: Float>(shape: &[usize], data: Vec<T>) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("sized")
}

/// conv2d's kernel: inputs `[x, filter]` into output 0, then `bias` (one
/// value per output channel) added and relu, and max pooling with `pool`'s
/// attributes, as the fused kernel asks.
fn conv2d_kernel<T: Float>(
    k: &mut ComputeCtx<'_>,
    attrs: &ConvAttrs,
    bias: Option<&ArrayD<T>>,
    relu: bool,
    pool: Option<&PoolAttrs>,
) -> Result<(), KernelError> {
    let threads = k.threads();
    let (x, f) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
    let (g, o) = attrs.geometry(x.shape(), f.shape())?;
    let bias = super::fused::bias_row(bias, o, || {
        format!("a convolution with {o} output channels")
    })?;
    let pooled = pool.map(|p| p.geometry(&g.out_shape(o))).transpose()?;
    let (xs, fs) = (flat(x), flat(f));
    let shape = pooled.map_or(g.out_shape(o), |p| p.out_shape(o));
    let y = k.stale_output::<T>(0, &shape);
    let y = y.as_slice_mut().expect("standard layout");
    conv_forward(&xs, &fs, &g, o, threads, y, (bias, relu, pooled.as_ref()));
    Ok(())
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
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => conv2d_kernel::<T>(k, &self.0, None, false, None))
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

/// `conv2d(x, w) + bias`, then relu when `relu` and max pooling when
/// `pool`: the session's fused kernel for such chains (inputs `[x, w,
/// bias]`), never a graph node.
#[derive(Debug)]
struct FusedConv2D {
    attrs: ConvAttrs,
    relu: bool,
    pool: Option<PoolAttrs>,
    /// The fused add (relu and pool) nodes' names, for messages.
    fused: String,
}

impl Op for FusedConv2D {
    fn kind(&self) -> &'static OpKind {
        &FUSED_CONV2D
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        super::fused::not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let bias = k.input_as::<T>(2)?;
            conv2d_kernel(k, &self.attrs, Some(bias), self.relu, self.pool.as_ref())
                .map_err(|e| super::fused::in_fused(e, &self.fused))
        })
    }
    fn attrs(&self) -> String {
        let pool = self.pool.map(|p| format!(", max_pool({})", p.attrs()));
        format!(
            "{}, relu={}{}, fuses {}",
            self.attrs.attrs(),
            self.relu,
            pool.unwrap_or_default(),
            self.fused
        )
    }
}

/// The fused kernel of `[max_pool]([relu](conv2d(x, w) + bias))` when `op`
/// is a conv2d; `fused` names the add (relu and pool) nodes it stands for.
pub(crate) fn fused_conv2d(
    op: &dyn Op,
    relu: bool,
    pool: Option<PoolAttrs>,
    fused: String,
) -> Option<Arc<dyn Op>> {
    let conv = op.as_any().downcast_ref::<Conv2D>()?;
    Some(Arc::new(FusedConv2D {
        attrs: conv.0,
        relu,
        pool,
        fused,
    }))
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
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        float_dispatch!(k.input(1), T => {
            let shape = k.input(0).shape();
            let (f, dy) = (k.input_as::<T>(1)?, k.input_as::<T>(2)?);
            let (g, o) = self.0.geometry(shape, f.shape())?;
            let (fs, dys) = (flat(f), out_rows(dy, &g, o)?);
            let dx = k.stale_output::<T>(0, shape);
            let dx = dx.as_slice_mut().expect("standard layout");
            conv_backprop_input(&fs, &dys, &g, o, threads, dx);
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
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        float_dispatch!(k.input(0), T => {
            let shape = k.input(1).shape();
            let (x, dy) = (k.input_as::<T>(0)?, k.input_as::<T>(2)?);
            let (g, o) = self.0.geometry(x.shape(), shape)?;
            let (xs, dys) = (flat(x), out_rows(dy, &g, o)?);
            let dw = k.stale_output::<T>(0, shape);
            let dw = dw.as_slice_mut().expect("standard layout");
            conv_backprop_filter(&xs, &dys, &g, o, threads, dw);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The tiled, threaded kernels agree with one thread (the forward and
    /// input-gradient products are the same per row; the filter gradient's
    /// shares are summed in a fixed order).
    #[test]
    fn threads_agree_with_one_thread() {
        let g = Geometry::new(&[5, 14, 14, 32], (5, 5), Window::from(1), Padding::Same)
            .expect("geometry");
        let o = 64;
        let x: Vec<f32> = (0..g.input_len())
            .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
            .collect();
        let f: Vec<f32> = (0..25 * 32 * o)
            .map(|i| ((i * 104_729) % 89) as f32 / 89.0 - 0.5)
            .collect();
        let dy: Vec<f32> = (0..g.positions() * o)
            .map(|i| ((i * 31) % 53) as f32 / 53.0 - 0.5)
            .collect();
        let run = |threads| {
            let mut y = vec![0.0; g.positions() * o];
            conv_forward(&x, &f, &g, o, threads, &mut y, (None, false, None));
            let mut dx = vec![0.0; g.input_len()];
            conv_backprop_input(&f, &dy, &g, o, threads, &mut dx);
            let mut dw = vec![0.0; f.len()];
            conv_backprop_filter(&x, &dy, &g, o, threads, &mut dw);
            (y, dx, dw)
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.0, two.0);
        assert_eq!(one.1, two.1);
        let close = one
            .2
            .iter()
            .zip(&two.2)
            .all(|(a, b)| (a - b).abs() <= 1e-3 * (1.0 + a.abs()));
        assert!(close);
    }

    /// The column-by-column patches (inputs of few channels) are the
    /// transpose of the row-by-row ones, for strides, paddings and window
    /// sizes that put taps outside the input on every side.
    #[test]
    fn transposed_patches_match_the_patches() {
        let cases = [
            ([2, 7, 6, 1], (5, 5), 1, Padding::Same),
            ([2, 7, 6, 2], (3, 2), 2, Padding::Same),
            ([1, 5, 9, 3], (3, 3), 2, Padding::Valid),
            ([3, 4, 4, 1], (4, 1), 3, Padding::Same),
            ([1, 2, 3, 1], (3, 5), 1, Padding::Same),
        ];
        for (shape, window, stride, padding) in cases {
            let g = Geometry::new(&shape, window, Window::from(stride), padding).expect("geometry");
            let x: Vec<f32> = (0..g.input_len()).map(|i| i as f32 + 1.0).collect();
            let (rows, width) = (g.positions(), g.kh * g.kw * g.c);
            let mut cols = vec![f32::NAN; rows * width];
            im2col_into(&x, &g, g.n, &mut cols);
            let mut cols_t = vec![f32::NAN; rows * width];
            im2col_t_into(&x, &g, g.n, &mut cols_t);
            for r in 0..rows {
                for k in 0..width {
                    assert_eq!(
                        cols[r * width + k],
                        cols_t[k * rows + r],
                        "{shape:?} row {r} tap {k}"
                    );
                }
            }
        }
    }
}
