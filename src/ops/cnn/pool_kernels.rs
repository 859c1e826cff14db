//! The max-pooling kernels over flat NHWC slices: the pooling, its
//! gradient (scattering to each window's first maximum under `>`, with
//! relu's gradient in the same pass when fused) and the gradient's adjoint
//! (gathering from that maximum). Windows that tile their input (stride =
//! window, no padding before) take a faster path with the same results.
//! Large batches are split by images over threads.

use super::window::Geometry;
use crate::ops::Float;
use smallvec::SmallVec;
use std::ops::Range;

/// Least input elements of a max pooling op split over threads.
const PARALLEL_MIN_LEN: usize = 1 << 18;

/// Runs `work(g, images, out)` on contiguous shares of the batch, one per
/// thread (large inputs only; the last share may be smaller): `g` is the geometry of the share's images,
/// `out` its part of `out_all` (`out_per_image` elements per image).
pub(super) fn by_images<T: Float>(
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

/// Max pooling of the `g.n` images `x` into `y`, on this thread.
pub(super) fn max_pool_images<T: Float>(x: &[T], g: &Geometry, y: &mut [T]) {
    if windows_tile(g) {
        max_pool_tiled(x, g, y);
    } else {
        for_each_window(x, g, |o, max, _| y[o..o + max.len()].copy_from_slice(max));
    }
}

/// The gradient of max pooling the `g.n` images `xs`, given the pooled
/// gradient `ds`, into `dx`, on this thread. With `relu`, also relu's
/// gradient at `xs` taken as relu's output (`dx` kept where `xs > 0`), in
/// the same pass: the fused kernel of `relu_grad(max_pool_grad(y, dy),
/// y)`, bitwise the same.
pub(super) fn max_pool_grad_images<T: Float>(
    xs: &[T],
    ds: &[T],
    g: &Geometry,
    dx: &mut [T],
    relu: bool,
) {
    let zero = <T as Float>::from_f64(0.0);
    if windows_tile(g) {
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
}

/// `hs` (input-shaped, like the `g.n` images `xs`) gathered at the first
/// maximum of each window of `xs` into `y`, on this thread: the adjoint
/// of [`max_pool_grad_images`].
pub(super) fn max_pool_grad_grad_images<T: Float>(xs: &[T], hs: &[T], g: &Geometry, y: &mut [T]) {
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
}
