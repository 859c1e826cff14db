//! The window geometry that convolution and pooling share: where the
//! windows of a `ksize`/`strides`/`padding` triple fall on an NHWC input,
//! TF's padding rules (`SAME` puts the odd padded row or column at the
//! bottom/right) for static and concrete sizes, and the input checks both
//! families make. Conv and pool meet only here.

use crate::dtype::{Dim, Shape};
use crate::graph::TensorSpec;
use crate::ops::Float;
use ndarray::ArrayD;
use std::borrow::Cow;

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
