//! The convolution kernels over flat NHWC slices: the forward product
//! (with the fused epilogue: bias, relu, and max pooling of each tile
//! while it is in cache) and the input and filter gradients. A batch is
//! cut into tiles of whole images whose patches matrix is bounded
//! ([`TILE_ELEMS`]), shared among threads so the result does not depend
//! on timing.

use super::im2col::{col2im_into, patches};
use super::pool_kernels::max_pool_images;
use super::window::Geometry;
use crate::gemm::mat_mul;
use crate::ops::scratch::with_scratch;
use crate::ops::Float;
use ndarray::{ArrayView2, ArrayViewMut2};
use std::ops::Range;
use std::sync::Mutex;

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

/// conv2d into `y` (`[n*oh*ow, o]` row-major): per tile, im2col and one
/// product, with `epilogue`'s bias added to every output position and
/// then relu if it says so (the fused kernel's) while the tile is in cache.
/// With a pooling geometry (of the whole output) in `epilogue`, the max
/// pooling of each tile's output goes to `y` instead, so the convolution's
/// output is never stored whole.
pub(super) fn conv_forward<T: Float>(
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
                max_pool_images(conv_out, &tile, out);
            },
        );
    });
}

/// The input gradient into `dx`: per tile, `dy f^T` and col2im.
pub(super) fn conv_backprop_input<T: Float>(
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
pub(super) fn conv_backprop_filter<T: Float>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::cnn::window::{Padding, Window};

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
}
