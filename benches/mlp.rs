//! Whole-model benchmarks on synthetic data: the MLP-dropout training
//! step (batch 128) and evaluation (10,000 images), and the CNN training
//! step (batch 50), each with one intra-op thread and with two.
//!
//! `cargo bench --bench mlp`; `examples/bench.rs` runs the reference
//! protocol and is what docs/performance.md compares with TensorFlow.

#[path = "models.rs"]
mod models;

use criterion::{criterion_group, criterion_main, Criterion};
use models::{Batcher, Data, Model};
use std::time::Duration;
use tensorgraph::session::SessionOptions;
use tensorgraph::{feed, Graph, Session};

fn training(c: &mut Criterion, model: Model, name: &str) {
    let train = Data::synthetic(6_000, 0);
    for threads in [1, 2] {
        let g = Graph::new();
        let net = models::build(&g, model, 0);
        let opts = SessionOptions {
            intra_op_threads: threads,
        };
        let mut sess = Session::with_options(&g, opts);
        sess.run(net.init, &feed! {}).expect("init");
        let mut b = Batcher::new(train.count(), model.batch(), 0);
        c.bench_function(&format!("{name}/threads={threads}"), |bench| {
            bench.iter(|| {
                b.next(&train);
                let feeds = feed! { net.x => &b.x, net.y => &b.y, net.keep_prob => 0.5f32 };
                sess.run(net.train, &feeds).expect("step");
            })
        });
    }
}

fn mlp_train_step(c: &mut Criterion) {
    training(c, Model::Mlp, "mlp_train_step");
}

fn cnn_train_step(c: &mut Criterion) {
    training(c, Model::Cnn, "cnn_train_step");
}

fn mlp_eval(c: &mut Criterion) {
    let (x, _) = Data::synthetic(10_000, 1).slice(0, 10_000);
    for threads in [1, 2] {
        let g = Graph::new();
        let net = models::build(&g, Model::Mlp, 0);
        let opts = SessionOptions {
            intra_op_threads: threads,
        };
        let mut sess = Session::with_options(&g, opts);
        sess.run(net.init, &feed! {}).expect("init");
        c.bench_function(&format!("mlp_eval_10000/threads={threads}"), |bench| {
            bench.iter(|| {
                sess.run(net.logits, &feed! { net.x => &x, net.keep_prob => 1.0f32 })
                    .expect("forward")
            })
        });
    }
}

criterion_group! {
    name = mlp;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = mlp_train_step, mlp_eval
}
criterion_group! {
    name = cnn;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = cnn_train_step
}
criterion_main!(mlp, cnn);
