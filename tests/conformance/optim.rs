//! Cases of kind "optimizer": a linear least-squares problem trained for
//! a few steps by one TF1 optimizer; per step, the loss and gradients
//! before it and the variables and slots after it are compared.

use super::support::{attr_bool, attr_f64, compare, tensor, Outcome};
use serde_json::Value as Json;
use tensorgraph::train::{
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer,
    RMSPropOptimizer,
};
use tensorgraph::{feed, gradients, Graph, Operation, Session, Tensor};

pub fn run(case: &Json) -> Outcome {
    match run_inner(case) {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    }
}

fn optimizer(name: &str, h: &Json) -> Result<Box<dyn Optimizer>, String> {
    let f = |k: &str| attr_f64(h, k).ok_or_else(|| format!("hyper-parameter {k} missing"));
    let lr = f("learning_rate")?;
    Ok(match name {
        "tf.train.GradientDescentOptimizer" => Box::new(GradientDescentOptimizer::new(lr)),
        "tf.train.MomentumOptimizer" => Box::new(
            MomentumOptimizer::new(lr, f("momentum")?).use_nesterov(attr_bool(
                h,
                "use_nesterov",
                false,
            )),
        ),
        "tf.train.AdamOptimizer" => Box::new(
            AdamOptimizer::new(lr)
                .betas(f("beta1")?, f("beta2")?)
                .epsilon(f("epsilon")?),
        ),
        "tf.train.RMSPropOptimizer" => Box::new(
            RMSPropOptimizer::new(lr)
                .decay(f("decay")?)
                .momentum(f("momentum")?)
                .epsilon(f("epsilon")?)
                .centered(attr_bool(h, "centered", false)),
        ),
        "tf.train.AdagradOptimizer" => Box::new(
            AdagradOptimizer::new(lr).initial_accumulator_value(f("initial_accumulator_value")?),
        ),
        other => return Err(format!("unknown optimizer {other}")),
    })
}

/// A case's least-squares problem and its training op.
struct Problem {
    w: Tensor,
    b: Tensor,
    loss: Tensor,
    grads: Vec<Tensor>,
    opt: Box<dyn Optimizer>,
    train: Operation,
    init: Operation,
}

fn build(g: &Graph, case: &Json) -> Result<Problem, String> {
    let p = &case["problem"];
    let x = g.constant(tensor(&p["X"]));
    let y = g.constant(tensor(&p["Y"]));
    let w = g.variable(g.constant(tensor(&p["W0"])), "W");
    let b = g.variable(g.constant(tensor(&p["b0"])), "b");
    let d = x.matmul(w) + b - y;
    let loss = (d * d).reduce_mean(None, false);
    let grads: Vec<Tensor> = gradients(&[loss], &[w, b])
        .into_iter()
        .map(|t| t.expect("reaches"))
        .collect();
    let mut opt = optimizer(case["optimizer"].as_str().unwrap_or("?"), &case["hyper"])?;
    let train = opt.minimize(loss);
    let init = g.global_variables_initializer();
    Ok(Problem {
        w,
        b,
        loss,
        grads,
        opt,
        train,
        init,
    })
}

fn run_inner(case: &Json) -> Result<Outcome, String> {
    let p = &case["problem"];
    if p["loss"].as_str() != Some("mean_squared") {
        return Ok(Outcome::Unsupported(format!("loss {}", p["loss"])));
    }
    let g = Graph::new();
    let built = g.try_build(|| build(&g, case)).map_err(|e| e.to_string())?;
    let Problem {
        w,
        b,
        loss,
        grads,
        opt,
        train,
        init,
    } = built?;
    let rtol = case["rtol"].as_f64().unwrap_or(1e-4);
    let atol = case["atol"].as_f64().unwrap_or(1e-5);

    let mut sess = Session::new(&g);
    let err = |e: tensorgraph::Error| e.to_string();
    sess.run(init, &feed! {}).map_err(err)?;
    let scalar = |v: f64| serde_json::json!({"dtype": "float32", "shape": [], "data": [v]});
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let (l, dw, db) = sess
            .run((loss, grads[0], grads[1]), &feed! {})
            .map_err(err)?;
        compare(
            &format!("step {i} loss"),
            &l,
            &scalar(step["loss"].as_f64().unwrap_or(f64::NAN)),
            rtol,
            atol,
        )?;
        compare(
            &format!("step {i} grad W"),
            &dw,
            &step["grads"]["W"],
            rtol,
            atol,
        )?;
        compare(
            &format!("step {i} grad b"),
            &db,
            &step["grads"]["b"],
            rtol,
            atol,
        )?;
        sess.run(train, &feed! {}).map_err(err)?;
        let (wv, bv) = sess.run((w, b), &feed! {}).map_err(err)?;
        compare(&format!("step {i} W"), &wv, &step["W"], rtol, atol)?;
        compare(&format!("step {i} b"), &bv, &step["b"], rtol, atol)?;
        for (key, want) in step["slots"].as_object().expect("slots") {
            let (var, slot) = key
                .split_once('/')
                .ok_or_else(|| format!("slot key {key}"))?;
            let v = if var == "W" { w } else { b };
            let t = opt
                .get_slot(v, slot)
                .ok_or_else(|| format!("no slot {slot} for {var}"))?;
            let got = sess.run(t, &feed! {}).map_err(err)?;
            compare(&format!("step {i} slot {key}"), &got, want, rtol, atol)?;
        }
        if step["slots"].as_object().map_or(0, |o| o.len()) != 2 * opt.get_slot_names().len() {
            return Err(format!(
                "slot names {:?} do not match TF's",
                opt.get_slot_names()
            ));
        }
    }
    let l = sess.run(loss, &feed! {}).map_err(err)?;
    compare(
        "final loss",
        &l,
        &scalar(case["final_loss"].as_f64().unwrap_or(f64::NAN)),
        rtol,
        atol,
    )?;
    Ok(Outcome::Passed)
}
