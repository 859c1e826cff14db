//! [`sgemm`] against a naive f64-accumulated product: many shapes (every
//! remainder of the blocking), the four transposition combinations,
//! strided views, accumulation, bias and relu; and that a repeated product
//! allocates nothing, counted by this test binary's global allocator (per
//! thread, so the crate's other unit tests running beside these do not
//! count).

use super::{sgemm, Epilogue};
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to `System` unchanged; counting
// allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the slot may be gone while the thread exits.
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn bias_relu_and_accumulation_on_views() {
    use ndarray::array;
    let x = array![[1.0f32, 2.0], [3.0, 4.0]];
    let w = array![[1.0f32, -1.0], [0.5, -2.0]];
    let bias = [0.5f32, 1.0];
    let mut y = Array2::<f32>::zeros((2, 2));
    // y = relu(x w + bias)
    let epilogue = Epilogue {
        bias: Some(&bias),
        relu: true,
        ..Epilogue::default()
    };
    sgemm(x.view(), w.view(), y.view_mut(), epilogue);
    assert_eq!(y, array![[2.5f32, 0.0], [5.5, 0.0]]);
    // y += x^T x (a transposed operand is a view)
    let accumulate = Epilogue {
        accumulate: true,
        ..Epilogue::default()
    };
    sgemm(x.t(), x.view(), y.view_mut(), accumulate);
    assert_eq!(y, array![[12.5f32, 14.0], [19.5, 20.0]]);
}

/// Deterministic values in [-1, 1) with a sprinkling of exact zeros.
fn filled(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let h = (i * 7919 + j * 104_729 + seed * 15_485_863) % 1_000_003;
        (h % 2000) as f32 / 1000.0 - 1.0
    })
}

/// `c` after `sgemm(a, b, c, e)`, checked against the f64 reference with
/// a tolerance of `1e-5 sqrt(k)` relative to the sum of `|a| |b|` (plus
/// `|c|` and `|bias|`).
fn check(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
    e: Epilogue<'_>,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let old = c.to_owned();
    sgemm(a, b, c.view_mut(), e);
    let tol = 1e-5 * (k.max(1) as f64).sqrt();
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut scale) = (0.0f64, 0.0f64);
            for p in 0..k {
                let x = f64::from(a[[i, p]]) * f64::from(b[[p, j]]);
                sum += x;
                scale += x.abs();
            }
            if e.accumulate {
                sum += f64::from(old[[i, j]]);
                scale += f64::from(old[[i, j]]).abs();
            }
            if let Some(bias) = e.bias {
                sum += f64::from(bias[j]);
                scale += f64::from(bias[j]).abs();
            }
            if e.relu {
                sum = sum.max(0.0);
            }
            let got = f64::from(c[[i, j]]);
            assert!(
                (got - sum).abs() <= tol * scale.max(1e-30),
                "[{m}, {k}] x [{k}, {n}] {e:?}: c[{i}, {j}] = {got}, expected {sum}"
            );
        }
    }
}

/// Every transposition combination of an `m x k` by `k x n` product, with
/// and without accumulation, bias and relu.
fn check_all(m: usize, k: usize, n: usize) {
    let bias: Vec<f32> = (0..n).map(|j| (j % 7) as f32 * 0.25 - 0.75).collect();
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a0 = if ta { filled(k, m, 1) } else { filled(m, k, 1) };
        let b0 = if tb { filled(n, k, 2) } else { filled(k, n, 2) };
        let a = if ta { a0.t() } else { a0.view() };
        let b = if tb { b0.t() } else { b0.view() };
        for (accumulate, with_bias, relu) in [
            (false, false, false),
            (true, false, false),
            (false, true, true),
            (true, true, false),
            (false, false, true),
        ] {
            let e = Epilogue {
                accumulate,
                bias: with_bias.then_some(&bias[..]),
                relu,
            };
            let mut c = filled(m, n, 3);
            check(a, b, c.view_mut(), e);
        }
    }
}

#[test]
fn small_shapes_in_every_layout() {
    let sizes = [
        0, 1, 2, 3, 5, 8, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40,
    ];
    for &m in &sizes {
        for &n in &sizes {
            for &k in &[0, 1, 2, 7, 16, 17, 40] {
                check_all(m, k, n);
            }
        }
    }
}

#[test]
fn blocking_remainders() {
    for (m, k, n) in [
        (13, 1000, 37),
        (1, 300, 1),
        (200, 1, 300),
        (1, 513, 70),
        (70, 513, 1),
        (193, 257, 1025),
        (37, 600, 1100),
        (300, 40, 33),
    ] {
        check_all(m, k, n);
    }
}

#[test]
fn the_mlp_and_cnn_shapes() {
    for (m, k, n) in [
        (128, 784, 200),
        (784, 128, 200),
        (128, 200, 100),
        (200, 128, 100),
        (128, 100, 10),
        (100, 128, 10),
        (128, 200, 784),
        (1000, 800, 64),
        (300, 3136, 128),
    ] {
        let (a, b) = (filled(m, k, 4), filled(k, n, 5));
        let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.01).collect();
        let mut c = Array2::zeros((m, n));
        check(
            a.view(),
            b.view(),
            c.view_mut(),
            Epilogue {
                bias: Some(&bias),
                relu: true,
                ..Epilogue::default()
            },
        );
        let mut c = filled(m, n, 6);
        check(
            a.view(),
            b.view(),
            c.view_mut(),
            Epilogue {
                accumulate: true,
                ..Epilogue::default()
            },
        );
    }
}

#[test]
fn strided_views() {
    let a0 = filled(60, 90, 7);
    let b0 = filled(80, 70, 8);
    let a = a0.slice(s![1..;2, 3..;3]); // 30 x 29, strides (180, 3)
    let b = b0.slice(s![5..63;2, ..;2]); // 29 x 35, strides (140, 2)
    let bias: Vec<f32> = (0..35).map(|j| j as f32 * -0.1).collect();
    for e in [
        Epilogue::default(),
        Epilogue {
            accumulate: true,
            bias: Some(&bias),
            relu: true,
        },
    ] {
        let mut c0 = filled(60, 100, 9);
        // Rows of C strided, columns contiguous.
        check(a, b, c0.slice_mut(s![..;2, 10..45]), e);
        // Columns of C strided: the fallback path.
        check(a, b, c0.slice_mut(s![5..35, ..70;2]), e);
        // Transposed C.
        let mut ct = filled(35, 30, 10);
        check(a, b, ct.view_mut().reversed_axes(), e);
        // Reversed axes.
        check(
            a.slice(s![..;-1, ..]),
            b.slice(s![.., ..;-1]),
            c0.slice_mut(s![30..60, 50..85]),
            e,
        );
    }
}

#[test]
fn k_zero_writes_zeros_or_keeps_c() {
    let (a, b) = (Array2::<f32>::zeros((4, 0)), Array2::<f32>::zeros((0, 3)));
    let mut c = Array2::from_elem((4, 3), f32::NAN);
    sgemm(a.view(), b.view(), c.view_mut(), Epilogue::default());
    assert!(c.iter().all(|&x| x == 0.0));
    c.fill(-2.0);
    let bias = [1.0, 3.0, 0.0];
    sgemm(
        a.view(),
        b.view(),
        c.view_mut(),
        Epilogue {
            accumulate: true,
            bias: Some(&bias),
            relu: true,
        },
    );
    assert_eq!(c.row(0).to_vec(), vec![0.0, 1.0, 0.0]);
}

#[test]
fn nan_in_c_is_ignored_when_not_accumulating_and_relu_keeps_nan() {
    let (a, b) = (filled(20, 30, 11), filled(30, 40, 12));
    let mut c = Array2::from_elem((20, 40), f32::NAN);
    check(a.view(), b.view(), c.view_mut(), Epilogue::default());
    let mut a = a;
    a[[3, 4]] = f32::NAN;
    let mut c = Array2::zeros((20, 40));
    sgemm(
        a.view(),
        b.view(),
        c.view_mut(),
        Epilogue {
            relu: true,
            ..Epilogue::default()
        },
    );
    assert!(c.row(3).iter().all(|x| x.is_nan()));
}

#[test]
fn few_rows_against_a_transposed_matrix_match_the_plain_layout_bitwise() {
    // `dx = dy W^T` (the CNN's 3136 x 1024 layer at batch 50, and smaller
    // remainders): computed as `(W dy^T)^T`, with W read in place. Each
    // element must be the same sum as with W^T stored row-major.
    for (m, k, n) in [(50, 1024, 3136), (1, 7, 40), (13, 300, 97), (96, 513, 200)] {
        let (a, w) = (filled(m, k, 7), filled(n, k, 8));
        let wt = w.t().as_standard_layout().into_owned();
        let bias: Vec<f32> = (0..n).map(|j| (j % 5) as f32 * 0.5 - 1.0).collect();
        for (accumulate, with_bias, relu) in [
            (false, false, false),
            (true, false, false),
            (false, true, true),
            (true, true, true),
        ] {
            let e = Epilogue {
                accumulate,
                bias: with_bias.then_some(&bias[..]),
                relu,
            };
            let mut transposed = filled(m, n, 9);
            let mut plain = transposed.clone();
            sgemm(a.view(), w.t(), transposed.view_mut(), e);
            sgemm(a.view(), wt.view(), plain.view_mut(), e);
            assert_eq!(transposed, plain, "[{m}, {k}] x [{k}, {n}] {e:?}");
        }
    }
}

/// Whether `sgemm` runs its own AVX-512 path; the fallback
/// (matrixmultiply) allocates a packing buffer per product.
fn own_path() -> bool {
    #[cfg(target_arch = "x86_64")]
    return is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

#[test]
fn a_repeated_product_allocates_nothing() {
    let (a, b) = (filled(300, 784, 13), filled(784, 200, 14));
    let bias = vec![0.5f32; 200];
    let mut c = Array2::zeros((300, 200));
    let e = Epilogue {
        bias: Some(&bias),
        relu: true,
        ..Epilogue::default()
    };
    sgemm(a.view(), b.view(), c.view_mut(), e);
    let mut dx = Array2::zeros((50, 300));
    let e_dx = Epilogue::default();
    sgemm(a.slice(s![..50, ..]), a.t(), dx.view_mut(), e_dx);
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..3 {
        sgemm(a.view(), b.view(), c.view_mut(), e);
        // `dy W^T` with W read in place, through its transposed `C`.
        sgemm(a.slice(s![..50, ..]), a.t(), dx.view_mut(), e_dx);
        // A smaller product fits in the buffers too.
        sgemm(
            a.slice(s![..50, ..300]),
            b.slice(s![..300, ..]),
            c.slice_mut(s![..50, ..]),
            e,
        );
    }
    let after = ALLOCATIONS.with(Cell::get);
    if own_path() {
        assert_eq!(after - before, 0, "repeated products allocated");
    }
}
