//! Optimizers end to end: each one trains a small XOR network to near
//! zero loss; global steps, learning-rate schedules, clipping, var_list
//! and the graph-construction errors of `minimize`.

use ndarray::array;
use tensorgraph::train::{
    clip_by_global_norm, clip_by_norm, create_global_step, exponential_decay, global_norm,
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer,
    RMSPropOptimizer,
};
use tensorgraph::{feed, DType, Graph, Session, Tensor};

/// XOR with a squaring hidden layer: `out = (X W1 + b1)^2 W2 + b2`, a
/// quadratic in the inputs, which can fit `x1 + x2 - 2 x1 x2` exactly.
fn xor_loss(g: &Graph) -> Tensor {
    g.set_random_seed(1234);
    let x = g.constant(array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]].into_dyn());
    let y = g.constant(array![[0.0f32], [1.0], [1.0], [0.0]].into_dyn());
    let w1 = g.variable(g.truncated_normal([2, 4], 0.5), "W1");
    let b1 = g.variable(g.truncated_normal([4], 0.5), "b1");
    let w2 = g.variable(g.truncated_normal([4, 1], 0.5), "W2");
    let b2 = g.variable(g.zeros([1usize], DType::Float32), "b2");
    let h = x.matmul(w1) + b1;
    let d = (h * h).matmul(w2) + b2 - y;
    (d * d).reduce_mean(None, false)
}

fn train_xor(mut opt: impl Optimizer, steps: usize) -> f32 {
    let g = Graph::new();
    let loss = xor_loss(&g);
    let train = opt.minimize(loss);
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    for _ in 0..steps {
        s.run(train, &feed! {}).unwrap();
    }
    s.run(loss, &feed! {}).unwrap().scalar::<f32>().unwrap()
}

#[test]
fn gradient_descent_learns_xor() {
    let l = train_xor(GradientDescentOptimizer::new(0.05), 3000);
    assert!(l < 1e-3, "loss {l}");
}

#[test]
fn momentum_learns_xor() {
    let l = train_xor(MomentumOptimizer::new(0.02, 0.9), 2000);
    assert!(l < 1e-3, "loss {l}");
    let l = train_xor(MomentumOptimizer::new(0.02, 0.9).use_nesterov(true), 2000);
    assert!(l < 1e-3, "nesterov loss {l}");
}

#[test]
fn adam_learns_xor() {
    let l = train_xor(AdamOptimizer::new(0.02), 2000);
    assert!(l < 1e-3, "loss {l}");
}

#[test]
fn rmsprop_learns_xor() {
    let l = train_xor(RMSPropOptimizer::new(0.005), 2000);
    assert!(l < 1e-3, "loss {l}");
    let l = train_xor(
        RMSPropOptimizer::new(0.005).momentum(0.5).centered(true),
        2000,
    );
    assert!(l < 1e-3, "centered loss {l}");
}

#[test]
fn adagrad_learns_xor() {
    let l = train_xor(AdagradOptimizer::new(0.2), 3000);
    assert!(l < 1e-3, "loss {l}");
}

#[test]
fn global_step_counts_and_drives_a_schedule() {
    let g = Graph::new();
    let w = g.variable(g.fill([0usize; 0], 1.0, DType::Float32), "w");
    let step = create_global_step(&g);
    let lr = exponential_decay(0.1, step, 2, 0.5, true);
    let mut opt = GradientDescentOptimizer::new(lr);
    let train = opt.minimize_with(w, None, Some(step));
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    // d w / d w = 1, so each step subtracts the current rate.
    let mut want = 1.0f32;
    for k in 0..5i64 {
        let rate = 0.1 * 0.5f64.powi((k / 2) as i32);
        let got_lr = s.run(lr, &feed! {}).unwrap().scalar::<f32>().unwrap();
        assert_eq!(got_lr, rate as f32, "rate before step {k}");
        s.run(train, &feed! {}).unwrap();
        want -= rate as f32;
        assert_eq!(
            s.run(step, &feed! {}).unwrap().scalar::<i64>().unwrap(),
            k + 1
        );
        let got = s.run(w, &feed! {}).unwrap().scalar::<f32>().unwrap();
        assert!(
            (got - want).abs() < 1e-6,
            "w after step {k}: {got} vs {want}"
        );
    }
}

#[test]
fn fed_learning_rate() {
    let g = Graph::new();
    let w = g.variable(g.fill([0usize; 0], 1.0, DType::Float64), "w");
    let lr = g.placeholder(DType::Float32, [0usize; 0], "lr");
    let train = GradientDescentOptimizer::new(lr).minimize(w * w);
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    s.run(train, &feed! { lr => 0.25f32 }).unwrap();
    assert_eq!(s.run(w, &feed! {}).unwrap().scalar::<f64>().unwrap(), 0.5);
    s.run(train, &feed! { lr => 0.0f32 }).unwrap();
    assert_eq!(s.run(w, &feed! {}).unwrap().scalar::<f64>().unwrap(), 0.5);
}

#[test]
fn var_list_limits_the_update_and_slots_are_untrainable() {
    let g = Graph::new();
    let a = g.variable(g.fill([2usize], 1.0, DType::Float32), "a");
    let b = g.variable(g.fill([2usize], 1.0, DType::Float32), "b");
    let loss = (a * b).reduce_sum(None, false);
    let mut opt = AdamOptimizer::new(0.1);
    let train = opt.minimize_with(loss, Some(&[a]), None);
    assert!(opt.get_slot(b, "m").is_none());
    let m = opt.get_slot(a, "m").unwrap();
    assert_eq!(
        (m.name(), opt.get_slot(a, "v").unwrap().name()),
        ("a/Adam".into(), "a/Adam_1".into())
    );
    assert_eq!(g.trainable_variables(), vec![a, b]);
    assert_eq!(g.global_variables().len(), 6); // a, b, beta1_power, beta2_power, m, v
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    s.run(train, &feed! {}).unwrap();
    let (av, bv) = s.run((a, b), &feed! {}).unwrap();
    assert!(av
        .into_array::<f32>()
        .unwrap()
        .iter()
        .all(|&x| (x - 0.9).abs() < 1e-5));
    assert_eq!(
        bv.into_array::<f32>().unwrap().into_raw_vec_and_offset().0,
        vec![1.0, 1.0]
    );
    let (b1, b2) = opt.beta_powers().unwrap();
    let (p1, p2) = s.run((b1, b2), &feed! {}).unwrap();
    assert!((p1.scalar::<f32>().unwrap() - 0.81).abs() < 1e-7);
    assert!((p2.scalar::<f32>().unwrap() - 0.998001).abs() < 1e-7);
}

#[test]
#[should_panic(expected = "`lonely` does not reach `Sum`")]
fn minimize_without_any_gradient_panics_and_explains_why() {
    let g = Graph::new();
    let _lonely = g.variable(g.zeros([2usize], DType::Float32), "lonely");
    let x = g.placeholder(DType::Float32, [2usize], "x");
    let loss = (x * x).reduce_sum(None, false);
    GradientDescentOptimizer::new(0.1).minimize(loss);
}

#[test]
#[should_panic(expected = "the path passes through `argmax`")]
fn minimize_through_argmax_names_the_cut() {
    let g = Graph::new();
    let w = g.variable(g.ones([2usize, 3], DType::Float32), "w");
    let picked = tensorgraph::ops::argmax(w, 1, DType::Int64);
    let loss = tensorgraph::ops::cast(picked, DType::Float32).reduce_sum(None, false);
    GradientDescentOptimizer::new(0.1).minimize(loss);
}

#[test]
fn clipping() {
    let g = Graph::new();
    let a = g.constant(vec![3.0f32, 4.0]);
    let b = g.constant(vec![0.0f32, 12.0]);
    let (clipped, norm) = clip_by_global_norm(&[a, b], 6.5);
    let loose = clip_by_global_norm(&[a, b], 100.0).0;
    let one = clip_by_norm(a, 1.0);
    let n = global_norm(&[a, b]);
    let mut s = Session::new(&g);
    let v = |s: &mut Session, t: Tensor| {
        s.run(t, &feed! {})
            .unwrap()
            .into_array::<f32>()
            .unwrap()
            .into_raw_vec_and_offset()
            .0
    };
    assert_eq!(v(&mut s, norm), vec![13.0]);
    assert_eq!(v(&mut s, n), vec![13.0]);
    assert_eq!(v(&mut s, clipped[0]), vec![1.5, 2.0]);
    assert_eq!(v(&mut s, clipped[1]), vec![0.0, 6.0]);
    assert_eq!(v(&mut s, loose[1]), vec![0.0, 12.0]);
    let o = v(&mut s, one);
    assert!((o[0] - 0.6).abs() < 1e-7 && (o[1] - 0.8).abs() < 1e-7);
}

#[test]
fn apply_gradients_of_clipped_gradients() {
    let g = Graph::new();
    let w = g.variable(g.fill([2usize], 10.0, DType::Float32), "w");
    let loss = (w * w).reduce_sum(None, false);
    let mut opt = GradientDescentOptimizer::new(1.0);
    let gv = opt.compute_gradients(loss, None);
    let grads: Vec<Tensor> = gv.iter().map(|(g, _)| g.unwrap()).collect();
    let (clipped, _) = clip_by_global_norm(&grads, 1.0);
    let pairs: Vec<_> = clipped
        .into_iter()
        .zip(gv.iter().map(|p| p.1))
        .map(|(g, v)| (Some(g), v))
        .collect();
    let train = opt.apply_gradients(&pairs, None);
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    s.run(train, &feed! {}).unwrap();
    let got = s.run(w, &feed! {}).unwrap().into_array::<f32>().unwrap();
    let want = 10.0 - 1.0 / 2f32.sqrt();
    assert!(got.iter().all(|&x| (x - want).abs() < 1e-5), "{got}");
}

#[test]
fn minimize_attributes_its_nodes_to_the_callers_line() {
    let g = Graph::new();
    let w = g.variable(g.ones([2usize], DType::Float32), "w");
    let loss = (w * w).reduce_sum(None, false);
    let line = line!() + 1;
    let _train = AdamOptimizer::new(0.1).minimize(loss);
    let site = format!("(tests/optimizers.rs:{line})");
    let text = g.to_text();
    let built: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("apply_adam") || l.contains("gradients/"))
        .collect();
    assert!(!built.is_empty(), "{text}");
    for l in built {
        assert!(l.ends_with(&site), "{l}");
    }
}
