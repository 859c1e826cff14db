//! Building graphs fallibly: `Graph::try_add_node` / `try_add_op` return
//! construction mistakes as `Error::Build` (the panicking builders panic
//! with the same message), a failed node leaves the graph unchanged, and
//! `Graph::try_build` turns a mistake anywhere inside a closure into an
//! `Err` without catching other panics.

use std::panic::{catch_unwind, AssertUnwindSafe};
use tensorgraph::op::{ComputeCtx, KernelError, Op, OpKind};
use tensorgraph::{
    feed, gradients_with_grad_ys, nn, train, DType, Error, Graph, Session, Tensor, TensorSpec,
};

/// A user's op: the sum of two tensors of one spec.
#[derive(Debug)]
struct AddSame;

static ADD_SAME: OpKind = OpKind::not_differentiable("AddSame", "add_same");

impl Op for AddSame {
    fn kind(&self) -> &'static OpKind {
        &ADD_SAME
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if i[0] != i[1] {
            return Err(format!("specs differ: {} vs {}", i[0], i[1]));
        }
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let sum = k.input_as::<f32>(0)? + k.input_as::<f32>(1)?;
        k.set(0, sum);
        Ok(())
    }
}

/// The message of a panic payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// Placeholders `a: [?, 3]` and `b: [4, 2]`, which neither `AddSame` nor
/// a matrix product accepts.
fn mismatched(g: &Graph) -> (Tensor, Tensor) {
    let a = g.placeholder(DType::Float32, [None, Some(3)], "a");
    let b = g.placeholder(DType::Float32, [4usize, 2], "b");
    (a, b)
}

#[test]
fn try_add_op_names_the_op_the_node_both_shapes_and_the_line() {
    let g = Graph::new();
    let (a, b) = mismatched(&g);
    let line = line!() + 1;
    let err = g.try_add_op(AddSame, &[a, b]).unwrap_err();
    let Error::Build {
        node,
        inputs,
        message,
    } = &err
    else {
        panic!("expected Error::Build, got {err}");
    };
    assert_eq!(node.name, "AddSame");
    assert_eq!(node.op.name, "AddSame");
    assert_eq!(
        (node.site.file(), node.site.line()),
        ("tests/build.rs", line)
    );
    assert_eq!(inputs, "`a` float32[?, 3], `b` float32[4, 2]");
    assert_eq!(message, "specs differ: float32[?, 3] vs float32[4, 2]");
    assert_eq!(
        err.to_string(),
        format!(
            "AddSame `AddSame` at tests/build.rs:{line}: specs differ: float32[?, 3] vs \
             float32[4, 2] (inputs: `a` float32[?, 3], `b` float32[4, 2])"
        )
    );
}

#[test]
fn add_op_panics_with_the_message_of_the_error() {
    let g = Graph::new();
    let (a, b) = mismatched(&g);
    let line = line!() + 1;
    let payload = catch_unwind(|| g.add_op(AddSame, &[a, b])).unwrap_err();
    assert_eq!(
        panic_message(payload),
        format!(
            "AddSame `AddSame` at tests/build.rs:{line}: specs differ: float32[?, 3] vs \
             float32[4, 2] (inputs: `a` float32[?, 3], `b` float32[4, 2])"
        )
    );
    // The matrix product's message, as docs/architecture.md shows it.
    let line = line!() + 1;
    let payload = catch_unwind(|| a.matmul(b)).unwrap_err();
    assert_eq!(
        panic_message(payload),
        format!(
            "MatMul `MatMul` at tests/build.rs:{line}: inner dimensions differ (3 vs 4) in \
             matmul of [?, 3] and [4, 2] (inputs: `a` float32[?, 3], `b` float32[4, 2])"
        )
    );
}

#[test]
fn a_failed_node_leaves_the_graph_as_it_was() {
    let g = Graph::new();
    let a = g.placeholder(DType::Float32, [2usize, 3], "a");
    let b = g.placeholder(DType::Float32, [2usize, 3], "b");
    let nodes = g.len();
    let err = g.try_build(|| a.matmul(b)).unwrap_err();
    assert!(err.to_string().starts_with("MatMul `MatMul` at "), "{err}");
    assert!(g
        .try_add_node(AddSame, &[a, g.constant(1.0f32)], Some("sum"))
        .is_err());
    assert_eq!(g.len(), nodes + 1, "only the constant was added");
    // Neither name was used up.
    let c = g.placeholder(DType::Float32, [3usize, 2], "c");
    assert_eq!(a.matmul(c).name(), "MatMul");
    assert_eq!(
        g.try_add_node(AddSame, &[a, b], Some("sum"))
            .unwrap()
            .name(),
        "sum"
    );
    assert_eq!(g.add_op(AddSame, &[a, b]).name(), "AddSame");
}

/// Two dense layers in name scopes, the second given a weight of the
/// wrong height.
fn mlp(g: &Graph, x: Tensor, hidden: usize, w2_rows: usize) -> Tensor {
    let layer = |input: Tensor, rows: usize, cols: usize, name: &str| {
        let _s = g.name_scope(name);
        let w = g.variable(g.zeros([rows, cols], DType::Float32), "W");
        let b = g.variable(g.zeros([cols], DType::Float32), "b");
        nn::relu(input.matmul(w) + b)
    };
    let h = layer(x, x.shape().dim(-1).expect("known width"), hidden, "layer1");
    layer(h, w2_rows, 10, "layer2")
}

#[test]
fn try_build_returns_the_mistake_deep_inside_a_composite() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(4)], "x");
    let line = line!() + 1;
    let err = g.try_build(|| mlp(&g, x, 8, 5)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Build { .. }), "{msg}");
    assert!(
        msg.starts_with("MatMul `layer2/MatMul` at tests/build.rs:"),
        "the node it would have been: {msg}"
    );
    assert!(
        msg.contains("inner dimensions differ (8 vs 5) in matmul of [?, 8] and [5, 10]"),
        "{msg}"
    );
    assert!(
        msg.ends_with("(inputs: `layer1/Relu` float32[?, 8], `layer2/W` float32[5, 10])"),
        "{msg}"
    );
    // The site is the closure's line inside mlp's layer, not this file's line.
    assert!(!msg.contains(&format!(":{line}:")), "{msg}");
    // Layer 1 stays built; the failed product is not there.
    assert!(g.tensor_by_name("layer1/Relu").is_some());
    assert!(g.tensor_by_name("layer2/W").is_some());
    assert!(g.tensor_by_name("layer2/MatMul").is_none());
    // A correct build still works, inside try_build or not.
    let y = g.try_build(|| mlp(&g, x, 8, 8)).unwrap();
    assert_eq!(y.shape().to_string(), "[?, 10]");
}

#[test]
fn try_build_returns_mistakes_inside_gradients_with_their_site() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [3usize], "x");
    let y = x * x;
    let bad_grad = g.placeholder(DType::Float32, [5usize], "dy");
    let line = line!() + 1;
    let err = g.try_build(|| gradients_with_grad_ys(&[y], &[x], &[Some(bad_grad)]));
    let msg = err.unwrap_err().to_string();
    assert!(msg.contains("`gradients/Mul_grad/"), "{msg}");
    assert!(msg.contains(&format!("tests/build.rs:{line}:")), "{msg}");
    // The scopes gradients() opened are closed, and its site attribution
    // is over: a new node is attributed to its own line.
    assert_eq!(g.current_scope(), "");
    let line = line!() + 1;
    let z = x + 1.0;
    assert_eq!(z.name(), "Add");
    let mut site = String::new();
    g.for_each_node(|op, n| {
        if op == z.op() {
            site = format!("{}:{}", n.site.file(), n.site.line());
        }
    });
    assert_eq!(site, format!("tests/build.rs:{line}"));
}

#[test]
fn scopes_opened_inside_try_build_are_closed_after_an_err() {
    let g = Graph::new();
    let a = g.placeholder(DType::Float32, [2usize], "a");
    let b = g.placeholder(DType::Float32, [3usize], "b");
    let dep = tensorgraph::ops::group(&[a.op()]);
    let err = g.try_build(|| {
        let _outer = g.name_scope("outer");
        let _deps = g.control_dependencies(&[dep]);
        let _inner = g.name_scope("inner");
        let ok = a * 2.0;
        assert_eq!(ok.name(), "outer/inner/Mul");
        a + b
    });
    let msg = err.unwrap_err().to_string();
    assert!(msg.starts_with("Add `outer/inner/Add` at "), "{msg}");
    assert_eq!(g.current_scope(), "");
    let after = a * 3.0;
    assert_eq!(after.name(), "Mul");
    let mut control_inputs = None;
    g.for_each_node(|op, n| {
        if op == after.op() {
            control_inputs = Some(n.control_inputs.len());
        }
    });
    assert_eq!(control_inputs, Some(0), "the control dependencies ended");
    // The scope's name was used, as by a scope left early with `?`.
    let _again = g.name_scope("outer");
    assert_eq!(g.current_scope(), "outer_1");
}

#[test]
fn try_build_does_not_catch_other_panics() {
    let g = Graph::new();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        g.try_build(|| -> Tensor { panic!("not a construction mistake") })
    }))
    .unwrap_err();
    assert_eq!(panic_message(payload), "not a construction mistake");
    // Outside try_build again, a mistake panics.
    let a = g.placeholder(DType::Float32, [2usize], "a");
    let b = g.placeholder(DType::Float32, [3usize], "b");
    let payload = catch_unwind(|| a + b).unwrap_err();
    assert!(panic_message(payload).starts_with("Add `Add` at tests/build.rs:"));
}

#[test]
fn try_build_nests_and_leaves_other_threads_panicking() {
    let g = Graph::new();
    let a = g.placeholder(DType::Float32, [2usize], "a");
    let b = g.placeholder(DType::Float32, [3usize], "b");
    let outer = g.try_build(|| {
        let inner = g.try_build(|| a + b);
        assert!(inner.is_err());
        // Another thread is not inside this try_build: there the mistake
        // is an ordinary panic.
        let other = std::thread::spawn(move || {
            let c = a.graph().placeholder(DType::Float32, [4usize], "c");
            a * c
        })
        .join();
        assert!(panic_message(other.unwrap_err()).starts_with("Mul `Mul` at tests/build.rs:"));
        a - b
    });
    assert!(outer.unwrap_err().to_string().starts_with("Sub `Sub` at "));
}

#[test]
fn mixing_graphs_and_building_while_frozen_are_errors_too() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.constant(1.0f32);
    let b = g2.constant(2.0f32);
    let msg = g1.try_build(|| a + b).unwrap_err().to_string();
    assert!(msg.starts_with("Add `Add` at tests/build.rs:"), "{msg}");
    assert!(
        msg.contains("input 1 `Const` belongs to another graph"),
        "{msg}"
    );
    // The panic says the same (on its own line).
    let payload = catch_unwind(|| a + b).unwrap_err();
    let after_site = |m: &str| m.split_once(": ").map(|p| p.1.to_string());
    assert_eq!(after_site(&panic_message(payload)), after_site(&msg));

    let _s = Session::new(&g1);
    let line = line!() + 1;
    let err = g1.try_add_node(AddSame, &[a, a], None).unwrap_err();
    assert!(matches!(err, Error::GraphFrozen { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot add a AddSame node at tests/build.rs:{line}: the graph is frozen while a \
             Session uses it; build every op (gradients, optimizers, initializers) before \
             Session::new, as building ops inside a training loop would grow the graph at \
             every step"
        )
    );
    let err = g1.try_build(|| a * 2.0).unwrap_err();
    assert!(matches!(err, Error::GraphFrozen { .. }), "{err}");
    let payload = catch_unwind(|| a * 2.0).unwrap_err();
    assert!(
        panic_message(payload).contains("the graph is frozen while a Session uses it"),
        "the panicking builders give the same advice"
    );
}

#[test]
fn try_build_covers_optimizers_and_dropout_checks() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(2)], "x");
    let err = g.try_build(|| nn::dropout(x, 1.5)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "dropout keep_prob must be in (0, 1], got 1.5"
    );

    let w = g.variable(g.ones([2usize, 1], DType::Float32), "w");
    let loss = x.matmul(w).reduce_mean(None, false);
    let step = g
        .try_build(|| {
            use train::Optimizer;
            train::AdamOptimizer::new(0.01).minimize(loss)
        })
        .unwrap();
    let init = g.global_variables_initializer();
    let mut s = Session::new(&g);
    s.run(init, &feed! {}).unwrap();
    s.run(step, &feed! { x => ndarray::array![[1.0f32, 2.0]] })
        .unwrap();
}

#[test]
fn try_build_covers_the_builders_own_checks() {
    let g = Graph::new();
    let x = g.placeholder(DType::Float32, [None, Some(2)], "x");
    g.variable(g.ones([2usize], DType::Float32), "w");
    let err = g
        .try_build(|| g.variable(g.zeros([2usize], DType::Float32), "w"))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("variable `w` already exists (built at tests/build.rs:"),
        "{err}"
    );
    let err = g.try_build(|| tensorgraph::ops::assign(x, x)).unwrap_err();
    assert!(
        err.to_string()
            .contains("`x` (Placeholder) is not a variable"),
        "{err}"
    );
    let unknown = g.placeholder(DType::Float32, [None, None], "unknown");
    let err = g
        .try_build(|| tensorgraph::ops::unstack(unknown, 1))
        .unwrap_err();
    assert!(
        err.to_string().contains("unstack needs the size of axis 1"),
        "{err}"
    );
    let loss = (x * 2.0).reduce_sum(None, false);
    let v = g.variable(g.ones([1usize], DType::Float32), "unused");
    let err = g
        .try_build(|| {
            use train::Optimizer;
            train::GradientDescentOptimizer::new(0.1).minimize_with(loss, Some(&[v]), None)
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no gradients provided for any variable"),
        "{err}"
    );
}
