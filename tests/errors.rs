//! Every run-time error is an `Err` naming the node, its op, the shapes
//! involved and the user's line that built the node.

use ndarray::{Array1, Array2};
use tensorgraph::{feed, DType, Error, Graph, Session};

/// The line of this file that the next statement is on.
macro_rules! here {
    () => {
        format!("tests/errors.rs:{}", line!() + 1)
    };
}

#[test]
fn unfed_placeholders_are_all_reported_with_dtype_shape_fetch_and_site() {
    let g = Graph::new();
    let x_line = here!();
    let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
    let keep_line = here!();
    let keep = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let unrelated = g.placeholder(DType::Float32, [3usize], "unrelated");
    let h = x * keep;
    let out = h.reduce_sum(None, false);
    let _other = unrelated * 2.0;
    let mut s = Session::new(&g);
    let err = s.run(out, &feed! {}).unwrap_err();
    let Error::UnfedPlaceholders(missing) = &err else {
        panic!("expected UnfedPlaceholders, got {err}");
    };
    assert_eq!(
        missing.len(),
        2,
        "both placeholders at once, not the unrelated one: {err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("`X` (Placeholder, built at"), "{msg}");
    assert!(msg.contains(&x_line), "{msg}");
    assert!(msg.contains(&keep_line), "{msg}");
    assert!(msg.contains("float32 of shape [?, 784]"), "{msg}");
    assert!(msg.contains("float32 of shape []"), "{msg}");
    assert!(msg.contains("needed by Sum <- Mul <- X"), "{msg}");
}

#[test]
fn feed_of_wrong_dtype_names_node_and_both_dtypes() {
    let g = Graph::new();
    let line = here!();
    let x = g.placeholder(DType::Float32, [2usize], "x");
    let y = x * 2.0;
    let mut s = Session::new(&g);
    let err = s.run(y, &feed! { x => vec![1.0f64, 2.0] }).unwrap_err();
    assert!(matches!(err, Error::FeedDType { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot feed a float64 value to `x` (Placeholder"),
        "{msg}"
    );
    assert!(msg.contains("which has dtype float32"), "{msg}");
    assert!(msg.contains(&line), "{msg}");
}

#[test]
fn feed_of_wrong_shape_names_node_and_both_shapes() {
    let g = Graph::new();
    let line = here!();
    let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
    let y = x * 2.0;
    let mut s = Session::new(&g);
    let bad = Array2::<f32>::zeros((2, 783));
    let err = s.run(y, &feed! { x => &bad }).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::FeedShape { .. }), "{msg}");
    assert!(msg.contains("shape [2, 783]"), "{msg}");
    assert!(msg.contains("which has shape [?, 784]"), "{msg}");
    assert!(msg.contains(&line), "{msg}");
}

#[test]
fn run_time_shape_mismatch_names_the_op_its_inputs_and_site() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(10)], "logits");
    let y = g.placeholder(DType::Float32, [None, Some(10)], "labels");
    let line = here!();
    let diff = x - y;
    let mut s = Session::new(&g);
    let a = Array2::<f32>::zeros((128, 10));
    let b = Array2::<f32>::zeros((64, 10));
    let err = s.run(diff, &feed! { x => &a, y => &b }).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Runtime { .. }), "{msg}");
    assert!(msg.contains("`Sub` (Sub, built at"), "{msg}");
    assert!(msg.contains("float32[128, 10], float32[64, 10]"), "{msg}");
    assert!(msg.contains(&line), "{msg}");
}

#[test]
fn uninitialized_variable_is_named_with_the_fix() {
    let g = Graph::new();
    let line = here!();
    let w = g.variable(g.zeros([3usize], DType::Float32), "W1");
    let y = w * 2.0;
    let _init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    let err = s.run(y, &feed! {}).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::UninitializedVariable { .. }), "{msg}");
    assert!(
        msg.contains("uninitialized variable `W1` (VariableV2"),
        "{msg}"
    );
    assert!(msg.contains(&line), "{msg}");
    assert!(msg.contains("global_variables_initializer()"), "{msg}");
}

#[test]
fn assign_add_to_uninitialized_variable_is_an_error() {
    let g = Graph::new();
    let w = g.variable(g.zeros([3usize], DType::Float32), "counter");
    let inc = tensorgraph::ops::assign_add(w, g.ones([3usize], DType::Float32));
    let mut s = Session::new(&g);
    let err = s.run(inc, &feed! {}).unwrap_err();
    assert!(
        err.to_string().contains("uninitialized variable `counter`"),
        "{err}"
    );
}

#[test]
fn fetching_from_another_graph_is_an_error() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.constant(1.0f32);
    let _b = g2.constant(2.0f32);
    let mut s = Session::new(&g2);
    assert!(matches!(
        s.run(a, &feed! {}),
        Err(Error::ForeignTensor { .. })
    ));
}

#[test]
fn construction_mistake_panics_naming_op_node_shapes_and_line() {
    let g = Graph::new();
    let a = g.placeholder(DType::Float32, [None, Some(3)], "a");
    let b = g.placeholder(DType::Float32, [4usize, 2], "b");
    let line = line!() + 1;
    let r = std::panic::catch_unwind(|| a.matmul(b));
    let msg = r
        .unwrap_err()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(msg.contains("MatMul `MatMul`"), "{msg}");
    assert!(msg.contains("[?, 3]") && msg.contains("[4, 2]"), "{msg}");
    assert!(msg.contains(&format!("tests/errors.rs:{line}")), "{msg}");
}

#[test]
fn mixing_graphs_panics() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.constant(1.0f32);
    let b = g2.constant(2.0f32);
    let r = std::panic::catch_unwind(|| a + b);
    let msg = r
        .unwrap_err()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(msg.contains("belongs to another graph"), "{msg}");
}

#[test]
fn building_while_a_session_lives_panics_with_advice() {
    let g = Graph::new();
    let a = g.constant(Array1::from(vec![1.0f32]).into_dyn());
    let _s = Session::new(&g);
    let r = std::panic::catch_unwind(|| a * 2.0);
    let msg = r
        .unwrap_err()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(
        msg.contains("the graph is frozen while a Session uses it"),
        "{msg}"
    );
}

#[test]
fn check_numerics_failure_names_node_message_and_site() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [2usize], "x");
    let line = here!();
    let checked = tensorgraph::ops::check_numerics(tensorgraph::ops::log(x), "log of the input");
    let mut s = Session::new(&g);
    assert!(s.run(checked, &feed! { x => vec![1.0f32, 2.0] }).is_ok());
    let err = s
        .run(checked, &feed! { x => vec![-1.0f32, 0.0] })
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            Error::CheckNumerics {
                what: "NaN and Inf",
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("(CheckNumerics, built at"), "{msg}");
    assert!(msg.contains("log of the input"), "{msg}");
    assert!(msg.contains(&line), "{msg}");
}
