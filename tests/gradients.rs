//! The gradient builder: unconnected inputs, summed ys, grad_ys, second
//! derivatives and Hessian-vector products, and the unbroadcast helper.

use ndarray::{array, ArrayD};
use tensorgraph::ops::{matmul, reduce_sum, unbroadcast};
use tensorgraph::{feed, gradients, gradients_with_grad_ys, DType, Graph, Session, Value};

fn f64s(v: Value) -> Vec<f64> {
    v.into_array::<f64>().unwrap().iter().copied().collect()
}

#[test]
fn unconnected_and_integer_inputs_get_none() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [2usize], "x");
    let z = g.placeholder(DType::Float64, [2usize], "z");
    let y = (x * x).reduce_sum(None, false);
    let gs = gradients(&[y], &[x, z]);
    assert!(gs[0].is_some());
    assert!(gs[1].is_none(), "z does not reach y");
}

#[test]
fn several_ys_are_summed_and_grad_ys_weight_them() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [2usize], "x");
    let y1 = x * 2.0;
    let y2 = x * x;
    let w = g.placeholder(DType::Float64, [2usize], "w");
    let both = gradients(&[y1, y2], &[x])[0].unwrap();
    let weighted = gradients_with_grad_ys(&[y1, y2], &[x], &[Some(w), None])[0].unwrap();
    let mut s = Session::new(&g);
    let f = feed! { x => vec![1.0, 3.0], w => vec![10.0, 0.0] };
    assert_eq!(f64s(s.run(both, &f).unwrap()), vec![4.0, 8.0]);
    assert_eq!(f64s(s.run(weighted, &f).unwrap()), vec![22.0, 6.0]);
}

#[test]
fn second_derivatives_of_cubic() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [3usize], "x");
    let y = x * x * x;
    let d1 = gradients(&[y], &[x])[0].unwrap();
    let d2 = gradients(&[d1], &[x])[0].unwrap();
    let d3 = gradients(&[d2], &[x])[0].unwrap();
    let mut s = Session::new(&g);
    let f = feed! { x => vec![1.0, -2.0, 0.5] };
    assert_eq!(f64s(s.run(d1, &f).unwrap()), vec![3.0, 12.0, 0.75]);
    assert_eq!(f64s(s.run(d2, &f).unwrap()), vec![6.0, -12.0, 3.0]);
    assert_eq!(f64s(s.run(d3, &f).unwrap()), vec![6.0, 6.0, 6.0]);
}

#[test]
fn hessian_vector_product_of_a_quadratic_form() {
    // f(x) = 1/2 x^T A x with symmetric A: H = A, so Hv = A v.
    let g = Graph::new();
    let a = g.constant(array![[2.0, 1.0], [1.0, 3.0]].into_dyn());
    let x = g.placeholder(DType::Float64, [2usize, 1], "x");
    let v = g.placeholder(DType::Float64, [2usize, 1], "v");
    let f = reduce_sum(
        matmul(x, matmul(a, x, false, false), true, false),
        None,
        false,
    ) * 0.5;
    let gx = gradients(&[f], &[x])[0].unwrap();
    let hv = gradients(&[(gx * v).reduce_sum(None, false)], &[x])[0].unwrap();
    let mut s = Session::new(&g);
    let out = s
        .run(
            hv,
            &feed! { x => array![[0.3], [-0.7]], v => array![[1.0], [2.0]] },
        )
        .unwrap();
    assert_eq!(f64s(out), vec![4.0, 7.0]);
}

fn unbroadcast_to(grad: ArrayD<f64>, like_shape: &[usize]) -> (Vec<usize>, Vec<f64>) {
    let g = Graph::new();
    let gr = g.constant(grad);
    let like = g.placeholder(DType::Float64, like_shape, "like");
    let r = unbroadcast(gr, like);
    let mut s = Session::new(&g);
    let zeros = ArrayD::<f64>::zeros(like_shape);
    let v = s.run(r, &feed! { like => &zeros }).unwrap();
    (v.shape().to_vec(), f64s(v))
}

#[test]
fn unbroadcast_to_scalar() {
    let (shape, data) = unbroadcast_to(array![[1.0, 2.0], [3.0, 4.0]].into_dyn(), &[]);
    assert_eq!(shape, Vec::<usize>::new());
    assert_eq!(data, vec![10.0]);
}

#[test]
fn unbroadcast_to_row() {
    let (shape, data) =
        unbroadcast_to(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn(), &[1, 3]);
    assert_eq!(shape, vec![1, 3]);
    assert_eq!(data, vec![5.0, 7.0, 9.0]);
}

#[test]
fn unbroadcast_to_column() {
    let (shape, data) =
        unbroadcast_to(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn(), &[2, 1]);
    assert_eq!(shape, vec![2, 1]);
    assert_eq!(data, vec![6.0, 15.0]);
}

#[test]
fn unbroadcast_with_rank_change() {
    let grad = ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 3, 4]), |i| {
        (i[0] * 12 + i[1] * 4 + i[2]) as f64
    });
    let (shape, data) = unbroadcast_to(grad.clone(), &[4]);
    assert_eq!(shape, vec![4]);
    let want: Vec<f64> = (0..4)
        .map(|k| (0..6).map(|r| (r * 4 + k) as f64).sum())
        .collect();
    assert_eq!(data, want);
    let (shape, data) = unbroadcast_to(grad, &[3, 1]);
    assert_eq!(shape, vec![3, 1]);
    let want: Vec<f64> = (0..3)
        .map(|j| {
            (0..2)
                .flat_map(|i| (0..4).map(move |k| (i * 12 + j * 4 + k) as f64))
                .sum()
        })
        .collect();
    assert_eq!(data, want);
}

#[test]
fn unbroadcast_is_identity_when_no_broadcast_happened() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [2usize, 3], "x");
    let gr = x * 2.0;
    assert_eq!(unbroadcast(gr, x), gr);
}

#[test]
fn gradient_nodes_live_under_the_gradients_scope_and_point_at_the_call() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float64, [2usize], "x");
    let y = (x * x).reduce_sum(None, false);
    let line = line!() + 1;
    let dx = gradients(&[y], &[x])[0].unwrap();
    assert!(dx.name().starts_with("gradients/"), "{}", dx.name());
    let mut site = String::new();
    g.for_each_node(|op, n| {
        if op == dx.op() {
            site = format!("{}:{}", n.site.file(), n.site.line());
        }
    });
    assert_eq!(site, format!("tests/gradients.rs:{line}"));
}
