//! Every run-time error is an `Err` naming the node, its op, the shapes
//! involved and the user's line that built the node, or the tensor, value
//! or graph it concerns. (Construction mistakes: tests/build.rs.)

use ndarray::Array2;
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
fn tensors_of_another_graph_are_named_with_both_graphs() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.constant(1.0f32);
    let v = g1.variable(g1.zeros([2usize], DType::Float32), "v");
    let _b = g2.constant(2.0f32);
    let mut s = Session::new(&g2);
    let err = s.run(a, &feed! {}).unwrap_err();
    let Error::ForeignTensor {
        what,
        name,
        graph,
        session_graph,
    } = &err
    else {
        panic!("expected ForeignTensor, got {err}");
    };
    assert_eq!((what.as_str(), name.as_str()), ("fetch 0", "Const"));
    assert_ne!(graph, session_graph);
    assert_eq!(
        err.to_string(),
        format!(
            "fetch 0 `Const` belongs to graph {graph}, not to this session's graph {session_graph}"
        )
    );
    let err = s.run(_b, &feed! { a => 3.0f32 }).unwrap_err().to_string();
    assert!(err.starts_with("feed 0 `Const` belongs to graph "), "{err}");
    let err = s.variable_value(v).unwrap_err().to_string();
    assert!(err.starts_with("variable `v` belongs to graph "), "{err}");
}

#[test]
fn reading_a_value_as_another_dtype_or_shape_names_it() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [2usize], "x");
    let line = here!();
    let y = x * 2.0;
    let total = y.reduce_sum(None, false);
    let mut s = Session::new(&g);
    let f = feed! { x => vec![1.0f32, 2.0] };
    let v = s.run(y, &f).unwrap();
    let err = v.clone().into_array::<i64>().unwrap_err();
    assert!(matches!(err, Error::FetchType { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the value of shape [2] has dtype float32, not int64"
    );
    let err = v.scalar::<f32>().unwrap_err();
    assert!(matches!(err, Error::FetchShape { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the float32 value has shape [2], expected a scalar"
    );
    // The session's typed fetches name the fetch.
    let err = s.run_array::<f64>(y, &f).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("fetch `Mul` (Mul, built at {line}) has dtype float32, not float64")
    );
    let err = s.run_scalar::<f32>(y, &f).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("fetch `Mul` (Mul, built at {line}) has shape [2], expected a scalar")
    );
    assert_eq!(
        s.run_array::<f32>(y, &f)
            .unwrap()
            .into_raw_vec_and_offset()
            .0,
        [2.0, 4.0]
    );
    assert_eq!(s.run_scalar::<f32>(total, &f).unwrap(), 6.0);
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
