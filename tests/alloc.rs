//! Steady state: once a (fetches, feeds) signature has run, its runs
//! allocate nothing but the fetched values. Counted (not timed) with a
//! global allocator that counts the allocations of the current thread.
//!
//! The f32 matrix products run `tensorgraph::gemm`, whose packing buffers
//! are per-thread and reused. Without AVX-512 it falls back to
//! matrixmultiply, which allocates a packing buffer per product, so the
//! counts are asserted only on CPUs with AVX-512 (see [`exact`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tensorgraph::session::SessionOptions;
use tensorgraph::train::{AdamOptimizer, Optimizer};
use tensorgraph::{feed, nn, DType, Graph, Session, Tensor};

struct Counting;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the slot may be gone while the thread exits.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Whether the counts are exact: the f32 products run tensorgraph's own
/// GEMM (AVX-512). Its fallback, matrixmultiply, allocates a packing
/// buffer per product.
fn exact() -> bool {
    #[cfg(target_arch = "x86_64")]
    return is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// The benchmark's MLP with dropout, softmax cross-entropy and Adam.
struct Mlp {
    x: Tensor,
    y: Tensor,
    keep_prob: Tensor,
    loss: Tensor,
    train: tensorgraph::Operation,
    init: tensorgraph::Operation,
}

fn mlp(g: &Graph) -> Mlp {
    g.set_random_seed(0);
    let x = g.placeholder(DType::Float32, [None, Some(784)], "x");
    let y = g.placeholder(DType::Float32, [None, Some(10)], "y");
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let layer = |input: Tensor, n_in: usize, n_out: usize, name: &str| {
        let w = g.variable(g.truncated_normal([n_in, n_out], 0.1), &format!("W{name}"));
        let b = g.variable(g.ones([n_out], DType::Float32), &format!("b{name}"));
        input.matmul(w) + b
    };
    let h1 = nn::dropout(nn::relu(layer(x, 784, 200, "1")), keep_prob);
    let h2 = nn::dropout(nn::relu(layer(h1, 200, 100, "2")), keep_prob);
    let logits = layer(h2, 100, 10, "3");
    let loss = nn::softmax_cross_entropy_with_logits(y, logits).reduce_mean(None, false);
    let train = AdamOptimizer::new(1e-3).minimize(loss);
    let init = g.global_variables_initializer();
    Mlp {
        x,
        y,
        keep_prob,
        loss,
        train,
        init,
    }
}

/// A fixed batch: 32 images and one-hot labels.
fn batch() -> (ndarray::Array2<f32>, ndarray::Array2<f32>) {
    let x =
        ndarray::Array2::from_shape_fn((32, 784), |(i, j)| ((i * 31 + j * 7) % 255) as f32 / 255.0);
    let y = ndarray::Array2::from_shape_fn((32, 10), |(i, j)| f32::from(u8::from(i % 10 == j)));
    (x, y)
}

#[test]
fn training_step_allocates_nothing_after_its_first_runs() {
    // With two threads the first layer's products (5M multiply-adds at
    // batch 32) are split with a pool worker: handing out work allocates
    // nothing either.
    for threads in [1, 2] {
        let g = Graph::new();
        let m = mlp(&g);
        let options = SessionOptions {
            intra_op_threads: threads,
        };
        let mut s = Session::with_options(&g, options);
        s.run(m.init, &feed! {}).unwrap();
        let (x, y) = batch();
        let feeds = feed! { m.x => &x, m.y => &y, m.keep_prob => 0.5f32 };
        for _ in 0..2 {
            s.run(m.train, &feeds).unwrap();
        }
        for run in 3..=20 {
            let n = allocations(|| s.run(m.train, &feeds).unwrap());
            if exact() {
                assert_eq!(
                    n, 0,
                    "run {run} of the training step ({threads} threads) allocated {n} times"
                );
            }
        }
    }
}

#[test]
fn fetching_the_loss_allocates_only_its_value() {
    let g = Graph::new();
    let m = mlp(&g);
    let mut s = Session::new(&g);
    s.run(m.init, &feed! {}).unwrap();
    let (x, y) = batch();
    let feeds = feed! { m.x => &x, m.y => &y, m.keep_prob => 0.5f32 };
    for _ in 0..2 {
        s.run((m.train, m.loss), &feeds).unwrap();
    }
    let mut losses = Vec::with_capacity(20);
    for run in 3..=20 {
        let n = allocations(|| losses.push(s.run((m.train, m.loss), &feeds).unwrap().1));
        // The scalar loss is one allocation: its array's storage.
        if exact() {
            assert_eq!(n, 1, "run {run} allocated {n} times");
        }
    }
    assert!(losses
        .iter()
        .all(|l| l.scalar::<f32>().unwrap().is_finite()));
}

/// A small CNN step: conv2d + bias + relu (fused), max pooling, a dense
/// layer, dropout, softmax cross-entropy and Adam, with 1 and 2 threads.
#[test]
fn cnn_training_step_allocates_nothing_after_its_first_runs() {
    use tensorgraph::ops::{conv2d, max_pool, reshape, Padding};
    for threads in [1, 2] {
        let g = Graph::new();
        g.set_random_seed(0);
        let x = g.placeholder(DType::Float32, [None, Some(16), Some(16), Some(1)], "x");
        let y = g.placeholder(DType::Float32, [None, Some(10)], "y");
        let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
        let w1 = g.variable(g.truncated_normal([5, 5, 1, 8], 0.1), "W1");
        let b1 = g.variable(g.ones([8usize], DType::Float32), "b1");
        let h = nn::relu(conv2d(x, w1, [1, 1, 1, 1], Padding::Same) + b1);
        let p = reshape(
            max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same),
            [-1, 8 * 8 * 8],
        );
        let w2 = g.variable(g.truncated_normal([8 * 8 * 8, 10], 0.1), "W2");
        let b2 = g.variable(g.ones([10usize], DType::Float32), "b2");
        let logits = nn::dropout(p, keep_prob).matmul(w2) + b2;
        let loss = nn::softmax_cross_entropy_with_logits(y, logits).reduce_mean(None, false);
        let train = AdamOptimizer::new(1e-3).minimize(loss);
        let init = g.global_variables_initializer();
        let options = SessionOptions {
            intra_op_threads: threads,
        };
        let mut s = Session::with_options(&g, options);
        s.run(init, &feed! {}).unwrap();
        // 64 images: the convolution (1.6M multiply-adds) stays on one
        // thread, the max pooling and the elementwise ops too; the point
        // is every kernel's buffers.
        let xv = ndarray::Array4::from_shape_fn((64, 16, 16, 1), |(b, i, j, _)| {
            ((b + i * 3 + j * 5) % 17) as f32 / 17.0
        });
        let yv =
            ndarray::Array2::from_shape_fn((64, 10), |(i, j)| f32::from(u8::from(i % 10 == j)));
        let feeds = feed! { x => &xv, y => &yv, keep_prob => 0.5f32 };
        for _ in 0..2 {
            s.run(train, &feeds).unwrap();
        }
        for run in 3..=10 {
            let n = allocations(|| s.run(train, &feeds).unwrap());
            if exact() {
                assert_eq!(
                    n, 0,
                    "run {run} of the CNN step ({threads} threads) allocated {n} times"
                );
            }
        }
    }
}
