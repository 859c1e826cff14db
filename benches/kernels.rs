//! The kernels that dominate the benchmarks, run through a session (one
//! node per run, fetched as an op so nothing is copied out): matmul at
//! the MLP's shapes, forward and backward (transposed operands are views,
//! not copies), and conv2d at the CNN's.
//!
//! `cargo bench --bench kernels`

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::{ArrayD, IxDyn};
use std::time::Duration;
use tensorgraph::ops::{conv2d, matmul, Padding};
use tensorgraph::{feed, DType, Graph, Session, Tensor};

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

criterion_group! {
    name = kernels;
    config = Criterion::default().measurement_time(Duration::from_secs(2));
    targets = matmuls, convs
}
criterion_main!(kernels);
