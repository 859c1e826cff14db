//! Teaches: what reverse-mode autodiff computes, on a micrograd-sized
//! expression. Builds L = (a*b + c) * f, asks the graph for dL/da, dL/db,
//! dL/dc, dL/df, prints the forward and gradient graphs (text and DOT),
//! runs a traced session, and checks the gradients against finite
//! differences.
//!
//! Run: `cargo run --example scalar_autodiff` (add `-- --out DIR` to write
//! the .dot files; render them with `dot -Tsvg`).

#[path = "common/args.rs"]
mod args;

use args::Args;
use tensorgraph::gradcheck::compute_gradient_error;
use tensorgraph::viz::DotOptions;
use tensorgraph::{feed, gradients, DType, Graph, Session, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::new("usage: cargo run --example scalar_autodiff -- [flags]");
    let out_dir: Option<String> = args.value(
        "--out DIR",
        None,
        "write the forward, gradient and trace graphs there as .dot files",
    );
    args.finish()?;

    let g = Graph::new();
    let scalar = |name| g.placeholder(DType::Float64, [0usize; 0], name);
    let (a, b, c, f) = (scalar("a"), scalar("b"), scalar("c"), scalar("f"));
    let e = a * b;
    let d = e + c;
    let l = d * f;

    println!("forward graph:\n{}", g.to_text());
    let forward_dot = g.to_dot(&DotOptions::forward());

    // Reverse mode: one backward sweep gives dL/dx for every input.
    let grads = gradients(&[l], &[a, b, c, f]);
    let [da, db, dc, df] = [0, 1, 2, 3].map(|i| grads[i].expect("every input reaches L"));
    println!("with its gradient graph:\n{}", g.to_text());
    let full_dot = g.to_dot(&DotOptions::default());

    let values = feed! { a => 2.0, b => -3.0, c => 10.0, f => -2.0 };
    {
        let mut sess = Session::new(&g);
        let ((lv, dav, dbv, dcv, dfv), trace) = sess.run_traced((l, da, db, dc, df), &values)?;
        println!("L = {}", lv.scalar::<f64>()?);
        println!(
            "dL/da = {}  dL/db = {}  dL/dc = {}  dL/df = {}",
            dav.scalar::<f64>()?,
            dbv.scalar::<f64>()?,
            dcv.scalar::<f64>()?,
            dfv.scalar::<f64>()?
        );
        println!("trace:\n{trace}");
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir)?;
            std::fs::write(format!("{dir}/scalar_forward.dot"), &forward_dot)?;
            std::fs::write(format!("{dir}/scalar_with_gradients.dot"), &full_dot)?;
            std::fs::write(format!("{dir}/scalar_trace.dot"), trace.to_dot())?;
            println!("wrote {dir}/scalar_forward.dot, scalar_with_gradients.dot, scalar_trace.dot");
        } else {
            println!("DOT of the forward graph:\n{forward_dot}");
        }
    }

    // Finite differences agree with the symbolic gradients.
    let at: Vec<Value> = [2.0, -3.0, 10.0, -2.0]
        .into_iter()
        .map(Value::from)
        .collect();
    let check = compute_gradient_error(l, &[a, b, c, f], &at, &feed! {}, 1e-6)?;
    println!("largest |symbolic - numeric| = {:e}", check.max_error);
    assert!(check.max_error < 1e-6);
    Ok(())
}
