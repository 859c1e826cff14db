//! A fast single-precision matrix product for the kernels' hot paths.
//!
//! [`sgemm`] computes `C = A B` or `C += A B` on ndarray views of any
//! strides (transposed operands are just `.t()` views), then applies an
//! optional [`Epilogue`] (a bias row and/or relu) to the final values while
//! each tile of `C` is still in registers.
//!
//! On x86-64 CPUs with AVX-512 (detected at run time) it runs a BLIS-style
//! blocked product with its own microkernel; the packing buffers live in a
//! per-thread workspace that only grows, so once a thread has run a product
//! of a given size, products up to that size allocate nothing. Elsewhere
//! (and when `C`'s rows are not contiguous) it falls back to ndarray's
//! `general_mat_mul` (the matrixmultiply crate) plus a pass for the
//! epilogue.

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(test)]
mod tests;

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, LinalgScalar};
use std::any::TypeId;

/// What [`sgemm`] does with the product `A B` besides storing it.
///
/// The default overwrites `C` with `A B` and applies nothing else.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Epilogue<'a> {
    /// `C += A B` instead of `C = A B`.
    pub accumulate: bool,
    /// A row vector (one value per column of `C`) added to every row of
    /// the result.
    pub bias: Option<&'a [f32]>,
    /// `max(0, x)` of every result, after the bias (NaN stays NaN).
    pub relu: bool,
}

/// `C = A B` (or `C += A B` with [`Epilogue::accumulate`]), then the
/// epilogue's bias row and relu on the final values of `C`.
///
/// `a` is `m x k`, `b` is `k x n` and `c` is `m x n`; any of them may be
/// strided or transposed views. Only the result is written: when not
/// accumulating, `c`'s old values are never read (NaNs in it are harmless).
///
/// # Panics
///
/// If the shapes do not fit (`a.ncols() != b.nrows()`, `c` not
/// `a.nrows() x b.ncols()`, or a bias whose length is not `b.ncols()`).
pub fn sgemm(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    epilogue: Epilogue<'_>,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "sgemm: shapes do not fit: [{m}, {k}] x [{}, {n}] into {:?}",
        b.nrows(),
        c.dim()
    );
    if let Some(bias) = epilogue.bias {
        assert_eq!(bias.len(), n, "sgemm: bias length differs from n = {n}");
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !epilogue.accumulate {
            c.fill(0.0);
        }
        bias_relu(c, epilogue.bias, epilogue.relu);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if avx512::available() && (n == 1 || c.strides()[1] == 1) {
        avx512::gemm(a, b, c, &epilogue);
        return;
    }
    let beta = if epilogue.accumulate { 1.0 } else { 0.0 };
    general_mat_mul(1.0, &a, &b, beta, &mut c);
    bias_relu(c, epilogue.bias, epilogue.relu);
}

/// Adds `bias` to every row of `c`, then relu (which keeps NaN): the
/// epilogue as a separate pass, where the product had none.
fn bias_relu<T: LinalgScalar + PartialOrd>(
    mut c: ArrayViewMut2<'_, T>,
    bias: Option<&[T]>,
    relu: bool,
) {
    if bias.is_none() && !relu {
        return;
    }
    for mut row in c.rows_mut() {
        if let Some(bias) = bias {
            row.iter_mut().zip(bias).for_each(|(x, &b)| *x = *x + b);
        }
        if relu {
            // Not `max`: relu keeps NaN.
            row.iter_mut()
                .filter(|x| **x < T::zero())
                .for_each(|x| *x = T::zero());
        }
    }
}

/// `c = a b` (or `c += a b` when `accumulate`), then `bias` added to every
/// row and relu, for any element type: f32 runs [`sgemm`] (the bias and
/// relu in its epilogue), the others ndarray's `general_mat_mul` and a
/// pass.
pub(crate) fn mat_mul<T: LinalgScalar + PartialOrd>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    mut c: ArrayViewMut2<'_, T>,
    accumulate: bool,
    bias: Option<&[T]>,
    relu: bool,
) {
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32, so the casts change nothing; the views and the
        // slice keep their shapes, strides, lengths and lifetimes.
        let (a, b, c, bias) = unsafe {
            (
                a.raw_view().cast::<f32>().deref_into_view(),
                b.raw_view().cast::<f32>().deref_into_view(),
                c.raw_view_mut().cast::<f32>().deref_into_view_mut(),
                bias.map(|s| std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len())),
            )
        };
        sgemm(
            a,
            b,
            c,
            Epilogue {
                accumulate,
                bias,
                relu,
            },
        );
    } else {
        let beta = if accumulate { T::one() } else { T::zero() };
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        bias_relu(c, bias, relu);
    }
}
