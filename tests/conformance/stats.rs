//! Cases of kind "stats": dropout with keep_prob < 1, checked by its
//! statistics (zero fraction within TF's recorded tolerance, kept values
//! equal to fill / keep_prob, gradient with the same mask).

use super::support::{attr_f64, dtype, Outcome};
use serde_json::Value as Json;
use tensorgraph::{feed, gradients, nn, DType, Graph, Session, Value};

pub fn run(case: &Json) -> Outcome {
    match run_inner(case) {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    }
}

fn run_inner(case: &Json) -> Result<Outcome, String> {
    if case["op"].as_str() != Some("tf.nn.dropout") {
        return Ok(Outcome::Unsupported(format!("stats of {}", case["op"])));
    }
    let keep = attr_f64(&case["attrs"], "keep_prob").ok_or("keep_prob missing")?;
    let input = &case["input"];
    let shape: Vec<usize> = input["shape"]
        .as_array()
        .ok_or("input shape")?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or("dim"))
        .collect::<Result<_, _>>()?;
    let fill = input["fill"].as_f64().ok_or("input fill")?;
    let dt = dtype(input);
    let expected = &case["expected"];
    let want_zero = expected["zero_fraction"]
        .as_f64()
        .ok_or("expected zero_fraction")?;
    let tol = expected["zero_fraction_tolerance"]
        .as_f64()
        .ok_or("tolerance")?;
    let kept_value = expected["kept_value"].as_f64().ok_or("kept_value")?;
    let grad_kept = expected["grad_kept_value"]
        .as_f64()
        .ok_or("grad_kept_value")?;

    let g = Graph::new();
    let x = g.placeholder(dt, shape.as_slice(), "x");
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let (y, dx) = g
        .try_build(|| {
            let y = nn::dropout(x, keep_prob);
            (y, gradients(&[y], &[x])[0])
        })
        .map_err(|e| e.to_string())?;
    let dx = dx.ok_or("no gradient reaches x")?;
    let mut sess = Session::new(&g);
    let xv = Value::F64(ndarray::ArrayD::from_elem(shape.as_slice(), fill)).cast(dt);
    let (yv, gv) = sess
        .run((y, dx), &feed! { x => &xv, keep_prob => keep as f32 })
        .map_err(|e| e.to_string())?;
    let (yv, gv) = (yv.to_array::<f64>(), gv.to_array::<f64>());
    let n = yv.len() as f64;
    let zeros = yv.iter().filter(|&&v| v == 0.0).count() as f64;
    if (zeros / n - want_zero).abs() > tol {
        return Err(format!(
            "zero fraction {} vs TF's expected {want_zero} ± {tol}",
            zeros / n
        ));
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    if let Some(v) = yv.iter().find(|&&v| v != 0.0 && !close(v, kept_value)) {
        return Err(format!("a kept value is {v}, TF keeps {kept_value}"));
    }
    if let Some(v) = gv.iter().find(|&&v| v != 0.0 && !close(v, grad_kept)) {
        return Err(format!("a gradient value is {v}, TF gives {grad_kept}"));
    }
    if yv
        .iter()
        .zip(gv.iter())
        .any(|(&a, &b)| (a == 0.0) != (b == 0.0))
    {
        return Err("the gradient's mask differs from the output's".into());
    }
    Ok(Outcome::Passed)
}
