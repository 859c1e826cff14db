//! Dropout: statistics of the mask, one mask per run shared by the
//! gradient, seeding, the keep_prob = 1 identity (which draws nothing),
//! and errors for invalid probabilities.

use ndarray::{ArrayD, IxDyn};
use tensorgraph::nn::{self, DropoutOptions};
use tensorgraph::{feed, gradients, DType, Error, Graph, Session, Tensor};

fn ones(shape: &[usize]) -> ArrayD<f32> {
    ArrayD::from_elem(IxDyn(shape), 1.0)
}

/// A graph with `y = dropout(x, keep_prob)` for a fed scalar keep_prob.
fn fed_dropout(shape: &[usize], seed: Option<u64>) -> (Graph, Tensor, Tensor, Tensor) {
    let g = Graph::new();
    if let Some(s) = seed {
        g.set_random_seed(s);
    }
    let x = g.placeholder(DType::Float32, shape, "x");
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let y = nn::dropout(x, keep_prob);
    (g, x, keep_prob, y)
}

fn run_f32(
    s: &mut Session,
    t: Tensor,
    x: Tensor,
    xv: &ArrayD<f32>,
    kp: Tensor,
    p: f32,
) -> Vec<f32> {
    s.run(t, &feed! { x => xv, kp => p })
        .unwrap()
        .into_array::<f32>()
        .unwrap()
        .into_raw_vec_and_offset()
        .0
}

#[test]
fn kept_fraction_is_binomial() {
    for shape in [vec![2000], vec![50, 40], vec![10, 10, 20]] {
        for p in [0.1f32, 0.5, 0.8, 0.95] {
            let (g, x, kp, y) = fed_dropout(&shape, Some(3));
            let mut s = Session::new(&g);
            let out = run_f32(&mut s, y, x, &ones(&shape), kp, p);
            let n = out.len() as f64;
            let kept = out.iter().filter(|&&v| v != 0.0).count() as f64;
            let (mean, sd) = (n * p as f64, (n * p as f64 * (1.0 - p as f64)).sqrt());
            assert!(
                (kept - mean).abs() <= 4.0 * sd,
                "shape {shape:?}, keep_prob {p}: kept {kept} of {n}, expected {mean} ± 4 × {sd}"
            );
            assert!(
                out.iter().all(|&v| v == 0.0 || v == 1.0 / p),
                "kept values are 1/keep_prob"
            );
        }
    }
}

#[test]
fn mean_is_preserved() {
    let shape = [100, 100];
    for p in [0.3f32, 0.5, 0.9] {
        let (g, x, kp, y) = fed_dropout(&shape, Some(11));
        let m = y.reduce_mean(None, false);
        let mut s = Session::new(&g);
        let xs = ones(&shape);
        let got = s
            .run(m, &feed! { x => &xs, kp => p })
            .unwrap()
            .scalar::<f32>()
            .unwrap() as f64;
        // Each entry is 0 or 1/p with mean 1 and variance (1 - p) / p.
        let sd = ((1.0 - p as f64) / p as f64 / 10_000.0).sqrt();
        assert!(
            (got - 1.0).abs() <= 4.0 * sd,
            "keep_prob {p}: mean {got}, sd {sd}"
        );
    }
}

#[test]
fn forward_and_backward_share_one_mask_per_run() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [400usize], "x");
    let y = nn::dropout(x, 0.5);
    let dx = gradients(&[y], &[x])[0].unwrap();
    let mut s = Session::new(&g);
    let xs: Vec<f64> = (0..400).map(|i| 1.0 + i as f64 * 0.01).collect();
    let mut masks = Vec::new();
    for _ in 0..2 {
        let (yv, gv) = s.run((y, dx), &feed! { x => &xs }).unwrap();
        let (yv, gv) = (
            yv.into_array::<f64>().unwrap(),
            gv.into_array::<f64>().unwrap(),
        );
        for ((&yi, &gi), &xi) in yv.iter().zip(gv.iter()).zip(&xs) {
            assert!(gi == 0.0 || gi == 2.0);
            assert_eq!(
                yi,
                xi * gi,
                "y = x * mask and dy/dx = mask, from the same draw"
            );
        }
        masks.push(gv);
    }
    assert_ne!(masks[0], masks[1], "a new mask is drawn at each run");
}

#[test]
fn seeded_sessions_agree_and_unseeded_differ() {
    let shape = [64usize, 8];
    let xs = ones(&shape);
    let draw = |seed: Option<u64>, op_seed: Option<u64>| -> Vec<Vec<f32>> {
        let g = Graph::new();
        if let Some(s) = seed {
            g.set_random_seed(s);
        }
        let x = g.placeholder(DType::Float32, shape, "x");
        let opts = DropoutOptions {
            seed: op_seed,
            ..DropoutOptions::default()
        };
        let y = nn::dropout_with(x, 0.5, opts);
        let mut s = Session::new(&g);
        (0..3)
            .map(|_| {
                let v = s.run(y, &feed! { x => &xs }).unwrap();
                v.into_array::<f32>().unwrap().into_raw_vec_and_offset().0
            })
            .collect()
    };
    assert_eq!(draw(Some(42), None), draw(Some(42), None));
    assert_eq!(draw(None, Some(5)), draw(None, Some(5)));
    assert_ne!(draw(Some(42), None), draw(Some(43), None));
    assert_ne!(draw(None, None), draw(None, None));
}

#[test]
fn keep_prob_one_is_identity_and_draws_nothing() {
    let shape = [3usize, 5];
    let xs = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i[0] * 5 + i[1]) as f32 * -0.37 + 0.1);
    let (g, x, kp, y) = fed_dropout(&shape, Some(9));
    let mut a = Session::new(&g);
    let mut b = Session::new(&g);
    // Session a evaluates twice with keep_prob 1 before training: exact identity.
    for _ in 0..2 {
        let out = run_f32(&mut a, y, x, &xs, kp, 1.0);
        assert_eq!(out, xs.iter().copied().collect::<Vec<_>>());
    }
    // ... and its stream has not moved: its training masks equal b's.
    for _ in 0..3 {
        assert_eq!(
            run_f32(&mut a, y, x, &xs, kp, 0.5),
            run_f32(&mut b, y, x, &xs, kp, 0.5)
        );
    }
    // A plain 1.0 (or rate 0) builds nothing.
    assert_eq!(nn::dropout(x, 1.0), x);
    assert_eq!(nn::dropout_rate(x, 0.0), x);
}

#[test]
fn rate_is_one_minus_keep_prob() {
    let g = Graph::new();
    g.set_random_seed(5);
    let x = g.placeholder(DType::Float32, [1000usize], "x");
    let rate = g.placeholder(DType::Float32, [0usize; 0], "rate");
    let y = nn::dropout_rate(x, rate);
    let mut s = Session::new(&g);
    let xs = ones(&[1000]);
    let out = s
        .run(y, &feed! { x => &xs, rate => 0.75f32 })
        .unwrap()
        .into_array::<f32>()
        .unwrap();
    let kept = out.iter().filter(|&&v| v == 4.0).count() as f64;
    assert!(
        (kept - 250.0).abs() <= 4.0 * (1000.0f64 * 0.25 * 0.75).sqrt(),
        "kept {kept}"
    );
    assert!(out.iter().all(|&v| v == 0.0 || v == 4.0));
    let same = s.run(y, &feed! { x => &xs, rate => 0.0f32 }).unwrap();
    assert_eq!(same.into_array::<f32>().unwrap(), xs);
    let err = s
        .run(y, &feed! { x => &xs, rate => 1.0f32 })
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate must be in [0, 1), got 1"), "{err}");
}

#[test]
fn noise_shape_drops_whole_rows() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [200usize, 6], "x");
    let opts = DropoutOptions {
        noise_shape: Some(vec![200, 1]),
        seed: Some(1),
    };
    let y = nn::dropout_with(x, 0.5, opts);
    let mut s = Session::new(&g);
    let xs = ones(&[200, 6]);
    let out = s
        .run(y, &feed! { x => &xs })
        .unwrap()
        .into_array::<f32>()
        .unwrap();
    let mut dropped = 0;
    for row in out.outer_iter() {
        let first = row[0];
        assert!(row.iter().all(|&v| v == first), "one draw per row");
        dropped += usize::from(first == 0.0);
    }
    assert!(dropped > 50 && dropped < 150, "{dropped} rows dropped");
}

#[test]
fn bad_fed_keep_prob_is_a_run_time_error() {
    let (g, x, kp, y) = fed_dropout(&[4], None);
    let mut s = Session::new(&g);
    let xs = ones(&[4]);
    for bad in [0.0f32, -0.5, 1.5, f32::NAN] {
        let err = s.run(y, &feed! { x => &xs, kp => bad }).unwrap_err();
        assert!(matches!(err, Error::Runtime { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("dropout/Dropout"), "names the node: {msg}");
        assert!(
            msg.contains(&format!("keep_prob must be in (0, 1], got {bad}")),
            "{msg}"
        );
    }
    // The session is still usable.
    assert_eq!(run_f32(&mut s, y, x, &xs, kp, 1.0), vec![1.0; 4]);
}

#[test]
#[should_panic(expected = "dropout keep_prob must be in (0, 1], got 0")]
fn zero_constant_keep_prob_panics() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [4usize], "x");
    nn::dropout(x, 0.0);
}

#[test]
#[should_panic(expected = "dropout keep_prob must be in (0, 1], got 1.5 (the constant `Const`)")]
fn constant_tensor_keep_prob_is_checked_at_build_time() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [4usize], "x");
    nn::dropout(x, g.constant(1.5f32));
}

#[test]
#[should_panic(expected = "dropout rate must be in [0, 1), got 1")]
fn rate_one_panics() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [4usize], "x");
    nn::dropout_rate(x, 1.0);
}
