//! One gradient-check case: a small float64 graph, the tensors to
//! differentiate with respect to and the points to check at.

use tensorgraph::gradcheck::compute_gradient_error;
use tensorgraph::{Feeds, Graph, Tensor, Value};

/// What a case builds: `y`, the `(x, point)` pairs, and other feeds.
pub struct Built {
    pub y: Tensor,
    pub xs: Vec<(Tensor, Value)>,
    pub feeds: Vec<(Tensor, Value)>,
}

#[derive(Clone)]
pub struct Case {
    pub name: &'static str,
    pub build: fn(&Graph) -> Built,
    /// Largest acceptable |symbolic - numeric| Jacobian entry.
    pub tol: f64,
    /// Finite-difference step.
    pub delta: f64,
}

/// A case with the default tolerance (1e-6 at delta 1e-6 in float64).
pub fn case(name: &'static str, build: fn(&Graph) -> Built) -> Case {
    Case {
        name,
        build,
        tol: 1e-6,
        delta: 1e-6,
    }
}

/// A float64 value of the given shape from a list of numbers.
pub fn arr(shape: &[usize], data: &[f64]) -> Value {
    Value::F64(
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), data.to_vec())
            .expect("shape matches data"),
    )
}

/// Deterministic, tie-free test points: distinct values in about [-1.5, 1.5].
pub fn points(shape: &[usize], salt: u64) -> Value {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n)
        .map(|i| {
            let h = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            ((h >> 11) as f64 / (1u64 << 53) as f64) * 3.0 - 1.5 + i as f64 * 1e-3
        })
        .collect();
    arr(shape, &data)
}

/// A float64 placeholder fed `value` as the point to differentiate at.
pub fn input(g: &Graph, name: &str, value: Value) -> (Tensor, Value) {
    (
        g.placeholder(tensorgraph::DType::Float64, value.shape(), name),
        value,
    )
}

pub fn check_all(cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let g = Graph::new();
        let b = (c.build)(&g);
        let xs: Vec<Tensor> = b.xs.iter().map(|(t, _)| *t).collect();
        let points: Vec<Value> = b.xs.iter().map(|(_, v)| v.clone()).collect();
        let mut feeds = Feeds::new();
        for (t, v) in &b.feeds {
            feeds.insert(*t, v.clone());
        }
        match compute_gradient_error(b.y, &xs, &points, &feeds, c.delta) {
            Ok(r) if r.max_error <= c.tol => {}
            Ok(r) => failures.push(format!(
                "{}: max error {:e} > {:e}",
                c.name, r.max_error, c.tol
            )),
            Err(e) => failures.push(format!("{}: {e}", c.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "gradient checks failed:\n{}",
        failures.join("\n")
    );
}

/// The op kinds of the nodes a case builds (its forward graph).
pub fn kinds_checked(c: &Case) -> Vec<&'static str> {
    let g = Graph::new();
    let _ = (c.build)(&g);
    let mut kinds = Vec::new();
    g.for_each_node(|_, n| kinds.push(n.kind().name));
    kinds
}
