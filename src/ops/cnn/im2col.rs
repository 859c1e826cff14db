//! Patches of a convolution: im2col (each output position's window as a
//! row, zeros in the padding), its transposed form for inputs of few
//! channels, and col2im (the adjoint: patches summed back onto the
//! images), all walking the same runs of taps.

use super::window::Geometry;
use crate::ops::Float;
use ndarray::ArrayView2;

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
pub(super) fn patches<'b, T: Float>(
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
pub(super) fn col2im_into<T: Float>(cols: &[T], g: &Geometry, images: usize, x: &mut [T]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::cnn::window::{Padding, Window};

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
