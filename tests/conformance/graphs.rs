//! Cases of kind "graph": whole small graphs (an MLP with dropout, a
//! Hessian-vector product, second derivatives, nested gradients with
//! grad_ys, a gradient-norm penalty, training-mode batch norm), rebuilt by
//! `family` with every size taken from the inputs' shapes.

use super::support::{compare, tensor, Outcome};
use serde_json::Value as Json;
use std::collections::HashMap;
use tensorgraph::ops::{self, reduce_mean, reduce_sum};
use tensorgraph::{gradients, gradients_with_grad_ys, nn, DType, Feeds, Graph, Session, Tensor};

type Outputs = Vec<(&'static str, Tensor)>;

fn grads(ys: &[Tensor], xs: &[Tensor]) -> Vec<Tensor> {
    gradients(ys, xs)
        .into_iter()
        .map(|g| g.expect("connected"))
        .collect()
}

fn build(family: &str, x: &HashMap<String, Tensor>) -> Option<Outputs> {
    let i = |n: &str| x[n];
    Some(match family {
        "mlp" => {
            let h1 = nn::relu(i("X").matmul(i("W1")) + i("b1"));
            let h1d = nn::dropout(h1, i("keep_prob"));
            let h2 = nn::relu(h1d.matmul(i("W2")) + i("b2"));
            let h2d = nn::dropout(h2, i("keep_prob"));
            let logits = h2d.matmul(i("W3")) + i("b3");
            let loss = reduce_mean(
                nn::softmax_cross_entropy_with_logits(i("Y"), logits),
                None,
                false,
            );
            let probs = nn::softmax(logits, -1);
            let correct = ops::equal(
                ops::argmax(logits, 1, DType::Int64),
                ops::argmax(i("Y"), 1, DType::Int64),
            );
            let accuracy = reduce_mean(ops::cast(correct, DType::Float32), None, false);
            let ws = ["W1", "b1", "W2", "b2", "W3", "b3"].map(i);
            let d = grads(&[loss], &ws);
            vec![
                ("h1", h1),
                ("logits", logits),
                ("loss", loss),
                ("probs", probs),
                ("accuracy", accuracy),
                ("dW1", d[0]),
                ("db1", d[1]),
                ("dW2", d[2]),
                ("db2", d[3]),
                ("dW3", d[4]),
                ("db3", d[5]),
            ]
        }
        "hvp_tanh_mlp" => {
            let h = nn::tanh(i("X").matmul(i("W1")) + i("b1"));
            let pred = h.matmul(i("W2")) + i("b2");
            let loss = reduce_mean(ops::square(pred - i("Y")), None, false);
            let ws = ["W1", "b1", "W2", "b2"].map(i);
            let g = grads(&[loss], &ws);
            let vs = ["vW1", "vb1", "vW2", "vb2"].map(i);
            let gv = ops::add_n(&[0, 1, 2, 3].map(|k| reduce_sum(g[k] * vs[k], None, false)));
            let hv = grads(&[gv], &ws);
            vec![
                ("loss", loss),
                ("gW1", g[0]),
                ("gb1", g[1]),
                ("gW2", g[2]),
                ("gb2", g[3]),
                ("gv", gv),
                ("hvW1", hv[0]),
                ("hvb1", hv[1]),
                ("hvW2", hv[2]),
                ("hvb2", hv[3]),
            ]
        }
        f if f.starts_with("second_derivative_") => {
            let xv = i("x");
            let y = match &f["second_derivative_".len()..] {
                "cube_mul" => xv * xv * xv,
                "cube_pow" => ops::pow(xv, ops::scalar_like(3.0, xv)),
                "sin" => ops::sin(xv),
                "tanh" => nn::tanh(xv),
                "exp_times_x" => ops::exp(xv) * xv,
                _ => return None,
            };
            let dy = grads(&[y], &[xv])[0];
            let d2y = grads(&[dy], &[xv])[0];
            vec![("y", y), ("dy", dy), ("d2y", d2y)]
        }
        "second_order_grad_ys" => {
            let (xv, w) = (i("x"), i("w"));
            let y = nn::tanh(xv) * w + ops::square(w);
            let gx = gradients_with_grad_ys(&[y], &[xv], &[Some(i("gy"))])[0].expect("connected");
            let g2 = gradients_with_grad_ys(&[gx], &[xv, w], &[Some(i("gy2"))]);
            vec![
                ("y", y),
                ("gx", gx),
                ("gxx", g2[0].expect("connected")),
                ("gxw", g2[1].expect("connected")),
            ]
        }
        "grad_norm_penalty_softmax_ce" => {
            let logits = i("x").matmul(i("W"));
            let loss = reduce_mean(
                nn::softmax_cross_entropy_with_logits(i("labels"), logits),
                None,
                false,
            );
            let gw = grads(&[loss], &[i("W")])[0];
            let gnorm = reduce_sum(ops::square(gw), None, false);
            let ggw = grads(&[gnorm], &[i("W")])[0];
            vec![("loss", loss), ("gW", gw), ("gnorm", gnorm), ("ggW", ggw)]
        }
        "batchnorm_train" => {
            let xv = i("x");
            let rank = xv.shape().rank().expect("known rank") as isize;
            let axes: Vec<isize> = (0..rank - 1).collect();
            let (mean, variance) = nn::moments(xv, axes, false);
            let y = nn::batch_normalization(
                xv,
                mean,
                variance,
                Some(i("offset")),
                Some(i("scale")),
                0.001,
            );
            let loss = reduce_sum(y * i("upstream"), None, false);
            let d = grads(&[loss], &[xv, i("offset"), i("scale")]);
            vec![
                ("mean", mean),
                ("variance", variance),
                ("y", y),
                ("loss", loss),
                ("dx", d[0]),
                ("doffset", d[1]),
                ("dscale", d[2]),
            ]
        }
        _ => return None,
    })
}

pub fn run(case: &Json) -> Outcome {
    let family = case["family"].as_str().unwrap_or("?");
    let g = Graph::new();
    let mut inputs = HashMap::new();
    let mut values = Vec::new();
    for inp in case["inputs"].as_array().expect("inputs") {
        let name = inp["name"].as_str().expect("name").to_string();
        let v = tensor(&inp["value"]);
        let t = g.placeholder(v.dtype(), v.shape(), &name);
        inputs.insert(name, t);
        values.push((t, v));
    }
    let outputs = match g.try_build(|| build(family, &inputs)) {
        Ok(Some(outputs)) => outputs,
        Ok(None) => return Outcome::Unsupported(format!("no builder for graph family {family}")),
        Err(mistake) => return Outcome::Failed(mistake.to_string()),
    };
    let rtol = case["rtol"].as_f64().unwrap_or(1e-5);
    let atol = case["atol"].as_f64().unwrap_or(1e-6);
    let mut sess = Session::new(&g);
    let mut feeds = Feeds::new();
    for (t, v) in &values {
        feeds.insert(*t, v);
    }
    let want = case["outputs"].as_object().expect("outputs");
    if want.len() != outputs.len() {
        return Outcome::Failed(format!(
            "{} outputs built, TF has {}",
            outputs.len(),
            want.len()
        ));
    }
    let tensors: Vec<Tensor> = outputs.iter().map(|(_, t)| *t).collect();
    let got = match sess.run(&tensors, &feeds) {
        Ok(v) => v,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    for ((name, _), v) in outputs.iter().zip(&got) {
        let Some(w) = want.get(*name) else {
            return Outcome::Failed(format!("TF has no output {name}"));
        };
        if let Err(e) = compare(name, v, w, rtol, atol) {
            return Outcome::Failed(e);
        }
    }
    Outcome::Passed
}
