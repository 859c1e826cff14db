//! Max/min (tie-free points), product (first and second order) and
//! moments through both outputs.

use super::support::{arr, case, input, points, Built, Case};
use tensorgraph::{gradients, ops};

pub fn cases() -> Vec<Case> {
    vec![
        case("reduce_max_axes_keepdims", |g| {
            let a = input(g, "a", points(&[2, 3, 4], 201));
            let y = ops::reduce_max(a.0, [0isize, 2], true) * ops::reduce_max(a.0, None, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("reduce_min_axis", |g| {
            let a = input(g, "a", points(&[3, 4], 202));
            let y = ops::reduce_min(a.0 * a.0, -1, true) + ops::reduce_min(a.0, 0, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("reduce_prod_axes", |g| {
            let a = input(g, "a", points(&[2, 3, 4], 203));
            let y = ops::reduce_prod(a.0, [0isize, 2], true)
                + ops::reduce_prod(a.0, -1, false).reduce_sum(None, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        // The product is multilinear, so its gradient is smooth through
        // zeros: one zero in the first row, two in the second.
        case("reduce_prod_with_zeros", |g| {
            let a = input(
                g,
                "a",
                arr(&[3, 3], &[0.0, 1.5, -2.0, 0.0, 0.0, 0.7, 1.1, -0.4, 2.0]),
            );
            Built {
                y: ops::reduce_prod(a.0, 1, false),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("reduce_prod_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 204));
            let w = g.constant(arr(&[3], &[0.5, -1.5, 2.0]));
            let dy = gradients(&[ops::reduce_prod(a.0, 1, false) * w], &[a.0])[0].unwrap();
            Built {
                y: dy,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("moments_both_outputs", |g| {
            let a = input(g, "a", points(&[4, 3], 205));
            let (mean, var) = ops::moments(a.0, [0isize], false);
            let (m2, v2) = ops::moments(a.0, [0isize, 1], true);
            Built {
                y: mean * 2.0 + var * mean + m2 * v2,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("moments_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 206));
            let (_, var) = ops::moments(a.0, [1isize], false);
            let w = g.constant(arr(&[3], &[1.0, -2.0, 0.5]));
            let dy = gradients(&[var * w], &[a.0])[0].unwrap();
            Built {
                y: dy,
                xs: vec![a],
                feeds: vec![],
            }
        }),
    ]
}
