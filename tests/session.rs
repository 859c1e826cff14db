//! Session semantics: pruning, feeds that cut the graph, plan caching,
//! variables and their update order, random streams, fetch structures.

use ndarray::{array, Array2};
use tensorgraph::ops::{assign, assign_add};
use tensorgraph::{feed, DType, Fetch, Graph, Session};

#[test]
fn only_the_needed_subgraph_runs() {
    let g = Graph::new();
    let a = g.placeholder(DType::Float32, [2usize], "a");
    let b = g.placeholder(DType::Float32, [2usize], "b");
    let ya = a * 3.0;
    let _yb = b * 4.0;
    let mut s = Session::new(&g);
    // b is never fed: the run must not need it.
    let v = s.run(ya, &feed! { a => vec![1.0f32, 2.0] }).unwrap();
    assert_eq!(
        v.into_array::<f32>().unwrap().as_slice().unwrap(),
        &[3.0, 6.0]
    );
}

#[test]
fn feeding_an_intermediate_tensor_cuts_the_graph() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [2usize], "x");
    let h = x * 2.0;
    let y = h + 1.0;
    let mut s = Session::new(&g);
    // x is unfed, but h is fed, so x is not needed.
    let v = s.run(y, &feed! { h => vec![10.0f32, 20.0] }).unwrap();
    assert_eq!(
        v.into_array::<f32>().unwrap().as_slice().unwrap(),
        &[11.0, 21.0]
    );
    // Fetching a fed tensor returns the fed value.
    let v = s.run(h, &feed! { h => vec![5.0f32, 6.0] }).unwrap();
    assert_eq!(
        v.into_array::<f32>().unwrap().as_slice().unwrap(),
        &[5.0, 6.0]
    );
}

#[test]
fn plans_are_compiled_once_per_signature() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(2)], "x");
    let y = x * 2.0;
    let z = y + 1.0;
    let mut s = Session::new(&g);
    let batch = Array2::<f32>::ones((3, 2));
    for _ in 0..5 {
        s.run(y, &feed! { x => &batch }).unwrap();
    }
    assert_eq!(s.cached_plans(), 1);
    s.run((y, z), &feed! { x => &batch }).unwrap();
    s.run((y, z), &feed! { x => &batch }).unwrap();
    assert_eq!(s.cached_plans(), 2);
    // A different batch size reuses the same plan.
    let v = s
        .run(z, &feed! { x => Array2::<f32>::ones((7, 2)) })
        .unwrap();
    assert_eq!(v.shape(), &[7, 2]);
}

#[test]
fn variables_assign_and_reads_happen_before_updates() {
    let g = Graph::new();
    let v = g.variable(g.zeros([2usize], DType::Float32), "v");
    let read = v * 1.0;
    let inc = assign_add(v, g.ones([2usize], DType::Float32));
    let set = assign(v, g.constant(vec![7.0f32, 8.0]));
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    // In one run, the read sees the value from before the update.
    let (before, ()) = s.run((read, inc), &feed! {}).unwrap();
    assert_eq!(
        before.into_array::<f32>().unwrap().as_slice().unwrap(),
        &[0.0, 0.0]
    );
    let after = s.run(v, &feed! {}).unwrap();
    assert_eq!(
        after.into_array::<f32>().unwrap().as_slice().unwrap(),
        &[1.0, 1.0]
    );
    s.run(set, &feed! {}).unwrap();
    assert_eq!(
        s.run(v, &feed! {})
            .unwrap()
            .into_array::<f32>()
            .unwrap()
            .as_slice()
            .unwrap(),
        &[7.0, 8.0]
    );
    // Variables live in the session: a new session starts uninitialised.
    drop(s);
    let mut s2 = Session::new(&g);
    assert!(s2.run(v, &feed! {}).is_err());
}

#[test]
fn seeded_random_streams_repeat_across_sessions_and_advance_within_one() {
    let g = Graph::new();
    g.set_random_seed(42);
    let r = g.random_normal([4usize], 0.0, 1.0);
    let draw = |s: &mut Session| s.run(r, &feed! {}).unwrap().into_array::<f32>().unwrap();
    let mut s1 = Session::new(&g);
    let a1 = draw(&mut s1);
    let a2 = draw(&mut s1);
    assert_ne!(a1, a2, "each run draws new numbers");
    drop(s1);
    let mut s2 = Session::new(&g);
    assert_eq!(draw(&mut s2), a1, "a new session restarts the stream");
}

#[test]
fn random_streams_depend_on_names_not_creation_order() {
    let build = |extra_first: bool| {
        let g = Graph::new();
        g.set_random_seed(7);
        if extra_first {
            let _unrelated = g.random_uniform([3usize], 0.0, 1.0);
        }
        let _w = g.truncated_normal([5usize], 0.1);
        let w = g.tensor_by_name("TruncatedNormal").unwrap();
        let mut s = Session::new(&g);
        s.run(w, &feed! {}).unwrap().into_array::<f32>().unwrap()
    };
    assert_eq!(build(false), build(true));
}

#[test]
fn truncated_normal_stays_within_two_stddevs() {
    let g = Graph::new();
    g.set_random_seed(1);
    let t = g.truncated_normal([10_000usize], 0.1);
    let mut s = Session::new(&g);
    let v = s.run(t, &feed! {}).unwrap().into_array::<f32>().unwrap();
    assert!(v.iter().all(|x| x.abs() <= 0.2 + 1e-6));
    let mean = v.mean().unwrap();
    assert!(mean.abs() < 0.005, "mean {mean}");
}

#[test]
fn fetch_structures_mirror_the_request() {
    let g = Graph::new();
    let a = g.constant(1.0f32);
    let b = g.constant(2.0f32);
    let noop = g.no_op();
    let mut s = Session::new(&g);
    let [x, y] = s.run([a, b], &feed! {}).unwrap();
    assert_eq!(
        (x.scalar::<f32>().unwrap(), y.scalar::<f32>().unwrap()),
        (1.0, 2.0)
    );
    let v = s.run(vec![b, a, b], &feed! {}).unwrap();
    assert_eq!(v.len(), 3);
    let ((), x) = s.run((noop, a), &feed! {}).unwrap();
    assert_eq!(x.scalar::<f32>().unwrap(), 1.0);
    let mixed = s
        .run(vec![Fetch::Op(noop), Fetch::Tensor(b)], &feed! {})
        .unwrap();
    assert!(mixed[0].is_none());
    assert_eq!(mixed[1].as_ref().unwrap().scalar::<f32>().unwrap(), 2.0);
}

#[test]
fn feeds_accept_scalars_vecs_arrays_and_views() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [None, Some(2)], "x");
    let k = g.placeholder(DType::Float64, [0usize; 0], "k");
    let y = (x * k).reduce_sum(None, false);
    let mut s = Session::new(&g);
    let m = array![[1.0, 2.0], [3.0, 4.0]];
    let by_ref = s.run(y, &feed! { x => &m, k => 2.0 }).unwrap();
    let by_view = s.run(y, &feed! { x => m.view(), k => 2.0 }).unwrap();
    let by_value = s.run(y, &feed! { x => m.clone(), k => 2.0 }).unwrap();
    assert_eq!(by_ref.scalar::<f64>().unwrap(), 20.0);
    assert_eq!(by_view, by_ref);
    assert_eq!(by_value, by_ref);
}

#[test]
fn names_are_unique_and_scoped() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [2usize], "x");
    let a = x * 2.0;
    let b = x * 3.0;
    assert_eq!(a.name(), "Mul");
    assert_eq!(b.name(), "Mul_1");
    let c = {
        let _l1 = g.name_scope("layer1");
        x * 4.0
    };
    assert_eq!(c.name(), "layer1/Mul");
    let d = {
        let _l1 = g.name_scope("layer1");
        x * 5.0
    };
    assert_eq!(d.name(), "layer1_1/Mul");
    assert_eq!(g.tensor_by_name("layer1/Mul"), Some(c));
    assert_eq!(g.tensor_by_name("nothing"), None);
}

#[test]
fn run_with_stats_times_the_kernels_of_the_ordinary_plan() {
    use tensorgraph::train::{AdamOptimizer, Optimizer};
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(4)], "x");
    let w = g.variable(g.constant(ndarray::Array2::<f32>::eye(4).into_dyn()), "w");
    let b = g.variable(g.constant(vec![0.1f32; 4]), "b");
    let h = tensorgraph::nn::relu(x.matmul(w) + b);
    let loss = (h * h).reduce_mean(None, false);
    let train = AdamOptimizer::new(0.1).minimize(loss);
    let init = g.global_variables_initializer();
    let xv = ndarray::Array2::from_shape_fn((8, 4), |(i, j)| (i + j) as f32 * 0.1);
    let feeds = feed! { x => &xv };
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    let kernels = s.plan_kernels((loss, train), &feeds).unwrap();
    let (l, ()) = s.run((loss, train), &feeds).unwrap();
    let l2 = s.run(loss, &feeds).unwrap();
    let (with_stats, stats) = s.run_with_stats((loss, train), &feeds).unwrap();
    // The same plan as `run`: its kernels, fused ones included, in order.
    let listed: Vec<String> = stats
        .kernels()
        .iter()
        .map(|k| format!("{} {}", k.kernel, k.node.name))
        .collect();
    assert_eq!(listed, kernels);
    assert!(listed.iter().any(|k| k.starts_with("_FusedMatMul")));
    assert!(listed.iter().any(|k| k.starts_with("_FusedApplyAdam")));
    // Still a training step: the loss moved on from the run before.
    let (l, l2, with_stats) = (
        l.scalar::<f32>().unwrap(),
        l2.scalar::<f32>().unwrap(),
        with_stats.0.scalar::<f32>().unwrap(),
    );
    assert!(l2 < l && with_stats == l2, "{l} {l2} {with_stats}");
    assert_eq!(stats.total(), stats.kernels().iter().map(|k| k.time).sum());
    let text = stats.to_text();
    assert_eq!(text.lines().count(), kernels.len() + 1, "{text}");
}

#[test]
fn large_feeds_are_copied_whole_with_threads() {
    // 4.4 MB of f32: the feed's copy into the plan is split over threads.
    use tensorgraph::session::SessionOptions;
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(1000)], "x");
    let y = x * 2.0;
    let options = SessionOptions {
        intra_op_threads: 2,
    };
    let mut s = Session::with_options(&g, options);
    for seed in 0..2 {
        let xv = Array2::from_shape_fn((1100, 1000), |(i, j)| (i * 1000 + j + seed) as f32);
        let got = s
            .run(y, &feed! { x => &xv })
            .unwrap()
            .into_array::<f32>()
            .unwrap();
        assert_eq!(got, (xv * 2.0).into_dyn());
    }
}
