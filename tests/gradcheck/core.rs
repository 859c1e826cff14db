//! The gradient plumbing ops and the core arithmetic.

use super::support::{case, input, points, Built, Case};
use tensorgraph::ops;

pub fn cases() -> Vec<Case> {
    vec![
        case("add_broadcast_row", |g| {
            let a = input(g, "a", points(&[3, 4], 1));
            let b = input(g, "b", points(&[4], 2));
            Built {
                y: a.0 + b.0,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("sub_broadcast_column", |g| {
            let a = input(g, "a", points(&[3, 1], 3));
            let b = input(g, "b", points(&[3, 4], 4));
            Built {
                y: a.0 - b.0,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("mul_scalar", |g| {
            let a = input(g, "a", points(&[2, 3], 5));
            let b = input(g, "b", points(&[], 6));
            Built {
                y: a.0 * b.0,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("div_rank_change", |g| {
            let a = input(g, "a", points(&[2, 3], 7));
            let b = input(g, "b", super::support::arr(&[3], &[1.5, -2.0, 2.5]));
            Built {
                y: a.0 / b.0,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("neg_add_n", |g| {
            let a = input(g, "a", points(&[2, 2], 8));
            let b = input(g, "b", points(&[2, 2], 9));
            Built {
                y: ops::add_n(&[-a.0, b.0, a.0 * b.0]),
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("matmul_all_transposes", |g| {
            let a = input(g, "a", points(&[2, 3], 10));
            let b = input(g, "b", points(&[3, 2], 11));
            let y = ops::add_n(&[
                ops::matmul(a.0, b.0, false, false).reduce_sum(None, false),
                (ops::matmul(a.0, b.0, true, true) * 0.5).reduce_sum(None, false),
                ops::matmul(b.0, b.0, true, false).reduce_sum(None, false),
                ops::matmul(a.0, a.0, false, true).reduce_sum(None, false),
            ]);
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        // A float32 round trip quantises the input, so differences need a
        // step far above float32's resolution: y is linear in the cast, so
        // a large step is still exact up to that rounding (~1e-7 / 1e-2).
        Case {
            delta: 1e-2,
            tol: 1e-4,
            ..case("cast_between_floats", |g| {
                let a = input(g, "a", points(&[3], 12));
                let y = ops::cast(
                    ops::cast(a.0, tensorgraph::DType::Float32),
                    tensorgraph::DType::Float64,
                );
                Built {
                    y: y * 3.0,
                    xs: vec![a],
                    feeds: vec![],
                }
            })
        },
        case("reduce_sum_mean", |g| {
            let a = input(g, "a", points(&[2, 3, 2], 13));
            let y = ops::reduce_sum(a.0 * a.0, [0isize, 2], false)
                + ops::reduce_mean(a.0, 1, true).reduce_sum(None, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("unbroadcast_and_broadcast_like", |g| {
            let a = input(g, "a", points(&[3, 4], 14));
            let b = input(g, "b", points(&[1, 4], 15));
            let s = ops::unbroadcast(a.0 * a.0, b.0);
            let y = ops::broadcast_like(s * b.0, a.0) * a.0;
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("broadcast_reduced_second_order", |g| {
            let a = input(g, "a", points(&[2, 3], 16));
            let dy = tensorgraph::gradients(&[ops::reduce_mean(a.0 * a.0 * a.0, 1, false)], &[a.0])
                [0]
            .unwrap();
            Built {
                y: dy,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("placeholder_with_default", |g| {
            let a = input(g, "a", points(&[3], 17));
            let d = g.placeholder_with_default(a.0 * 2.0, [3usize], "d");
            Built {
                y: d * a.0,
                xs: vec![a],
                feeds: vec![],
            }
        }),
    ]
}
