//! Graph construction: a chain of ~10,000 and ~20,000 ops, then its
//! gradients. The two sizes show that building (and differentiating)
//! grows linearly: the 20k times should be about twice the 10k times.
//!
//! `cargo bench --bench graph_build`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;
use tensorgraph::ops::tanh;
use tensorgraph::{gradients, DType, Graph, Tensor};

/// A chain `y = tanh(y * w + y)` of about `ops` nodes over a variable.
fn chain(g: &Graph, ops: usize) -> (Tensor, Tensor) {
    let x = g.placeholder(DType::Float32, [None, Some(4)], "x");
    let w = g.variable(g.ones([4usize], DType::Float32), "w");
    let mut y = x;
    while g.len() < ops {
        y = tanh(y * w + y);
    }
    (y.reduce_sum(None, false), w)
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph_build");
    for ops in [10_000, 20_000] {
        group.bench_with_input(BenchmarkId::new("forward", ops), &ops, |b, &ops| {
            b.iter(|| {
                let g = Graph::new();
                chain(&g, ops);
                g.len()
            })
        });
        group.bench_with_input(
            BenchmarkId::new("forward+gradients", ops),
            &ops,
            |b, &ops| {
                b.iter(|| {
                    let g = Graph::new();
                    let (y, w) = chain(&g, ops);
                    gradients(&[y], &[w]);
                    g.len()
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = graph;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = build
}
criterion_main!(graph);
