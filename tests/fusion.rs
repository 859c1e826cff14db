//! The session runs `relu(matmul(a, b) + bias)` chains, and updates with
//! the products that compute their gradients, as one kernel
//! (`Session::run`), while traced runs execute every node: both must give
//! bitwise the same values, in training graphs too, and fusion must not
//! happen where another reader needs the product or the sum, or where the
//! product reads what the update changes.

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tensorgraph::session::SessionOptions;
use tensorgraph::train::{
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer,
    RMSPropOptimizer,
};
use tensorgraph::{feed, nn, ops, DType, Graph, Operation, Session, Tensor, Value};

fn random(shape: (usize, usize), seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn(shape, |_| rng.random_range(-1.0..1.0))
}

fn values(v: Value) -> Vec<f32> {
    v.into_array::<f32>().unwrap().iter().copied().collect()
}

/// `run` (fused) and `run_traced` (every node) of `y` agree bitwise.
fn assert_fused_equals_unfused(g: &Graph, y: Tensor, x: Tensor, xv: &Array2<f32>, threads: usize) {
    let mut s = Session::with_options(
        g,
        SessionOptions {
            intra_op_threads: threads,
        },
    );
    let kernels = s.plan_kernels(y, &feed! { x => xv }).unwrap();
    let fused_kernels = kernels
        .iter()
        .filter(|k| k.starts_with("_FusedMatMul"))
        .count();
    assert_eq!(fused_kernels, 3, "{kernels:?}");
    assert!(
        !kernels.iter().any(|k| k.starts_with("MatMul ")),
        "{kernels:?}"
    );
    let fused = values(s.run(y, &feed! { x => xv }).unwrap());
    let (unfused, trace) = s.run_traced(y, &feed! { x => xv }).unwrap();
    assert!(trace.entries().iter().any(|e| e.node.op.name == "MatMul"));
    assert_eq!(fused, values(unfused));
    assert!(fused.contains(&0.0) && fused.iter().any(|&v| v > 0.0));
}

#[test]
fn matmul_bias_relu_chains_match_their_nodes() {
    for threads in [1, 2] {
        // 96 x 700 x 300: large enough to be split over two threads by
        // columns, so each block gets its slice of the bias.
        for (m, k, n) in [(5, 7, 3), (96, 700, 300), (700, 96, 40)] {
            let g = Graph::new();
            let x = g.placeholder(DType::Float32, [None, Some(k)], "x");
            let w = g.constant(random((k, n), 1).into_dyn());
            let b = g.constant(Array1::from_iter((0..n).map(|i| i as f32 * 0.01 - 0.2)).into_dyn());
            let y = nn::relu(ops::matmul(x, w, false, false) + b);
            let z =
                nn::relu(b + ops::matmul(y, g.constant(random((n, n), 2).into_dyn()), false, true));
            let out = nn::bias_add(
                ops::matmul(z, g.constant(random((n, 4), 3).into_dyn()), false, false),
                g.constant(vec![0.5f32; 4]),
            );
            assert_fused_equals_unfused(
                &g,
                nn::relu(out) + out * 0.0,
                x,
                &random((m, k), 4),
                threads,
            );
        }
    }
}

#[test]
fn a_product_read_elsewhere_is_not_fused_and_stays_right() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(6)], "x");
    let w = g.constant(random((6, 5), 5).into_dyn());
    let b = g.constant(vec![0.1f32; 5]);
    let p = ops::matmul(x, w, false, false);
    let y = nn::relu(p + b);
    let mut s = Session::new(&g);
    let xv = random((4, 6), 6);
    let kernels = s.plan_kernels((p, y), &feed! { x => &xv }).unwrap();
    assert!(
        !kernels.iter().any(|k| k.starts_with("_Fused")),
        "{kernels:?}"
    );
    // The product is fetched too: it must exist as its own value.
    let (pv, yv) = s.run((p, y), &feed! { x => &xv }).unwrap();
    let expected = xv.dot(&random((6, 5), 5));
    let pv = pv.into_array::<f32>().unwrap();
    assert_eq!(pv, expected.clone().into_dyn());
    let relu = expected.mapv(|v| (v + 0.1f32).max(0.0));
    assert_eq!(yv.into_array::<f32>().unwrap(), relu.into_dyn());
}

#[test]
fn training_with_fusion_follows_the_unfused_trajectory() {
    let build = || {
        let g = Graph::new();
        g.set_random_seed(1);
        let x = g.placeholder(DType::Float32, [None, Some(20)], "x");
        let y_ = g.placeholder(DType::Float32, [None, Some(3)], "y_");
        let w1 = g.variable(g.constant(random((20, 16), 7).into_dyn()), "w1");
        let b1 = g.variable(
            g.constant(Array1::<f32>::from_elem(16, 0.1).into_dyn()),
            "b1",
        );
        let w2 = g.variable(g.constant(random((16, 3), 8).into_dyn()), "w2");
        let b2 = g.variable(g.constant(Array1::<f32>::zeros(3).into_dyn()), "b2");
        let h = nn::relu(ops::matmul(x, w1, false, false) + b1);
        let logits = ops::matmul(h, w2, false, false) + b2;
        let loss = nn::softmax_cross_entropy_with_logits(y_, logits).reduce_mean(None, false);
        let train = AdamOptimizer::new(0.01).minimize(loss);
        let init = g.global_variables_initializer();
        (g, x, y_, loss, train, init)
    };
    let (g, x, y_, loss, train, _) = build();
    let mut s = Session::new(&g);
    let kernels = s.plan_kernels(
        (loss, train),
        &feed! { x => vec![0f32; 20], y_ => vec![0f32; 3] },
    );
    let fused = kernels
        .unwrap()
        .iter()
        .filter(|k| k.starts_with("_FusedMatMul"))
        .count();
    assert_eq!(
        fused, 2,
        "the hidden layer's chain and the logits' product + bias"
    );
    drop(s);
    let xv = random((32, 20), 9);
    let yv = Array2::from_shape_fn((32, 3), |(i, j)| f32::from(u8::from(i % 3 == j)));
    let mut losses = Vec::new();
    for traced in [false, true] {
        let (g, x, y_, loss, train, init) = build();
        let mut s = Session::new(&g);
        s.run(init, &feed! {}).unwrap();
        let mut l = Vec::new();
        for _ in 0..20 {
            let f = feed! { x => &xv, y_ => &yv };
            let (v, ()) = if traced {
                s.run_traced((loss, train), &f).unwrap().0
            } else {
                s.run((loss, train), &f).unwrap()
            };
            l.push(v.scalar::<f32>().unwrap());
        }
        losses.push(l);
    }
    assert_eq!(losses[0], losses[1]);
    assert!(losses[0][19] < losses[0][0]);
}

#[test]
fn conv2d_bias_relu_chains_match_their_nodes() {
    use tensorgraph::ops::Padding;
    for threads in [1, 2] {
        let g = Graph::new();
        let x = g.placeholder(DType::Float32, [None, Some(12), Some(12), Some(3)], "x");
        let w1 = g.constant(
            random((5 * 5 * 3, 8), 10)
                .into_shape_with_order((5, 5, 3, 8))
                .unwrap()
                .into_dyn(),
        );
        let b1 = g.constant(Array1::from_iter((0..8).map(|i| i as f32 * 0.05 - 0.2)).into_dyn());
        let h = nn::relu(ops::conv2d(x, w1, [1, 1, 1, 1], Padding::Same) + b1);
        let w2 = g.constant(
            random((3 * 3 * 8, 4), 11)
                .into_shape_with_order((3, 3, 8, 4))
                .unwrap()
                .into_dyn(),
        );
        let b2 = g.constant(vec![0.1f32, -0.1, 0.0, 0.3]);
        let y = nn::bias_add(ops::conv2d(h, w2, [1, 2, 2, 1], Padding::Valid), b2);
        let mut s = Session::with_options(
            &g,
            SessionOptions {
                intra_op_threads: threads,
            },
        );
        let xv = random((20 * 12 * 12, 3), 12)
            .into_shape_with_order((20, 12, 12, 3))
            .unwrap();
        let kernels = s.plan_kernels(y, &feed! { x => &xv }).unwrap();
        let fused = kernels
            .iter()
            .filter(|k| k.starts_with("_FusedConv2D"))
            .count();
        assert_eq!(fused, 2, "{kernels:?}");
        let fused = values(s.run(y, &feed! { x => &xv }).unwrap());
        let (unfused, _) = s.run_traced(y, &feed! { x => &xv }).unwrap();
        assert_eq!(fused, values(unfused));
    }
}

#[test]
fn max_pool_gradient_then_relu_gradient_match_their_nodes() {
    use tensorgraph::ops::{max_pool, Padding};
    // 2x2/2 windows (the non-overlapping fast path) and 3x3/2 (general).
    for (window, stride) in [(2, 2), (3, 2)] {
        let g = Graph::new();
        let x = g.placeholder(DType::Float32, [None, Some(10), Some(10), Some(3)], "x");
        let w = g.constant(
            random((3 * 3 * 3, 6), 20)
                .into_shape_with_order((3, 3, 3, 6))
                .unwrap()
                .into_dyn(),
        );
        let b = g.constant(vec![0.1f32, -0.2, 0.0, 0.3, -0.1, 0.05]);
        let h = nn::relu(ops::conv2d(x, w, [1, 1, 1, 1], Padding::Same) + b);
        let p = max_pool(
            h,
            [1, window, window, 1],
            [1, stride, stride, 1],
            Padding::Same,
        );
        let weights = g.constant(
            random((5 * 5, 6), 21)
                .into_shape_with_order((1, 5, 5, 6))
                .unwrap()
                .into_dyn(),
        );
        let loss = (p * weights).reduce_sum(None, false);
        let dx = tensorgraph::gradients(&[loss], &[x])[0].unwrap();
        let mut s = Session::new(&g);
        let xv = random((4 * 10 * 10, 3), 22)
            .into_shape_with_order((4, 10, 10, 3))
            .unwrap();
        let kernels = s.plan_kernels(dx, &feed! { x => &xv }).unwrap();
        assert!(
            kernels
                .iter()
                .any(|k| k.starts_with("_FusedMaxPoolReluGrad")),
            "{kernels:?}"
        );
        assert!(
            !kernels.iter().any(|k| k.starts_with("ReluGrad")),
            "{kernels:?}"
        );
        let fused = values(s.run(dx, &feed! { x => &xv }).unwrap());
        let (unfused, _) = s.run_traced(dx, &feed! { x => &xv }).unwrap();
        assert_eq!(fused, values(unfused));
        assert!(fused.iter().any(|&v| v != 0.0));
    }
}

/// Builds the update ops of a training graph from its loss.
type Minimize = fn(Tensor) -> Operation;

/// A two-layer regression trained by `minimize`, in `dtype`: the first
/// layer's weight gradient (`x^T dh`, 600 x 300 at batch 64) takes two
/// blocks of the fused update on one thread and is split over two.
fn regression(
    dtype: DType,
    minimize: Minimize,
) -> (
    Graph,
    Tensor,
    Tensor,
    Tensor,
    Operation,
    Operation,
    [Tensor; 2],
) {
    let g = Graph::new();
    let cast = |a: Array2<f32>| -> Value {
        match dtype {
            DType::Float64 => a.mapv(f64::from).into_dyn().into(),
            _ => a.into_dyn().into(),
        }
    };
    let x = g.placeholder(dtype, [None, Some(600)], "x");
    let y = g.placeholder(dtype, [None, Some(10)], "y");
    let w1 = g.variable(g.constant(cast(random((600, 300), 20) * 0.05)), "w1");
    let w2 = g.variable(g.constant(cast(random((300, 10), 21) * 0.1)), "w2");
    let h = nn::relu(ops::matmul(x, w1, false, false));
    let d = ops::matmul(h, w2, false, false) - y;
    let loss = (d * d).reduce_mean(None, false);
    let train = minimize(loss);
    let init = g.global_variables_initializer();
    (g, x, y, loss, train, init, [w1, w2])
}

#[test]
fn updates_fused_with_their_gradient_products_follow_the_unfused_trajectory() {
    let rules: [(&str, Minimize); 7] = [
        ("_FusedApplyGradientDescent", |l| {
            GradientDescentOptimizer::new(0.05).minimize(l)
        }),
        ("_FusedApplyMomentum", |l| {
            MomentumOptimizer::new(0.05, 0.9).minimize(l)
        }),
        ("_FusedApplyMomentum", |l| {
            MomentumOptimizer::new(0.05, 0.9)
                .use_nesterov(true)
                .minimize(l)
        }),
        ("_FusedApplyAdam", |l| AdamOptimizer::new(0.01).minimize(l)),
        ("_FusedApplyRMSProp", |l| {
            RMSPropOptimizer::new(0.01).momentum(0.5).minimize(l)
        }),
        ("_FusedApplyCenteredRMSProp", |l| {
            RMSPropOptimizer::new(0.01).centered(true).minimize(l)
        }),
        ("_FusedApplyAdagrad", |l| {
            AdagradOptimizer::new(0.05).minimize(l)
        }),
    ];
    let cases = rules
        .iter()
        .map(|&(kernel, minimize)| (DType::Float32, kernel, minimize))
        .chain([(DType::Float64, rules[3].0, rules[3].1)]);
    for (dtype, kernel, minimize) in cases {
        for threads in [1, 2] {
            let xv = random((64, 600), 22);
            let yv = random((64, 10), 23);
            let (xv, yv): (Value, Value) = match dtype {
                DType::Float64 => (
                    xv.mapv(f64::from).into_dyn().into(),
                    yv.mapv(f64::from).into_dyn().into(),
                ),
                _ => (xv.into_dyn().into(), yv.into_dyn().into()),
            };
            let mut runs = Vec::new();
            for traced in [false, true] {
                let (g, x, y, loss, train, init, weights) = regression(dtype, minimize);
                let options = SessionOptions {
                    intra_op_threads: threads,
                };
                let mut s = Session::with_options(&g, options);
                s.run(init, &feed! {}).unwrap();
                let f = feed! { x => &xv, y => &yv };
                if !traced {
                    let kernels = s.plan_kernels((loss, train), &f).unwrap();
                    let fused = kernels.iter().filter(|k| k.starts_with(kernel)).count();
                    assert_eq!(fused, 2, "{kernel}, {threads} threads: {kernels:?}");
                    // The weight gradients (x^T dy) are not run on their own.
                    let alone =
                        |k: &&String| k.starts_with("MatMul ") && k.ends_with("_grad/MatMul_1");
                    assert!(!kernels.iter().any(|k| alone(&k)), "{kernels:?}");
                }
                let mut losses = Vec::new();
                for _ in 0..5 {
                    let (l, ()) = if traced {
                        s.run_traced((loss, train), &f).unwrap().0
                    } else {
                        s.run((loss, train), &f).unwrap()
                    };
                    losses.push(l);
                }
                let w = weights.map(|w| s.run(w, &feed! {}).unwrap());
                runs.push((losses, w));
            }
            assert_eq!(runs[0], runs[1], "{kernel} ({dtype}), {threads} threads");
            let losses = &runs[0].0;
            assert_ne!(losses[0], losses[4], "{kernel}: training moves");
        }
    }
}

#[test]
fn an_update_whose_gradient_reads_the_variable_is_not_fused() {
    // grad = c w: every block of rows of the product reads all of w, so a
    // block-by-block update would change w under the blocks after it.
    let g = Graph::new();
    let c = random((512, 512), 24) * 0.01;
    let w0 = random((512, 512), 25);
    let w = g.variable(g.constant(w0.clone().into_dyn()), "w");
    let grad = ops::matmul(g.constant(c.clone().into_dyn()), w, false, false);
    let train = GradientDescentOptimizer::new(0.5).apply_gradients(&[(Some(grad), w)], None);
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    let kernels = s.plan_kernels(train, &feed! {}).unwrap();
    assert!(
        !kernels.iter().any(|k| k.starts_with("_Fused")),
        "{kernels:?}"
    );
    s.run(train, &feed! {}).unwrap();
    let got = s.run(w, &feed! {}).unwrap().into_array::<f32>().unwrap();
    let expected = &w0 - &(c.dot(&w0) * 0.5);
    let err = (&got - &expected.into_dyn()).mapv(f32::abs);
    assert!(
        err.iter().all(|&e| e < 1e-5),
        "max error {:?}",
        err.iter().copied().fold(0.0, f32::max)
    );
}

#[test]
fn max_pool_of_a_convolution_pools_each_tile_in_the_same_kernel() {
    use tensorgraph::ops::Padding;
    // 2x2/2 windows tile the output (the fast path); 3x3/2 SAME windows
    // overlap and are padded (the general one). 64 images of 16x16 with 16
    // channels make three tiles, split over two threads.
    for (ksize, padding) in [(2, Padding::Valid), (3, Padding::Same)] {
        for threads in [1, 2] {
            let g = Graph::new();
            let x = g.placeholder(DType::Float32, [None, Some(16), Some(16), Some(3)], "x");
            let w = g.constant(
                random((5 * 5 * 3, 16), 30)
                    .into_shape_with_order((5, 5, 3, 16))
                    .unwrap()
                    .into_dyn(),
            );
            let b =
                g.constant(Array1::from_iter((0..16).map(|i| i as f32 * 0.05 - 0.4)).into_dyn());
            let h = nn::relu(ops::conv2d(x, w, [1, 1, 1, 1], Padding::Same) + b);
            let k = [1, ksize, ksize, 1];
            let y = ops::max_pool(h, k, [1, 2, 2, 1], padding);
            let options = SessionOptions {
                intra_op_threads: threads,
            };
            let mut s = Session::with_options(&g, options);
            let xv = random((64 * 16 * 16, 3), 31)
                .into_shape_with_order((64, 16, 16, 3))
                .unwrap();
            let kernels = s.plan_kernels(y, &feed! { x => &xv }).unwrap();
            assert_eq!(kernels.len(), 1, "{kernels:?}");
            assert!(kernels[0].starts_with("_FusedConv2D"), "{kernels:?}");
            let fused = s.run(y, &feed! { x => &xv }).unwrap();
            let (unfused, _) = s.run_traced(y, &feed! { x => &xv }).unwrap();
            assert_eq!(fused.shape(), unfused.shape());
            assert_eq!(
                values(fused),
                values(unfused),
                "{ksize}x{ksize}, {threads} threads"
            );
        }
    }
}

#[test]
fn a_pool_whose_input_is_read_elsewhere_is_not_fused() {
    use tensorgraph::ops::Padding;
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(8), Some(8), Some(4)], "x");
    let w = g.constant(
        random((3 * 3 * 4, 4), 32)
            .into_shape_with_order((3, 3, 4, 4))
            .unwrap()
            .into_dyn(),
    );
    let h = nn::relu(ops::conv2d(x, w, [1, 1, 1, 1], Padding::Same) + g.constant(vec![0.1f32; 4]));
    let y = ops::max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Valid);
    let mut s = Session::new(&g);
    let xv = random((2 * 8 * 8, 4), 33)
        .into_shape_with_order((2, 8, 8, 4))
        .unwrap();
    // h is fetched too, so the pool runs on its own.
    let kernels = s.plan_kernels((h, y), &feed! { x => &xv }).unwrap();
    assert!(
        kernels.iter().any(|k| k.starts_with("MaxPool ")),
        "{kernels:?}"
    );
    let (hv, yv) = s.run((h, y), &feed! { x => &xv }).unwrap();
    let (hv, yv) = (
        hv.into_array::<f32>().unwrap(),
        yv.into_array::<f32>().unwrap(),
    );
    assert_eq!(yv.shape(), [2, 4, 4, 4]);
    let pooled = |b: usize, i: usize, j: usize, c: usize| {
        let at = |di: usize, dj: usize| hv[[b, 2 * i + di, 2 * j + dj, c]];
        at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1))
    };
    for ((b, i, j, c), &v) in yv
        .indexed_iter()
        .map(|(ix, v)| ((ix[0], ix[1], ix[2], ix[3]), v))
    {
        assert_eq!(v, pooled(b, i, j, c));
    }
}
