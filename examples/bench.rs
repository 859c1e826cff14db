//! The reference benchmark protocol of `../shared/bench/tf1_mlp.py`
//! (`common.run_protocol`), for tensorgraph. Prints one JSON line.
//!
//! ```text
//! cargo run --release --example bench -- --threads 1 --data-dir ../shared/mnist
//! cargo run --release --example bench -- --threads 2 --model cnn --synthetic
//! ```
//!
//! Options: `--model mlp|cnn`, `--synthetic` or `--data-dir DIR`,
//! `--threads N` (the session's intra-op threads), `--warmup N`,
//! `--steps N`, `--epochs E` (default 5 for the MLP, 0 for the CNN),
//! `--eval-reps N`, `--seed N`, `--profile` (after the protocol, trace 200
//! training steps and print the median time of each node to stderr, and
//! the matrix products' share of the step; then the median time of each
//! kernel of 200 ordinary, fused steps and of the evaluation, from
//! `Session::run_with_stats`). Traced runs execute every node
//! on its own (no fused kernels), so the products' time comes from the
//! trace and the non-GEMM share is `1 - products / untraced step median`
//! of the ordinary (fused) runs.

#[path = "common/args.rs"]
mod args;
#[path = "../benches/models.rs"]
mod models;

use models::{Batcher, Data, Model, Net};
use std::time::Instant;
use tensorgraph::datasets::mnist;
use tensorgraph::session::{SessionOptions, StepStats};
use tensorgraph::{feed, Graph, Session};

const USAGE: &str = "usage: bench [--model mlp|cnn] [--synthetic | --data-dir DIR] [--threads N]
             [--warmup N] [--steps N] [--epochs E] [--eval-reps N] [--seed N] [--profile]";

struct Args {
    model: Model,
    data_dir: String,
    synthetic: bool,
    threads: usize,
    warmup: usize,
    steps: usize,
    epochs: f64,
    eval_reps: usize,
    seed: u64,
    profile: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = args::Args::new(USAGE);
    let model = args.value("--model NAME", "mlp".to_string(), "mlp or cnn");
    let data_dir = args.value(
        "--data-dir DIR",
        std::env::var("MNIST_DIR").unwrap_or_else(|_| "../shared/mnist".into()),
        "MNIST directory (default $MNIST_DIR or ../shared/mnist: now {default})",
    );
    let synthetic = args.value("--synthetic", false, "random images instead of MNIST");
    let threads = args.value("--threads N", 1, "the session's intra-op threads");
    let warmup: Option<usize> = args.value(
        "--warmup N",
        None,
        "warm-up steps (default 50 for the MLP, 20 for the CNN)",
    );
    let steps: Option<usize> = args.value(
        "--steps N",
        None,
        "timed steps (default 1000 for the MLP, 200 for the CNN)",
    );
    let epochs: Option<f64> = args.value(
        "--epochs E",
        None,
        "train up to E epochs in all (default 5 for the MLP, 0 for the CNN)",
    );
    let eval_reps = args.value("--eval-reps N", 10, "timed evaluation runs");
    let seed = args.value("--seed N", 0, "graph, weight and batching seed");
    let profile = args.value(
        "--profile",
        false,
        "also print each node's and kernel's median time to stderr",
    );
    args.finish()?;
    let model = match model.as_str() {
        "mlp" => Model::Mlp,
        "cnn" => Model::Cnn,
        m => return Err(format!("unknown model {m}\n{USAGE}")),
    };
    let mlp = model == Model::Mlp;
    Ok(Args {
        model,
        data_dir,
        synthetic,
        threads,
        warmup: warmup.unwrap_or(if mlp { 50 } else { 20 }),
        steps: steps.unwrap_or(if mlp { 1000 } else { 200 }),
        epochs: epochs.unwrap_or(if mlp { 5.0 } else { 0.0 }),
        eval_reps,
        seed,
        profile,
    })
}

/// Peak resident set size (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn load(a: &Args) -> (Data, Data, String) {
    if a.synthetic {
        let train = Data::synthetic(60_000, a.seed);
        let test = Data::synthetic(10_000, a.seed + 1);
        return (train, test, "synthetic".into());
    }
    let opts = mnist::Options::new().validation_size(0).offline();
    let sets = mnist::read_data_sets_with(&a.data_dir, &opts).expect("MNIST in --data-dir");
    let data = |s: &mnist::DataSet| Data {
        images: s.raw_images().clone(),
        labels: s.class_ids().to_vec(),
    };
    let src = format!("mnist:{}", a.data_dir);
    (data(&sets.train), data(&sets.test), src)
}

fn train_step(sess: &mut Session<'_>, net: &Net, b: &Batcher) {
    sess.run(
        net.train,
        &feed! { net.x => &b.x, net.y => &b.y, net.keep_prob => 0.5f32 },
    )
    .expect("training step");
}

/// Test accuracy: the argmax of the logits (keep_prob 1) against the labels.
fn test_accuracy(sess: &mut Session<'_>, net: &Net, test: &Data, chunk: usize) -> f64 {
    let mut correct = 0usize;
    for start in (0..test.count()).step_by(chunk) {
        let end = (start + chunk).min(test.count());
        let (x, _) = test.slice(start, end);
        let logits = sess
            .run(net.logits, &feed! { net.x => &x, net.keep_prob => 1.0f32 })
            .expect("logits")
            .into_array::<f32>()
            .expect("float32 logits");
        for (row, &label) in logits.outer_iter().zip(&test.labels[start..end]) {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                );
            correct += usize::from(best.0 == usize::from(label));
        }
    }
    correct as f64 / test.count() as f64
}

/// Traces 200 steps; prints each node's median time (descending) to
/// stderr and records the GEMM share of the traced time and of the step.
fn profile(
    sess: &mut Session<'_>,
    net: &Net,
    train: &Data,
    b: &mut Batcher,
    step_ms_median: f64,
    extra: &mut serde_json::Map<String, serde_json::Value>,
) {
    let mut per_node: Vec<(String, &'static str, Vec<f64>)> = Vec::new();
    let mut steps = Vec::new();
    for _ in 0..200 {
        b.next(train);
        let t0 = Instant::now();
        let feeds = feed! { net.x => &b.x, net.y => &b.y, net.keep_prob => 0.5f32 };
        let ((), trace) = sess.run_traced(net.train, &feeds).expect("traced step");
        steps.push(t0.elapsed().as_secs_f64() * 1e3);
        for (i, e) in trace.entries().iter().enumerate() {
            if per_node.len() <= i {
                per_node.push((e.node.name.clone(), e.node.op.name, Vec::new()));
            }
            per_node[i].2.push(e.time.as_secs_f64() * 1e3);
        }
    }
    let mut rows: Vec<(f64, String, &'static str)> = per_node
        .into_iter()
        .map(|(name, op, mut t)| (median(&mut t), name, op))
        .collect();
    rows.sort_by(|x, y| y.0.total_cmp(&x.0));
    let kernels: f64 = rows.iter().map(|r| r.0).sum();
    let gemm: f64 = rows.iter().filter(|r| r.2 == "MatMul").map(|r| r.0).sum();
    let step = median(&mut steps);
    for (t, name, op) in &rows {
        eprintln!("{t:8.4} ms  {op:24} {name}");
    }
    eprintln!("kernels {kernels:.4} ms, of which MatMul {gemm:.4} ms; traced step {step:.4} ms");
    let non_gemm = 1.0 - gemm / step_ms_median;
    eprintln!(
        "non-GEMM share of the {step_ms_median:.4} ms step (fused, untraced): {:.1}%",
        100.0 * non_gemm
    );
    extra.insert("profile_non_gemm_share".into(), non_gemm.into());
    extra.insert("profile_kernels_ms".into(), kernels.into());
    extra.insert("profile_gemm_ms".into(), gemm.into());
    extra.insert("profile_traced_step_ms".into(), step.into());
    let fused = kernel_medians(200, || {
        b.next(train);
        let feeds = feed! { net.x => &b.x, net.y => &b.y, net.keep_prob => 0.5f32 };
        sess.run_with_stats(net.train, &feeds).expect("step").1
    });
    eprintln!("the step as run (fused kernels, Session::run_with_stats):");
    for (t, kernel, name) in &fused {
        eprintln!("{t:8.4} ms  {kernel:24} {name}");
    }
    let total: f64 = fused.iter().map(|r| r.0).sum();
    eprintln!("kernels {total:.4} ms");
    extra.insert("profile_fused_kernels_ms".into(), total.into());
}

/// The median time of each kernel over `runs` runs of `stats`, slowest
/// first: (ms, kernel kind, node name).
fn kernel_medians(
    runs: usize,
    mut stats: impl FnMut() -> StepStats,
) -> Vec<(f64, &'static str, String)> {
    let mut per_kernel: Vec<(&'static str, String, Vec<f64>)> = Vec::new();
    for _ in 0..runs {
        for (i, k) in stats().kernels().iter().enumerate() {
            if per_kernel.len() <= i {
                per_kernel.push((k.kernel, k.node.name.clone(), Vec::new()));
            }
            per_kernel[i].2.push(k.time.as_secs_f64() * 1e3);
        }
    }
    let mut rows: Vec<_> = per_kernel
        .into_iter()
        .map(|(kernel, name, mut t)| (median(&mut t), kernel, name))
        .collect();
    rows.sort_by(|x, y| y.0.total_cmp(&x.0));
    rows
}

fn main() -> std::process::ExitCode {
    match parse_args() {
        Ok(a) => {
            bench(&a);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn bench(a: &Args) {
    let (train, test, source) = load(a);
    let batch = a.model.batch();
    let opts = SessionOptions {
        intra_op_threads: a.threads,
    };

    // Cold start: graph, gradients, Adam, session, init and the first step.
    let t0 = Instant::now();
    let g = Graph::new();
    let net = models::build(&g, a.model, a.seed);
    let mut sess = Session::with_options(&g, opts);
    sess.run(net.init, &feed! {}).expect("init");
    let mut wb = Batcher::new(train.count(), batch, a.seed + 1);
    wb.next(&train);
    train_step(&mut sess, &net, &wb);
    let cold_start_ms = t0.elapsed().as_secs_f64() * 1e3;

    // 1. warm-up.
    let t0 = Instant::now();
    for _ in 1..a.warmup {
        wb.next(&train);
        train_step(&mut sess, &net, &wb);
    }
    let warmup_s = t0.elapsed().as_secs_f64();

    // 2. timed steps from fresh weights.
    sess.run(net.init, &feed! {}).expect("init");
    let mut b = Batcher::new(train.count(), batch, a.seed);
    let mut times = Vec::with_capacity(a.steps);
    for _ in 0..a.steps {
        let t0 = Instant::now();
        b.next(&train);
        train_step(&mut sess, &net, &b);
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let timed_total_s = times.iter().sum::<f64>() / 1e3;
    let mean = timed_total_s * 1e3 / times.len().max(1) as f64;
    let step_ms_median = median(&mut times);
    let p10 = times.get(times.len() / 10).copied().unwrap_or(f64::NAN);
    let p90 = times.get(times.len() * 9 / 10).copied().unwrap_or(f64::NAN);

    // 3. accuracy after the timed steps.
    let chunk = if a.model == Model::Mlp { 10_000 } else { 1000 };
    let acc_at_steps = test_accuracy(&mut sess, &net, &test, chunk);

    // 4. more training, up to `epochs` epochs.
    let steps_per_epoch = train.count() / batch;
    let total = (a.epochs * steps_per_epoch as f64).round() as usize;
    let mut extra = serde_json::Map::new();
    if total > a.steps {
        let t0 = Instant::now();
        for _ in a.steps..total {
            b.next(&train);
            train_step(&mut sess, &net, &b);
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3 / (total - a.steps) as f64;
        extra.insert("epochs".into(), a.epochs.into());
        extra.insert("total_train_steps".into(), total.into());
        extra.insert("rest_of_training_ms_per_step".into(), ms.into());
        let acc = test_accuracy(&mut sess, &net, &test, chunk);
        extra.insert("acc_at_epochs".into(), acc.into());
    }

    // 5. evaluation throughput on one chunk of the test set.
    let (xe, _) = test.slice(0, chunk.min(test.count()));
    let forward = |sess: &mut Session<'_>| {
        sess.run(net.logits, &feed! { net.x => &xe, net.keep_prob => 1.0f32 })
            .expect("forward")
    };
    for _ in 0..2 {
        forward(&mut sess);
    }
    let mut et = Vec::with_capacity(a.eval_reps);
    for _ in 0..a.eval_reps {
        let t0 = Instant::now();
        forward(&mut sess);
        et.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let eval_ms = median(&mut et);

    if a.profile {
        profile(&mut sess, &net, &train, &mut b, step_ms_median, &mut extra);
        let feeds = feed! { net.x => &xe, net.keep_prob => 1.0f32 };
        let eval = kernel_medians(a.eval_reps.max(1), || {
            sess.run_with_stats(net.logits, &feeds).expect("forward").1
        });
        for (t, kernel, name) in &eval {
            eprintln!("eval {t:8.4} ms  {kernel:24} {name}");
        }
    }

    let mut out = serde_json::json!({
        "framework": "tensorgraph",
        "model": if a.model == Model::Mlp { "mlp" } else { "cnn" },
        "data": source,
        "batch": batch,
        "threads": a.threads,
        "warmup": a.warmup,
        "steps": a.steps,
        "cold_start_ms": cold_start_ms,
        "warmup_total_s": warmup_s,
        "step_ms_median": step_ms_median,
        "step_ms": { "median": step_ms_median, "mean": mean, "p10": p10, "p90": p90, "n": a.steps },
        "timed_total_s": timed_total_s,
        "acc_at_steps": acc_at_steps,
        "eval_batch": xe.nrows(),
        "eval_ms_median": eval_ms,
        "eval_images_per_s": xe.nrows() as f64 / (eval_ms / 1e3),
        "peak_rss_mb": peak_rss_mb(),
    });
    if let Some(o) = out.as_object_mut() {
        o.extend(extra);
    }
    println!("RESULT {out}");
}
