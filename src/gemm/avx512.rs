//! The AVX-512 path of [`sgemm`](super::sgemm): BLIS-style blocking around
//! a 12 x 32 microkernel that vectorizes along the rows of `C` (24 zmm
//! accumulators; per step of `k`, two loads of `B` and 12 broadcasts of
//! `A` folded into the FMAs).
//!
//! Loops, outermost first: columns of `C` in blocks of [`NC`] (all of `k`
//! of the block of `B` packed up front, in 32-column panels), rows in
//! blocks of [`MC`], `k` in blocks of at most [`KC`], then 32-column panels
//! of `B` and 12-row panels of `A`: one microkernel call each. A `B` panel
//! (`KC x 32`) stays in L1 while the kernel walks down the rows; the `MC`
//! rows of `C` stay in cache across the `k` blocks. `A` is read in place
//! when its rows are contiguous (the usual `x W` layout: packing it cost
//! more than it saved, up to 1.7x at `m = 10000`); otherwise, and for the
//! last panel of fewer than 12 rows, it is packed. The last `k` block adds
//! the bias and applies relu before its stores.

use super::Epilogue;
use ndarray::{ArrayView2, ArrayViewMut2};
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of the microkernel's tile (12 rows x 2 vectors = 24 accumulators).
const MR: usize = 12;
/// Columns of the microkernel's tile: two 16-lane vectors.
const NR: usize = 32;
/// Most of `k` per block: a packed 32-column panel of `B` is `KC * 128`
/// bytes and stays in L1 (48 KB). 384 and 512 measured the same.
const KC: usize = 256;
/// Rows per block (a multiple of [`MR`]): `MC * KC * 4` bytes of `A` stay
/// in L2 (1 MB). 48 to 144 measured alike, 192 and 384 up to 7% slower
/// at `k = 3136`.
const MC: usize = 96;
/// Columns per block of `B` (a multiple of [`NR`]); the packed block is
/// `k * NC * 4` bytes (3.2 MB at `k = 3136`). 1024 (the whole of `B` at
/// `k = 3136, n = 1024`, 12.8 MB) was 15% slower there, 512 5%.
const NC: usize = 256;

/// Whether this CPU runs AVX-512 (std caches the detection).
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// 64 bytes of f32s, so packed panels are aligned for vector loads.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; 16]);

/// A thread's packing buffers; they only grow.
#[derive(Default)]
struct Workspace {
    a: Vec<Line>,
    b: Vec<Line>,
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::default();
}

/// At least `len` f32s of `lines`, 64-byte aligned, grown if needed.
fn grow(lines: &mut Vec<Line>, len: usize) -> &mut [f32] {
    if lines.len() * 16 < len {
        lines.resize(len.div_ceil(16), Line([0.0; 16]));
    }
    // SAFETY: `Line` is `repr(C)` around `[f32; 16]` without padding, so
    // the lines are `16 * lines.len()` contiguous, initialized f32s.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<f32>(), lines.len() * 16) }
}

/// A strided matrix in memory: element `(i, j)` is at `ptr + i rs + j cs`.
#[derive(Clone, Copy)]
struct Mat {
    ptr: *const f32,
    rs: isize,
    cs: isize,
}

impl Mat {
    fn of(v: &ArrayView2<'_, f32>) -> Mat {
        Mat {
            ptr: v.as_ptr(),
            rs: v.strides()[0],
            cs: v.strides()[1],
        }
    }

    /// The address of element `(i, j)`.
    ///
    /// # Safety
    ///
    /// `(i, j)` is inside the matrix.
    unsafe fn at(self, i: usize, j: usize) -> *const f32 {
        // SAFETY: `(i, j)` is inside the matrix (the caller's promise), so the
        // offset stays inside its allocation.
        unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }
}

/// Where a microkernel stores its tile, and how.
struct Dest {
    /// The tile's first element in `C`.
    c: *mut f32,
    /// `C`'s row stride (its columns are contiguous).
    rsc: isize,
    /// Rows of the tile to store (at most [`MR`]).
    rows: usize,
    /// Columns of the tile to store (at most [`NR`]).
    cols: usize,
    /// Add the tile to `C` (else overwrite).
    accumulate: bool,
    /// The bias of the tile's first column, on the last `k` block.
    bias: Option<*const f32>,
    /// Apply relu (on the last `k` block).
    relu: bool,
}

/// `C = A B` or `C += A B` with the epilogue. The caller checked the
/// shapes, `m, n, k > 0`, AVX-512, and that `C`'s columns are contiguous
/// (or `n == 1`).
pub(super) fn gemm(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    epilogue: &Epilogue<'_>,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let (am, bm) = (Mat::of(&a), Mat::of(&b));
    // `transposed` packs the small `A^T` (k x m) and copies `C` (m x n)
    // back, instead of packing `B` (k x n): it pays when k > m.
    if m <= MC && n > m && k > m && bm.rs == 1 && bm.cs != 1 && am.cs == 1 {
        transposed(a, b, c, epilogue);
        return;
    }
    let rsc = c.strides()[0];
    let cp = c.as_mut_ptr();
    // Equal k blocks, so the last one is not a sliver.
    let kc_max = k.div_ceil(k.div_ceil(KC));
    // With one block of rows (m <= MC) each block of B is used once: pack
    // it just before its use, so it is still in L2 (a whole column block
    // of B, k x NC, would not be at k = 3136). With several, pack the
    // column block once up front for all of them.
    let one_row_block = m <= MC;
    let b_rows = if one_row_block { kc_max } else { k };
    WORKSPACE.with_borrow_mut(|ws| {
        let pa = grow(&mut ws.a, MC.min(m.next_multiple_of(MR)) * kc_max);
        let pb = grow(&mut ws.b, NC.min(n.next_multiple_of(NR)) * b_rows);
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let stride = nc.next_multiple_of(NR);
            if !one_row_block {
                for pc in (0..k).step_by(kc_max) {
                    let kc = kc_max.min(k - pc);
                    // SAFETY: the block is inside B and `pb` holds `stride
                    // * k` f32s, 64-byte aligned, of which the block takes
                    // `stride * kc` from `stride * pc`.
                    unsafe { pack_b(bm, pc, jc, kc, nc, pb[stride * pc..].as_mut_ptr()) };
                }
            }
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                // Rows `..direct` of the block are read in place, the
                // others packed.
                let direct = if am.cs == 1 { mc / MR * MR } else { 0 };
                for pc in (0..k).step_by(kc_max) {
                    let kc = kc_max.min(k - pc);
                    let last = pc + kc == k;
                    if direct < mc {
                        // SAFETY: the rows are inside A and `pa` holds
                        // `mc.next_multiple_of(MR) * kc` f32s.
                        unsafe { pack_a(am, ic + direct, pc, mc - direct, kc, pa.as_mut_ptr()) };
                    }
                    let block_b = if one_row_block {
                        // SAFETY: the block is inside B and `pb` holds
                        // `stride * kc_max` f32s, 64-byte aligned.
                        unsafe { pack_b(bm, pc, jc, kc, nc, pb.as_mut_ptr()) };
                        &pb[..stride * kc]
                    } else {
                        &pb[stride * pc..stride * (pc + kc)]
                    };
                    for jr in (0..nc).step_by(NR) {
                        let panel_b = &block_b[jr * kc..(jr + NR) * kc];
                        for ir in (0..mc).step_by(MR) {
                            let dest = Dest {
                                // SAFETY: `(ic + ir, jc + jr)` is inside C.
                                c: unsafe {
                                    cp.offset((ic + ir) as isize * rsc + (jc + jr) as isize)
                                },
                                rsc,
                                rows: MR.min(mc - ir),
                                cols: NR.min(nc - jr),
                                accumulate: pc > 0 || epilogue.accumulate,
                                bias: epilogue
                                    .bias
                                    .filter(|_| last)
                                    .map(|bias| bias[jc + jr..].as_ptr()),
                                relu: last && epilogue.relu,
                            };
                            // SAFETY: the tile is inside C (column stride
                            // 1, or one column); A's panel is `MR` rows of
                            // `kc` contiguous values inside A, or a packed
                            // panel of `kc` steps; the bias has `cols`
                            // values from its pointer.
                            unsafe {
                                if ir < direct {
                                    tile::<true>(am.at(ic + ir, pc), am.rs, panel_b, &dest);
                                } else {
                                    let a = pa[(ir - direct) * kc..].as_ptr();
                                    tile::<false>(a, 0, panel_b, &dest);
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

thread_local! {
    /// A thread's buffer for the transpose of `C` in [`transposed`].
    static TRANSPOSED_C: RefCell<Vec<Line>> = RefCell::default();
}

/// `C = A B` as `C^T = B^T A^T`, for a few rows of `A` against a `B`
/// that is the transpose of a large row-major matrix (`dx = dy W^T`): the
/// plain order would pack all of `B` through transposes for a few rows'
/// use, while this one reads `B^T`'s rows in place and packs only the
/// small `A^T`. Each element is the same sum in the same order, and the
/// epilogue is applied in the same order when `C^T` is copied back, so
/// the result is bitwise the plain order's.
fn transposed(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    epilogue: &Epilogue<'_>,
) {
    let (m, n) = (a.nrows(), b.ncols());
    TRANSPOSED_C.with_borrow_mut(|buf| {
        let ct = grow(buf, m * n);
        let mut ct = ArrayViewMut2::from_shape((n, m), &mut ct[..m * n]).expect("sized");
        if epilogue.accumulate {
            ct.assign(&c.t());
        }
        let plain = Epilogue {
            accumulate: epilogue.accumulate,
            ..Epilogue::default()
        };
        gemm(b.t(), a.t(), ct.view_mut(), &plain);
        let ct = ct.as_slice().expect("contiguous");
        let rsc = c.strides()[0];
        let cp = c.as_mut_ptr();
        for i in 0..m {
            // SAFETY: row `i` of C has `n` contiguous values (its columns
            // are contiguous, as the caller checked).
            let row = unsafe { std::slice::from_raw_parts_mut(cp.offset(i as isize * rsc), n) };
            for (j, y) in row.iter_mut().enumerate() {
                *y = ct[j * m + i];
            }
            if let Some(bias) = epilogue.bias {
                row.iter_mut().zip(bias).for_each(|(y, b)| *y += b);
            }
            if epilogue.relu {
                // As the microkernel's `max(0, x)`: NaN and -0 stay.
                row.iter_mut().filter(|y| **y < 0.0).for_each(|y| *y = 0.0);
            }
        }
    });
}

/// The microkernel for `dest`'s columns (one or two vectors) and rows (a
/// last panel of 4 or 8 rows computes only those, not all of [`MR`]).
///
/// # Safety
///
/// As for [`kernel`].
unsafe fn tile<const DIRECT: bool>(a: *const f32, rsa: isize, panel_b: &[f32], dest: &Dest) {
    // SAFETY: the caller upholds `kernel`'s contract, and each arm picks
    // the kernel whose vectors (`NV`) and rows (`ROWS`) cover `dest`'s.
    unsafe {
        match (dest.cols > 16, dest.rows) {
            (true, 0..=4) => kernel::<2, DIRECT, 4>(a, rsa, panel_b, dest),
            (true, 5..=8) => kernel::<2, DIRECT, 8>(a, rsa, panel_b, dest),
            (true, _) => kernel::<2, DIRECT, MR>(a, rsa, panel_b, dest),
            (false, 0..=4) => kernel::<1, DIRECT, 4>(a, rsa, panel_b, dest),
            (false, 5..=8) => kernel::<1, DIRECT, 8>(a, rsa, panel_b, dest),
            (false, _) => kernel::<1, DIRECT, MR>(a, rsa, panel_b, dest),
        }
    }
}

/// The mask of the first `n` of 16 lanes.
fn lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        0xffff
    } else {
        (1 << n) - 1
    }
}

/// The `ROWS x (16 NV)` tile `A panel_b` stored into the first
/// `dest.rows` rows and `dest.cols` columns of `dest`, as it says. `A` is
/// a packed panel at `a` (`kc` steps of [`MR`], of which the first `ROWS`
/// rows are used), or with `DIRECT` `ROWS` rows of `kc` contiguous values
/// at `a` with row stride `rsa`.
///
/// # Safety
///
/// AVX-512F is available; `A` is as described, with the `kc` of `panel_b`
/// (`kc` steps of [`NR`], 64-byte aligned); `16 (NV - 1) < cols <= 16 NV`,
/// `rows <= ROWS <= MR`, and `dest.c`, `dest.rsc` address a `rows x cols` matrix
/// with contiguous rows, as does the bias (one row of `cols`).
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const NV: usize, const DIRECT: bool, const ROWS: usize>(
    a: *const f32,
    rsa: isize,
    panel_b: &[f32],
    dest: &Dest,
) {
    // SAFETY: the caller upholds the contract above, so every read is
    // inside `A`'s panel, `panel_b` (aligned for `_mm512_load_ps`) or the
    // bias, and every store inside the `rows x cols` tile of `dest`.
    unsafe {
        let kc = panel_b.len() / NR;
        let b = panel_b.as_ptr();
        // Element (i, p) of A's panel is at `a + i rsa + p csa`.
        let (rsa, csa) = if DIRECT { (rsa, 1) } else { (1, MR as isize) };
        let mut acc = [[_mm512_setzero_ps(); NV]; ROWS];
        for p in 0..kc {
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm512_load_ps(b.add(p * NR + 16 * v));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.offset(i as isize * rsa + p as isize * csa));
                for (x, &bx) in row.iter_mut().zip(&bv) {
                    *x = _mm512_fmadd_ps(ai, bx, *x);
                }
            }
        }
        let zero = _mm512_setzero_ps();
        for (i, row) in acc.iter().enumerate().take(dest.rows) {
            let ci = dest.c.offset(i as isize * dest.rsc);
            for (v, &x) in row.iter().enumerate() {
                let mask = lanes(dest.cols - 16 * v);
                let mut y = x;
                if dest.accumulate {
                    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, ci.add(16 * v)));
                }
                if let Some(bias) = dest.bias {
                    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, bias.add(16 * v)));
                }
                if dest.relu {
                    // `max(0, y)` returns its second operand for NaN.
                    y = _mm512_max_ps(zero, y);
                }
                _mm512_mask_storeu_ps(ci.add(16 * v), mask, y);
            }
        }
    }
}

/// `B[pc.., jc..]`'s `kc x nc` block into 32-column panels at `dst`: panel
/// `q` at `q kc NR`, element `(p, j)` at `p NR + j`, zero beyond `nc`.
///
/// # Safety
///
/// AVX-512F is available; the block is inside `b`; `dst` is 64-byte
/// aligned and holds `nc.next_multiple_of(NR) * kc` f32s.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b(b: Mat, pc: usize, jc: usize, kc: usize, nc: usize, dst: *mut f32) {
    // SAFETY: the caller upholds the contract above, so every read is
    // inside the block of `b` and every store inside `dst` (aligned for
    // `_mm512_store_ps`: panels start at multiples of `NR` f32s).
    unsafe {
        for (q, j0) in (0..nc).step_by(NR).enumerate() {
            let w = NR.min(nc - j0);
            let d = dst.add(q * NR * kc);
            if b.cs == 1 || w == 1 {
                // Rows are contiguous: masked copies.
                let (m0, m1) = (lanes(w), lanes(w.saturating_sub(16)));
                for p in 0..kc {
                    let s = b.at(pc + p, jc + j0);
                    _mm512_store_ps(d.add(p * NR), _mm512_maskz_loadu_ps(m0, s));
                    let hi = _mm512_maskz_loadu_ps(m1, s.wrapping_add(16));
                    _mm512_store_ps(d.add(p * NR + 16), hi);
                }
            } else if b.rs == 1 {
                // Columns are contiguous: 16 x 16 transposes.
                for h in (0..NR).step_by(16) {
                    let cols = w.saturating_sub(h).min(16);
                    for p in (0..kc).step_by(16) {
                        let steps = 16.min(kc - p);
                        let mut r = [_mm512_setzero_ps(); 16];
                        for (j, x) in r.iter_mut().enumerate().take(cols) {
                            *x = _mm512_maskz_loadu_ps(lanes(steps), b.at(pc + p, jc + j0 + h + j));
                        }
                        let t = transpose16(r);
                        for (s, &x) in t.iter().enumerate().take(steps) {
                            _mm512_store_ps(d.add((p + s) * NR + h), x);
                        }
                    }
                }
            } else {
                for p in 0..kc {
                    for j in 0..NR {
                        *d.add(p * NR + j) = if j < w {
                            *b.at(pc + p, jc + j0 + j)
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
}

/// `A[ic.., pc..]`'s `mc x kc` block into 12-row panels at `dst`: panel
/// `q` at `q kc MR`, element `(i, p)` at `p MR + i`, zero beyond `mc`.
///
/// # Safety
///
/// AVX-512F is available; the block is inside `a`; `dst` holds
/// `mc.next_multiple_of(MR) * kc` f32s.
#[target_feature(enable = "avx512f")]
unsafe fn pack_a(a: Mat, ic: usize, pc: usize, mc: usize, kc: usize, dst: *mut f32) {
    // SAFETY: the caller upholds the contract above, so every read is
    // inside the block of `a` and every store inside `dst`.
    unsafe {
        for (q, i0) in (0..mc).step_by(MR).enumerate() {
            let rows = MR.min(mc - i0);
            let d = dst.add(q * MR * kc);
            if a.rs == 1 {
                // Columns are contiguous: masked copies.
                for p in 0..kc {
                    let x = _mm512_maskz_loadu_ps(lanes(rows), a.at(ic + i0, pc + p));
                    _mm512_mask_storeu_ps(d.add(p * MR), lanes(MR), x);
                }
            } else if a.cs == 1 {
                // Rows are contiguous: 16 x 16 transposes (12 rows used).
                for p in (0..kc).step_by(16) {
                    let steps = 16.min(kc - p);
                    let mut r = [_mm512_setzero_ps(); 16];
                    for (i, x) in r.iter_mut().enumerate().take(rows) {
                        *x = _mm512_maskz_loadu_ps(lanes(steps), a.at(ic + i0 + i, pc + p));
                    }
                    let t = transpose16(r);
                    for (s, &x) in t.iter().enumerate().take(steps) {
                        _mm512_mask_storeu_ps(d.add((p + s) * MR), lanes(MR), x);
                    }
                }
            } else {
                for p in 0..kc {
                    for i in 0..MR {
                        *d.add(p * MR + i) = if i < rows {
                            *a.at(ic + i0 + i, pc + p)
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
}

/// The transpose of a 16 x 16 matrix held as 16 row vectors.
#[target_feature(enable = "avx512f")]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    // Interleave pairs of rows (32-bit), then pairs of pairs (64-bit):
    // `u[4 g + c]` holds, in its 128-bit lane `l`, column `c + 4 l` of
    // rows `4 g .. 4 g + 4`.
    let mut t = [_mm512_setzero_ps(); 16];
    for i in (0..16).step_by(2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    let mut u = [_mm512_setzero_ps(); 16];
    for g in (0..16).step_by(4) {
        let pd = |x: __m512| _mm512_castps_pd(x);
        let ps = |x: __m512d| _mm512_castpd_ps(x);
        u[g] = ps(_mm512_unpacklo_pd(pd(t[g]), pd(t[g + 2])));
        u[g + 1] = ps(_mm512_unpackhi_pd(pd(t[g]), pd(t[g + 2])));
        u[g + 2] = ps(_mm512_unpacklo_pd(pd(t[g + 1]), pd(t[g + 3])));
        u[g + 3] = ps(_mm512_unpackhi_pd(pd(t[g + 1]), pd(t[g + 3])));
    }
    // Gather lane `l` of the four groups for column `c + 4 l`.
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        let v01 = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
        let w01 = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]);
        let v23 = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
        let w23 = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(v01, v23);
        out[c + 8] = _mm512_shuffle_f32x4::<0xdd>(v01, v23);
        out[c + 4] = _mm512_shuffle_f32x4::<0x88>(w01, w23);
        out[c + 12] = _mm512_shuffle_f32x4::<0xdd>(w01, w23);
    }
    out
}
