//! Max and average pooling over NHWC images, with conv2d's window
//! geometry and padding rules. Their gradients are ops in adjoint pairs
//! (`MaxPoolGrad` scatters to each window's first maximum and
//! `MaxPoolGradGrad` gathers from it; `AvgPoolGrad` is `AvgPool`'s
//! adjoint), so second derivatives work.

use super::conv::{
    array, check_shape, dims4, flat, same_float, static_out, Geometry, Padding, Window,
};
use super::element::float_dispatch;
use super::{zeros_like, Float};
use crate::dtype::Shape;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use smallvec::SmallVec;
use std::ops::Range;
use std::sync::Arc;

op_kinds! {
    MAX_POOL = differentiable("MaxPool", "max_pool");
    MAX_POOL_GRAD = differentiable("MaxPoolGrad", "max_pool_grad");
    MAX_POOL_GRAD_GRAD = differentiable("MaxPoolGradGrad", "max_pool_grad_grad");
    /// The session's fused max-pool + relu gradient (built by the session,
    /// never a graph node).
    FUSED_MAX_POOL_RELU_GRAD = not_differentiable("_FusedMaxPoolReluGrad", "_fused_max_pool_relu_grad");
    AVG_POOL = differentiable("AvgPool", "avg_pool");
    AVG_POOL_GRAD = differentiable("AvgPoolGrad", "avg_pool_grad");
}

/// Pooling attributes shared by the pooling ops and their gradients.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolAttrs {
    ksize: Window,
    strides: Window,
    padding: Padding,
}

impl PoolAttrs {
    fn new(ksize: impl Into<Window>, strides: impl Into<Window>, padding: Padding) -> PoolAttrs {
        PoolAttrs {
            ksize: ksize.into(),
            strides: strides.into(),
            padding,
        }
    }

    pub(super) fn geometry(&self, input: &[usize]) -> Result<Geometry, String> {
        Geometry::new(
            input,
            self.ksize.spatial("ksize")?,
            self.strides,
            self.padding,
        )
    }

    /// Static pooled shape of `input`.
    fn infer_output(&self, input: &Shape) -> Result<Shape, String> {
        let [n, h, w, c] = dims4(input, "value")?;
        let (kh, kw) = self.ksize.spatial("ksize")?;
        let (sh, sw) = self.strides.spatial("strides")?;
        let oh = static_out(h, Some(kh), sh, self.padding)?;
        let ow = static_out(w, Some(kw), sw, self.padding)?;
        Ok(Shape::from(vec![n, oh, ow, c]))
    }

    /// Static rule of a pooling gradient op `(input, g)`: `g` must have
    /// the pooled shape; the result has `input`'s spec or the pooled one.
    fn infer_grad(&self, i: &[TensorSpec], pooled: bool) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let out = self.infer_output(&i[0].shape)?;
        if pooled {
            i[1].shape.merge(&i[0].shape).ok_or_else(|| {
                format!(
                    "gradient has shape {}, the input {}",
                    i[1].shape, i[0].shape
                )
            })?;
            return Ok(vec![TensorSpec::new(i[0].dtype, out)]);
        }
        out.merge(&i[1].shape)
            .ok_or_else(|| format!("gradient has shape {}, pooling gives {out}", i[1].shape))?;
        Ok(vec![i[0].clone()])
    }

    pub(super) fn attrs(&self) -> String {
        format!(
            "ksize={:?}, strides={:?}, padding={:?}",
            self.ksize.0, self.strides.0, self.padding
        )
    }
}

/// Least input elements of a max pooling op split over threads.
const PARALLEL_MIN_LEN: usize = 1 << 18;

/// Runs `work(g, images, out)` on contiguous shares of the batch, one per
/// thread (large inputs only; the last share may be smaller): `g` is the geometry of the share's images,
/// `out` its part of `out_all` (`out_per_image` elements per image).
fn by_images<T: Float>(
    g: &Geometry,
    threads: usize,
    out_all: &mut [T],
    out_per_image: usize,
    work: impl Fn(&Geometry, Range<usize>, &mut [T]) + Sync,
) {
    let workers = if g.input_len() < PARALLEL_MIN_LEN {
        1
    } else {
        threads.clamp(1, g.n.max(1))
    };
    if workers < 2 {
        work(g, 0..g.n, out_all);
        return;
    }
    let per_share = g.n.div_ceil(workers);
    let shares = out_all.chunks_mut(per_share * out_per_image).enumerate();
    crate::parallel::for_each(workers, shares, |(i, out)| {
        let images = i * per_share..i * per_share + out.len() / out_per_image;
        let share = Geometry {
            n: images.len(),
            ..*g
        };
        work(&share, images, out);
    });
}

/// Channels of max pooling handled together.
const LANES: usize = 64;

/// Calls `f(out, max, taps)` for each output position of max pooling and
/// block of at most [`LANES`] channels: `out` is the flat NHWC index of
/// the block's first output, `max` the window maxima (the first maximum
/// under `>`; padding never wins), `taps` the flat input indices of the
/// block's first channel at the in-bounds taps, in row-major window order
/// (a window wholly in the padding has the one tap `channel`).
fn for_each_window<T: Float>(x: &[T], g: &Geometry, mut f: impl FnMut(usize, &[T], &[usize])) {
    let mut best = [T::zero(); LANES];
    let mut taps = SmallVec::<[usize; 16]>::new();
    let span = |o: usize, s: usize, k: usize, pad: usize, len: usize| {
        (o * s).saturating_sub(pad)..(o * s + k).saturating_sub(pad).min(len)
    };
    let mut out = 0;
    for b in 0..g.n {
        for oy in 0..g.oh {
            let rows = span(oy, g.sh, g.kh, g.pt, g.h);
            for ox in 0..g.ow {
                let cols = span(ox, g.sw, g.kw, g.pl, g.w);
                for c0 in (0..g.c).step_by(LANES) {
                    let lanes = LANES.min(g.c - c0);
                    let best = &mut best[..lanes];
                    taps.clear();
                    for iy in rows.clone() {
                        taps.extend(
                            cols.clone()
                                .map(|ix| ((b * g.h + iy) * g.w + ix) * g.c + c0),
                        );
                    }
                    if taps.is_empty() {
                        taps.push(c0);
                    }
                    best.copy_from_slice(&x[taps[0]..taps[0] + lanes]);
                    for &t in taps.iter().skip(1) {
                        for (m, &v) in best.iter_mut().zip(&x[t..t + lanes]) {
                            if v > *m {
                                *m = v;
                            }
                        }
                    }
                    f(out, best, &taps);
                    out += lanes;
                }
            }
        }
    }
}

/// Calls `f(t, hits)` for each tap `t` of a window block, where `hits[j]`
/// says whether `t + j` is the first maximum of channel `j`: the first tap
/// equal to the maximum (the first tap when that is NaN, as only a first
/// NaN survives `>`). Branch-free over the channels.
#[inline(always)]
fn for_each_argmax_tap<T: Float>(
    x: &[T],
    max: &[T],
    taps: &[usize],
    mut f: impl FnMut(usize, &[bool]),
) {
    let n = max.len();
    let (mut pending, mut hits) = ([true; LANES], [false; LANES]);
    let (pending, hits) = (&mut pending[..n], &mut hits[..n]);
    for &t in taps {
        let xs = &x[t..t + n];
        for j in 0..n {
            let hit = pending[j] & ((xs[j] == max[j]) | max[j].is_nan());
            hits[j] = hit;
            pending[j] &= !hit;
        }
        f(t, hits);
    }
}

/// Whether the windows of `g` tile its input: the stride equals the
/// window and nothing is padded above or left, so windows never overlap
/// and each starts in bounds (SAME padding may cut the last row and
/// column of windows short; VALID may leave the last input rows and
/// columns out of every window).
fn windows_tile(g: &Geometry) -> bool {
    g.sh == g.kh && g.sw == g.kw && g.pt == 0 && g.pl == 0
}

/// The in-bounds part of one window of a tiling geometry.
#[derive(Clone, Copy)]
struct Tile {
    /// Flat index of channel 0 of the window's first tap.
    base: usize,
    rows: usize,
    cols: usize,
    /// Elements per input row.
    row_len: usize,
    c: usize,
}

impl Tile {
    /// Flat indices of channel 0 of the taps, in row-major window order
    /// (the first is `base`).
    fn taps(self) -> impl Iterator<Item = usize> {
        (0..self.rows).flat_map(move |r| {
            let row = self.base + r * self.row_len;
            (0..self.cols).map(move |q| row + q * self.c)
        })
    }
}

/// Calls `f(out, tile)` for each window of tiling geometry `g` (see
/// [`windows_tile`]), in output order: `out` is the flat NHWC index of the
/// window's first output.
fn for_each_tile(g: &Geometry, mut f: impl FnMut(usize, Tile)) {
    let mut out = 0;
    for b in 0..g.n {
        for oy in 0..g.oh {
            let y0 = oy * g.kh;
            for ox in 0..g.ow {
                let x0 = ox * g.kw;
                let tile = Tile {
                    base: ((b * g.h + y0) * g.w + x0) * g.c,
                    rows: g.kh.min(g.h - y0),
                    cols: g.kw.min(g.w - x0),
                    row_len: g.w * g.c,
                    c: g.c,
                };
                f(out, tile);
                out += g.c;
            }
        }
    }
}

/// `m = v` where `v > m`, elementwise: a running maximum that keeps the
/// first maximum under `>` (a NaN in `m` stays; a NaN in `v` never wins).
#[inline(always)]
fn max_into<T: Float>(m: &mut [T], v: &[T]) {
    for (m, &v) in m.iter_mut().zip(v) {
        *m = if v > *m { v } else { *m };
    }
}

/// Max pooling of the images `x` with tiling geometry `g` into `y`.
fn max_pool_tiled<T: Float>(x: &[T], g: &Geometry, y: &mut [T]) {
    let c = g.c;
    for_each_tile(g, |o, tile| {
        let y = &mut y[o..o + c];
        y.copy_from_slice(&x[tile.base..tile.base + c]);
        for t in tile.taps().skip(1) {
            max_into(y, &x[t..t + c]);
        }
    });
}

/// The gradient of max pooling the images `x` with tiling geometry `g`,
/// given the pooled gradient `dy`, into `dx`: each input element is in at
/// most one window, so it is written once, with the window's `dy` where it
/// is the window's first maximum (the first tap when that is NaN) and 0
/// elsewhere.
fn max_pool_grad_tiled<T: Float>(x: &[T], dy: &[T], g: &Geometry, dx: &mut [T], relu: bool) {
    let (c, zero, nan) = (g.c, T::zero(), T::nan());
    if g.oh * g.kh < g.h || g.ow * g.kw < g.w {
        dx.fill(zero);
    }
    // The maxima still to be found: a channel's becomes NaN (equal to
    // nothing) once its first maximum is written. On the stack up to 256
    // channels, so a run allocates nothing.
    let mut max = SmallVec::<[T; 256]>::from_elem(zero, c);
    for_each_tile(g, |o, tile| {
        let d = &dy[o..o + c];
        max.copy_from_slice(&x[tile.base..tile.base + c]);
        for t in tile.taps().skip(1) {
            max_into(&mut max, &x[t..t + c]);
        }
        let last = tile.rows * tile.cols - 1;
        for (i, t) in tile.taps().enumerate() {
            let (x, dx) = (&x[t..t + c], &mut dx[t..t + c]);
            // With `relu`, only where x > 0 (relu's gradient at its output).
            match (i == 0, relu) {
                // A NaN maximum is the first tap's.
                (true, false) => write_hits(x, dx, &max, d, |x, m| (x == m) | m.is_nan()),
                (true, true) => {
                    write_hits(x, dx, &max, d, |x, m| ((x == m) | m.is_nan()) & (x > zero))
                }
                (false, false) => write_hits(x, dx, &max, d, |x, m| x == m),
                (false, true) => write_hits(x, dx, &max, d, |x, m| (x == m) & (x > zero)),
            }
            if i < last {
                for (&x, m) in x.iter().zip(&mut max) {
                    *m = if x == *m { nan } else { *m };
                }
            }
        }
    });
}

/// Writes one tap `x` of a window's gradient: `dx = 0 + d` where
/// `hit(x, max)` (the sum into zeros the general path gives), else 0.
/// Separate from marking maxima found, so both loops vectorize.
#[inline(always)]
fn write_hits<T: Float>(x: &[T], dx: &mut [T], max: &[T], d: &[T], hit: impl Fn(T, T) -> bool) {
    let zero = T::zero();
    for ((&x, dx), (&m, &d)) in x.iter().zip(dx).zip(max.iter().zip(d)) {
        *dx = zero + if hit(x, m) { d } else { zero };
    }
}

/// `max_pool(x)`.
#[derive(Debug)]
struct MaxPool(PoolAttrs);

impl Op for MaxPool {
    fn kind(&self) -> &'static OpKind {
        &MAX_POOL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            self.0.infer_output(&i[0].shape)?,
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let x = k.input_as::<T>(0)?;
            let g = self.0.geometry(x.shape())?;
            let (xs, threads) = (flat(x), k.threads());
            let (in_len, out_len) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
            let y = k.stale_output::<T>(0, &g.out_shape(g.c));
            let y = y.as_slice_mut().expect("standard layout");
            by_images(&g, threads, y, out_len, |g, images, y| {
                max_pool_images(&xs[images.start * in_len..images.end * in_len], g, y);
            });
            Ok(())
        })
    }
    /// dx = dy routed to the first maximum of each window.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(max_pool_grad(c.x(0), c.dy(0), self.0))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// Max pooling of the `g.n` images `x` into `y`, on this thread.
pub(super) fn max_pool_images<T: Float>(x: &[T], g: &Geometry, y: &mut [T]) {
    if windows_tile(g) {
        max_pool_tiled(x, g, y);
    } else {
        for_each_window(x, g, |o, max, _| y[o..o + max.len()].copy_from_slice(max));
    }
}

/// The attributes of a max-pool node's op (for the session's fusion of
/// a convolution with the pool that is its only reader), or `None`.
pub(crate) fn max_pool_attrs(op: &dyn Op) -> Option<PoolAttrs> {
    op.as_any().downcast_ref::<MaxPool>().map(|p| p.0)
}

/// `tf.nn.max_pool(value, ksize, strides, padding)` over NHWC `value`:
/// the maximum of each window (padding never wins). The gradient goes to
/// the first maximum of each window, as TF's.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::{max_pool, Padding}};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(28), Some(28), Some(32)], "x");
/// let y = max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same);
/// assert_eq!(y.shape().to_string(), "[?, 14, 14, 32]");
/// ```
#[track_caller]
pub fn max_pool(
    value: Tensor,
    ksize: impl Into<Window>,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = MaxPool(PoolAttrs::new(ksize, strides, padding));
    value.graph().add_op(op, &[value])
}

/// Scatters a pooled gradient onto the argmax of each window of `x`.
#[derive(Debug)]
struct MaxPoolGrad(PoolAttrs);

/// MaxPoolGrad's kernel: `dx` from `x` (input 0) and the pooled gradient
/// `dy` (input 1). With `relu`, also relu's gradient at `x` taken as
/// relu's output (`dx` kept where `x > 0`), in the same pass: the fused
/// kernel of `relu_grad(max_pool_grad(y, dy), y)`, bitwise the same.
fn max_pool_grad_into<T: Float>(
    k: &mut ComputeCtx<'_>,
    attrs: &PoolAttrs,
    relu: bool,
) -> Result<(), KernelError> {
    let (x, dy) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
    let g = attrs.geometry(x.shape())?;
    check_shape("the pooled gradient", dy.shape(), &g.out_shape(g.c))?;
    let (xs, ds, threads) = (flat(x), flat(dy), k.threads());
    let (in_len, out_len) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    let dx = k.stale_output::<T>(0, x.shape());
    let dx = dx.as_slice_mut().expect("standard layout");
    let (zero, tiled) = (<T as Float>::from_f64(0.0), windows_tile(&g));
    by_images(&g, threads, dx, in_len, |g, images, dx| {
        let xs = &xs[images.start * in_len..images.end * in_len];
        let ds = &ds[images.start * out_len..images.end * out_len];
        if tiled {
            max_pool_grad_tiled(xs, ds, g, dx, relu);
            return;
        }
        dx.fill(zero);
        for_each_window(xs, g, |o, max, taps| {
            let d = &ds[o..o + max.len()];
            for_each_argmax_tap(xs, max, taps, |t, hits| {
                let block = dx[t..t + d.len()].iter_mut().zip(d).zip(hits);
                for ((x, &d), &hit) in block {
                    *x += if hit { d } else { zero };
                }
            });
        });
        if relu {
            for (dx, &x) in dx.iter_mut().zip(xs) {
                *dx = if x > zero { *dx } else { zero };
            }
        }
    });
    Ok(())
}

/// The session's fused `relu_grad(max_pool_grad(y, dy), y)` (inputs
/// `[y, dy]`), never a graph node.
#[derive(Debug)]
struct FusedMaxPoolReluGrad(PoolAttrs);

impl Op for FusedMaxPoolReluGrad {
    fn kind(&self) -> &'static OpKind {
        &FUSED_MAX_POOL_RELU_GRAD
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        super::fused::not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => max_pool_grad_into::<T>(k, &self.0, true))
    }
    fn attrs(&self) -> String {
        format!("{}, fuses ReluGrad", self.0.attrs())
    }
}

/// The fused kernel of `relu_grad(max_pool_grad(y, dy), y)` when `op` is a
/// max-pool gradient.
pub(crate) fn fused_max_pool_relu_grad(op: &dyn Op) -> Option<Arc<dyn Op>> {
    let grad = op.as_any().downcast_ref::<MaxPoolGrad>()?;
    Some(Arc::new(FusedMaxPoolReluGrad(grad.0)))
}

impl Op for MaxPoolGrad {
    fn kind(&self) -> &'static OpKind {
        &MAX_POOL_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.0.infer_grad(i, false)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => max_pool_grad_into::<T>(k, &self.0, false))
    }
    /// Piecewise constant in x (zero gradient); linear in dy: d dy = h gathered at the argmaxes.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let x = c.x(0);
        vec![
            Some(zeros_like(x)),
            Some(max_pool_grad_grad(x, c.dy(0), self.0)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

#[track_caller]
fn max_pool_grad(x: Tensor, dy: Tensor, attrs: PoolAttrs) -> Tensor {
    x.graph().add_op(MaxPoolGrad(attrs), &[x, dy])
}

/// Gathers an input-shaped tensor at the argmax of each window of `x`.
#[derive(Debug)]
struct MaxPoolGradGrad(PoolAttrs);

impl Op for MaxPoolGradGrad {
    fn kind(&self) -> &'static OpKind {
        &MAX_POOL_GRAD_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.0.infer_grad(i, true)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let (x, h) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
            let g = self.0.geometry(x.shape())?;
            check_shape("the gathered tensor", h.shape(), x.shape())?;
            let (xs, hs, threads) = (flat(x), flat(h), k.threads());
            let (in_len, out_len) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
            let y = k.stale_output::<T>(0, &g.out_shape(g.c));
            let y = y.as_slice_mut().expect("standard layout");
            by_images(&g, threads, y, out_len, |g, images, y| {
                let xs = &xs[images.start * in_len..images.end * in_len];
                let hs = &hs[images.start * in_len..images.end * in_len];
                for_each_window(xs, g, |o, max, taps| {
                    let y = &mut y[o..o + max.len()];
                    for_each_argmax_tap(xs, max, taps, |t, hits| {
                        let block = y.iter_mut().zip(&hs[t..t + hits.len()]).zip(hits);
                        for ((y, &h), &hit) in block {
                            if hit {
                                *y = h;
                            }
                        }
                    });
                });
            });
            Ok(())
        })
    }
    /// Piecewise constant in x (zero gradient); linear in h: d h = dy scattered to the argmaxes.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let x = c.x(0);
        vec![Some(zeros_like(x)), Some(max_pool_grad(x, c.dy(0), self.0))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

#[track_caller]
fn max_pool_grad_grad(x: Tensor, h: Tensor, attrs: PoolAttrs) -> Tensor {
    x.graph().add_op(MaxPoolGradGrad(attrs), &[x, h])
}

/// `avg_pool(x)`.
#[derive(Debug)]
struct AvgPool(PoolAttrs);

impl Op for AvgPool {
    fn kind(&self) -> &'static OpKind {
        &AVG_POOL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            self.0.infer_output(&i[0].shape)?,
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let x = k.input_as::<T>(0)?;
            let g = self.0.geometry(x.shape())?;
            let (xs, c) = (flat(x), g.c);
            let mut y = vec![<T as Float>::from_f64(0.0); g.positions() * c];
            g.windows(|pos, taps| {
                let count = <T as Float>::from_f64(taps.len().max(1) as f64);
                for ch in 0..c {
                    let total: T = taps.iter().map(|&t| xs[t + ch]).sum();
                    y[pos * c + ch] = total / count;
                }
            });
            k.set(0, array(&g.out_shape(c), y));
            Ok(())
        })
    }
    /// dx = each dy spread evenly over its window's in-bounds inputs.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(avg_pool_grad(c.x(0), c.dy(0), self.0))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.avg_pool(value, ksize, strides, padding)` over NHWC `value`:
/// the mean of each window; with `SAME` padding, of its in-bounds
/// elements only.
#[track_caller]
pub fn avg_pool(
    value: Tensor,
    ksize: impl Into<Window>,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = AvgPool(PoolAttrs::new(ksize, strides, padding));
    value.graph().add_op(op, &[value])
}

/// Spreads a pooled gradient evenly over each window of an input shape.
#[derive(Debug)]
struct AvgPoolGrad(PoolAttrs);

impl Op for AvgPoolGrad {
    fn kind(&self) -> &'static OpKind {
        &AVG_POOL_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.0.infer_grad(i, false)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(1), T => {
            let shape = k.input(0).shape();
            let dy = k.input_as::<T>(1)?;
            let g = self.0.geometry(shape)?;
            check_shape("the pooled gradient", dy.shape(), &g.out_shape(g.c))?;
            let (ds, c) = (flat(dy), g.c);
            let mut dx = vec![<T as Float>::from_f64(0.0); g.input_len()];
            g.windows(|pos, taps| {
                let count = <T as Float>::from_f64(taps.len().max(1) as f64);
                for ch in 0..c {
                    let share = ds[pos * c + ch] / count;
                    for &t in taps {
                        dx[t + ch] += share;
                    }
                }
            });
            k.set(0, array(shape, dx));
            Ok(())
        })
    }
    /// Linear in dy with avg_pool as its adjoint: d dy = avg_pool(h).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let PoolAttrs {
            ksize,
            strides,
            padding,
        } = self.0;
        vec![None, Some(avg_pool(c.dy(0), ksize, strides, padding))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

#[track_caller]
fn avg_pool_grad(x: Tensor, dy: Tensor, attrs: PoolAttrs) -> Tensor {
    x.graph().add_op(AvgPoolGrad(attrs), &[x, dy])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use ndarray::{ArrayD, IxDyn};

    /// Max pooling and its gradients split over threads give one thread's
    /// values (each image is pooled on its own).
    #[test]
    fn threads_agree_with_one_thread() {
        let attrs = PoolAttrs::new(3, 2, Padding::Same);
        let x = ArrayD::from_shape_fn(IxDyn(&[12, 28, 28, 32]), |i| {
            ((i[0] * 5 + i[1] * 7 + i[2] * 13 + i[3]) % 17) as f32
        });
        let dy = ArrayD::from_shape_fn(IxDyn(&[12, 14, 14, 32]), |i| (i[1] + i[3]) as f32);
        let run = |op: &dyn Op, inputs: &[&Value], threads| {
            let mut out = [Value::from(ArrayD::<f32>::zeros(IxDyn(&[0])))];
            let mut k = ComputeCtx::new(inputs, &mut out, &mut [], None).with_threads(threads);
            op.compute(&mut k).expect("compute");
            let [v] = out;
            v
        };
        let (x, dy) = (Value::from(x), Value::from(dy));
        let h = x.clone();
        let cases: [(&dyn Op, [&Value; 2]); 3] = [
            (&MaxPool(attrs), [&x, &x]),
            (&MaxPoolGrad(attrs), [&x, &dy]),
            (&MaxPoolGradGrad(attrs), [&x, &h]),
        ];
        for (op, inputs) in cases {
            let inputs = &inputs[..if op.kind().name == "MaxPool" { 1 } else { 2 }];
            assert_eq!(run(op, inputs, 1), run(op, inputs, 2), "{}", op.kind().name);
        }
    }
}
