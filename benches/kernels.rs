//! The kernels that dominate the benchmarks, run through a session (one
//! node per run, fetched as an op so nothing is copied out): matmul at
//! the MLP's shapes, forward and backward (transposed operands are views,
//! not copies), and conv2d at the CNN's; and the crate's `sgemm` (reached
//! through the hidden `tensorgraph::__bench`) against matrixmultiply
//! (ndarray's `general_mat_mul`) on one thread at the same shapes, in the
//! layouts the MLP uses them; max pooling and its gradient at the CNN's
//! shapes.
//!
//! `cargo bench --bench kernels` (`-- gemm/` for the GEMM comparison)

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayD, IxDyn};
use std::time::Duration;
use tensorgraph::__bench::{sgemm, Epilogue};
use tensorgraph::ops::{conv2d, matmul, max_pool, Padding};
use tensorgraph::{feed, gradients_with_grad_ys, DType, Graph, Session, Tensor};

fn filled(shape: &[usize]) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|i| (i % 13) as f32 * 0.05).collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("sized")
}

/// Benchmarks `op(a, b)` for inputs of the given shapes.
fn run(
    c: &mut Criterion,
    name: &str,
    sa: &[usize],
    sb: &[usize],
    op: impl Fn(Tensor, Tensor) -> Tensor,
) {
    let g = Graph::new();
    let a = g.placeholder(DType::Float32, sa, "a");
    let b = g.placeholder(DType::Float32, sb, "b");
    let y = op(a, b);
    let (va, vb) = (filled(sa), filled(sb));
    let mut s = Session::new(&g);
    let feeds = feed! { a => &va, b => &vb };
    c.bench_function(name, |bench| {
        bench.iter(|| s.run(y.op(), &feeds).expect("run"))
    });
}

fn matmuls(c: &mut Criterion) {
    let mm = |ta, tb| move |a, b| matmul(a, b, ta, tb);
    run(
        c,
        "matmul/x_w1 [128,784]x[784,200]",
        &[128, 784],
        &[784, 200],
        mm(false, false),
    );
    run(
        c,
        "matmul/dw1 [128,784]^T x[128,200]",
        &[128, 784],
        &[128, 200],
        mm(true, false),
    );
    run(
        c,
        "matmul/h1_w2 [128,200]x[200,100]",
        &[128, 200],
        &[200, 100],
        mm(false, false),
    );
    run(
        c,
        "matmul/dh1 [128,100]x[200,100]^T",
        &[128, 100],
        &[200, 100],
        mm(false, true),
    );
    run(
        c,
        "matmul/h2_w3 [128,100]x[100,10]",
        &[128, 100],
        &[100, 10],
        mm(false, false),
    );
    run(
        c,
        "matmul/eval [10000,784]x[784,200]",
        &[10_000, 784],
        &[784, 200],
        mm(false, false),
    );
}

fn convs(c: &mut Criterion) {
    let conv = |x, w| conv2d(x, w, [1, 1, 1, 1], Padding::Same);
    run(
        c,
        "conv2d/conv1 [50,28,28,1]*[5,5,1,32]",
        &[50, 28, 28, 1],
        &[5, 5, 1, 32],
        conv,
    );
    run(
        c,
        "conv2d/conv2 [50,14,14,32]*[5,5,32,64]",
        &[50, 14, 14, 32],
        &[5, 5, 32, 64],
        conv,
    );
}

fn pools(c: &mut Criterion) {
    let pool = |x| max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same);
    let grad = |x: Tensor, dy| {
        let [dx] = gradients_with_grad_ys(&[pool(x)], &[x], &[Some(dy)])[..] else {
            unreachable!("one x")
        };
        dx.expect("max_pool is differentiable")
    };
    for (name, sx, sy) in [
        ("pool1", [50, 28, 28, 32], [50, 14, 14, 32]),
        ("pool2", [50, 14, 14, 64], [50, 7, 7, 64]),
    ] {
        run(c, &format!("max_pool/{name} {sx:?}"), &sx, &sy, |x, _| {
            pool(x)
        });
        run(c, &format!("max_pool_grad/{name} {sx:?}"), &sx, &sy, grad);
    }
}

/// `sgemm` and `general_mat_mul` at `m x k x n`, `A` (or `B`) transposed
/// when `ta` (`tb`); throughput in flops (`2 m k n`), so criterion's
/// "elem/s" reads as FLOP/s.
fn gemm_shape(c: &mut Criterion, (m, k, n): (usize, usize, usize), ta: bool, tb: bool) {
    let fill = |r, c| Array2::from_shape_fn((r, c), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1);
    let a0 = if ta { fill(k, m) } else { fill(m, k) };
    let b0 = if tb { fill(n, k) } else { fill(k, n) };
    let a = if ta { a0.t() } else { a0.view() };
    let b = if tb { b0.t() } else { b0.view() };
    let mut out = Array2::<f32>::zeros((m, n));
    let name = format!(
        "{m}x{k}x{n}{}{}",
        if ta { " At" } else { "" },
        if tb { " Bt" } else { "" }
    );
    let mut group = c.benchmark_group("gemm");
    group.throughput(Throughput::Elements(2 * (m * k * n) as u64));
    group.bench_function(BenchmarkId::new("sgemm", &name), |bench| {
        bench.iter(|| sgemm(a, b, out.view_mut(), Epilogue::default()))
    });
    group.bench_function(BenchmarkId::new("matrixmultiply", &name), |bench| {
        bench.iter(|| general_mat_mul(1.0, &a, &b, 0.0, &mut out))
    });
    group.finish();
}

fn gemms(c: &mut Criterion) {
    gemm_shape(c, (10_000, 784, 200), false, false);
    gemm_shape(c, (10_000, 200, 100), false, false);
    gemm_shape(c, (10_000, 100, 10), false, false);
    gemm_shape(c, (128, 784, 200), false, false);
    gemm_shape(c, (784, 128, 200), true, false);
    gemm_shape(c, (128, 200, 100), false, false);
    gemm_shape(c, (128, 100, 10), false, false);
    gemm_shape(c, (128, 200, 784), false, true);
    gemm_shape(c, (1000, 800, 64), false, false);
    gemm_shape(c, (1000, 3136, 1024), false, false);
    // The CNN's training step at batch 50: the 3136x1024 layer forward,
    // its filter gradient and its input gradient; conv2's three products
    // over a tile of 3 images (588 patch rows of 800).
    gemm_shape(c, (50, 3136, 1024), false, false);
    gemm_shape(c, (3136, 50, 1024), true, false);
    gemm_shape(c, (50, 1024, 3136), false, true);
    gemm_shape(c, (588, 800, 64), false, false);
    gemm_shape(c, (800, 588, 64), true, false);
    gemm_shape(c, (588, 64, 800), false, true);
}

criterion_group! {
    name = kernels;
    config = Criterion::default().measurement_time(Duration::from_secs(2));
    targets = matmuls, convs, pools, gemms
}
criterion_main!(kernels);
