//! Reading case tensors and comparing values at a case's tolerances.

use ndarray::{ArrayD, IxDyn};
use serde_json::Value as Json;
use tensorgraph::{gradients_with_grad_ys, DType, Feeds, Graph, Session, Tensor, Value};

/// What became of one case.
pub enum Outcome {
    Passed,
    Failed(String),
    Unsupported(String),
}

/// A case tensor as a tensorgraph value.
pub fn tensor(j: &Json) -> Value {
    let shape: Vec<usize> = j["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    let data = j["data"].as_array().expect("data");
    let s = IxDyn(&shape);
    let f = |d: &Json| d.as_f64().expect("number");
    match dtype(j) {
        DType::Float32 => Value::F32(
            ArrayD::from_shape_vec(s, data.iter().map(|d| f(d) as f32).collect()).unwrap(),
        ),
        DType::Float64 => {
            Value::F64(ArrayD::from_shape_vec(s, data.iter().map(f).collect()).unwrap())
        }
        DType::Int32 => Value::I32(
            ArrayD::from_shape_vec(s, data.iter().map(|d| d.as_i64().unwrap() as i32).collect())
                .unwrap(),
        ),
        DType::Int64 => Value::I64(
            ArrayD::from_shape_vec(s, data.iter().map(|d| d.as_i64().unwrap()).collect()).unwrap(),
        ),
        DType::Bool => Value::Bool(
            ArrayD::from_shape_vec(s, data.iter().map(|d| d.as_bool().unwrap()).collect()).unwrap(),
        ),
    }
}

pub fn dtype(j: &Json) -> DType {
    DType::from_name(j["dtype"].as_str().expect("dtype")).expect("known dtype")
}

/// Checks `got` against the golden tensor: same dtype and shape, and
/// `|got - want| <= atol + rtol * |want|` elementwise.
pub fn compare(what: &str, got: &Value, want: &Json, rtol: f64, atol: f64) -> Result<(), String> {
    let want = tensor(want);
    if got.dtype() != want.dtype() {
        return Err(format!(
            "{what}: dtype {} but TF gives {}",
            got.dtype(),
            want.dtype()
        ));
    }
    if got.shape() != want.shape() {
        return Err(format!(
            "{what}: shape {:?} but TF gives {:?}",
            got.shape(),
            want.shape()
        ));
    }
    let (g, w) = (got.to_array::<f64>(), want.to_array::<f64>());
    let mut worst: Option<(usize, f64, f64)> = None;
    for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
        let ok = (a - b).abs() <= atol + rtol * b.abs();
        if !ok && worst.is_none_or(|(_, x, y)| (a - b).abs() > (x - y).abs()) {
            worst = Some((i, *a, *b));
        }
    }
    match worst {
        None => Ok(()),
        Some((i, a, b)) => Err(format!(
            "{what}: element {i} is {a} but TF gives {b} (rtol {rtol}, atol {atol})"
        )),
    }
}

/// The builder of one family: given the TF op name, attrs and one
/// placeholder per input, returns the op's outputs, or `None` if the
/// family does not know the op.
pub type Build = fn(&str, &Json, &[Tensor], &Graph) -> Option<Result<Vec<Tensor>, String>>;

/// Runs a `kind: "op"` case.
pub fn run_op_case(case: &Json, build: Build) -> Outcome {
    match run_op_case_inner(case, build) {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    }
}

/// An op case's graph: the fed placeholders and the tensors to compare.
struct OpGraph {
    feeds: Vec<(Tensor, Value)>,
    outputs: Vec<Tensor>,
    /// Per differentiable input: its name, its gradient and TF's.
    grad_checks: Vec<(String, Option<Tensor>, Json)>,
}

fn run_op_case_inner(case: &Json, build: Build) -> Result<Outcome, String> {
    let g = Graph::new();
    let built = match g.try_build(|| build_op_graph(case, build, &g)) {
        Ok(Ok(built)) => built,
        Ok(Err(outcome)) => return Ok(outcome),
        Err(mistake) => return Err(mistake.to_string()),
    };
    let rtol = case["rtol"].as_f64().unwrap_or(1e-5);
    let atol = case["atol"].as_f64().unwrap_or(1e-6);
    let wants: Vec<&Json> = match case.get("outputs") {
        Some(Json::Array(a)) => a.iter().collect(),
        _ => vec![&case["output"]],
    };
    if wants.len() != built.outputs.len() {
        return Err(format!(
            "{} outputs but TF gives {}",
            built.outputs.len(),
            wants.len()
        ));
    }
    let mut sess = Session::new(&g);
    let mut feeds = Feeds::new();
    for (x, v) in &built.feeds {
        feeds.insert(*x, v);
    }
    let got = sess
        .run(&built.outputs, &feeds)
        .map_err(|e| e.to_string())?;
    for (i, (gv, w)) in got.iter().zip(&wants).enumerate() {
        compare(&format!("output {i}"), gv, w, rtol, atol)?;
    }
    for (name, gt, want) in built.grad_checks {
        match (gt, want.is_null()) {
            (None, true) => {}
            (None, false) => return Err(format!("no gradient for {name}, but TF gives one")),
            (Some(_), true) => return Err(format!("a gradient for {name}, but TF gives None")),
            (Some(t), false) => {
                let v = sess.run(t, &feeds).map_err(|e| e.to_string())?;
                compare(&format!("grad {name}"), &v, &want, rtol, atol)?;
            }
        }
    }
    Ok(Outcome::Passed)
}

/// Builds an op case in `g`: a placeholder per input, the op, and the
/// gradients the case checks; `Err` when the case is not supported.
fn build_op_graph(case: &Json, build: Build, g: &Graph) -> Result<OpGraph, Outcome> {
    let inputs = case["inputs"].as_array().expect("inputs");
    let mut feeds = Vec::new();
    for inp in inputs {
        let v = tensor(&inp["value"]);
        let name = inp["name"].as_str().expect("input name");
        feeds.push((g.placeholder(v.dtype(), v.shape(), name), v));
    }
    let xs: Vec<Tensor> = feeds.iter().map(|(x, _)| *x).collect();
    let op = case["op"].as_str().expect("op");
    let outputs = match build(op, &case["attrs"], &xs, g) {
        None => return Err(Outcome::Unsupported(format!("no builder for {op}"))),
        Some(Err(e)) => return Err(Outcome::Unsupported(e)),
        Some(Ok(o)) => o,
    };
    let mut grad_checks = Vec::new();
    if let Some(grads) = case.get("grads").and_then(Json::as_object) {
        let gys: Vec<Json> = match &case["grad_ys"] {
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mut grad_ys = Vec::new();
        for (i, gy) in gys.iter().enumerate() {
            let v = tensor(gy);
            let p = g.placeholder(v.dtype(), v.shape(), &format!("grad_ys_{i}"));
            feeds.push((p, v));
            grad_ys.push(Some(p));
        }
        let diff: Vec<usize> = inputs
            .iter()
            .enumerate()
            .filter(|(_, i)| i["differentiable"].as_bool().unwrap_or(false))
            .map(|(k, _)| k)
            .collect();
        let wrt: Vec<Tensor> = diff.iter().map(|&k| xs[k]).collect();
        let gs = gradients_with_grad_ys(&outputs, &wrt, &grad_ys);
        for (&k, gt) in diff.iter().zip(gs) {
            let name = inputs[k]["name"].as_str().unwrap().to_string();
            grad_checks.push((name.clone(), gt, grads[&name].clone()));
        }
    }
    Ok(OpGraph {
        feeds,
        outputs,
        grad_checks,
    })
}

/// Attribute helpers.
pub fn attr_bool(attrs: &Json, key: &str, default: bool) -> bool {
    attrs.get(key).and_then(Json::as_bool).unwrap_or(default)
}

pub fn attr_f64(attrs: &Json, key: &str) -> Option<f64> {
    attrs.get(key).and_then(Json::as_f64)
}
