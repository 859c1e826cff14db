//! pow, maximum/minimum, the unary math ops, where_, identity, batched
//! matmul and clip_by_value. Points keep away from kinks and ties (max/min
//! ties, abs at 0, clip bounds) and from the domains' edges (sqrt, log,
//! rsqrt, reciprocal and pow's base are checked at positive points).

use super::support::{arr, case, input, points, Built, Case};
use tensorgraph::{gradients, ops, DType, Value};

/// Tie-free points in about [0.3, 1.8].
fn positive(shape: &[usize], salt: u64) -> Value {
    Value::F64(
        points(shape, salt)
            .to_array::<f64>()
            .mapv(|v| v.abs() + 0.3),
    )
}

pub fn cases() -> Vec<Case> {
    vec![
        case("sin_cos_second_order", |g| {
            let x = input(g, "x", points(&[5], 40));
            let d =
                tensorgraph::gradients(&[ops::sin(x.0) * ops::cos(x.0 * 2.0)], &[x.0])[0].unwrap();
            Built {
                y: d,
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("pow_broadcast", |g| {
            let x = input(g, "x", positive(&[2, 3], 21));
            let y = input(g, "y", points(&[3], 22));
            Built {
                y: ops::pow(x.0, y.0),
                xs: vec![x, y],
                feeds: vec![],
            }
        }),
        case("pow_second_order", |g| {
            let x = input(g, "x", positive(&[3], 23));
            let y = input(g, "y", points(&[3], 24));
            let d = gradients(&[ops::pow(x.0, y.0)], &[x.0, y.0]);
            let (dx, dy) = (d[0].unwrap(), d[1].unwrap());
            Built {
                y: dx + dy,
                xs: vec![x, y],
                feeds: vec![],
            }
        }),
        case("maximum_minimum_broadcast", |g| {
            let x = input(g, "x", points(&[3, 4], 25));
            let y = input(g, "y", points(&[4], 26));
            let z = ops::maximum(x.0, y.0) * 2.0 + ops::minimum(x.0, y.0);
            Built {
                y: z,
                xs: vec![x, y],
                feeds: vec![],
            }
        }),
        case("abs_sign", |g| {
            let x = input(g, "x", points(&[2, 3], 27));
            Built {
                y: ops::abs(x.0) + ops::sign(x.0) * x.0,
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("square_exp_identity", |g| {
            let x = input(g, "x", points(&[2, 3], 28));
            let y = ops::square(x.0) + ops::exp(ops::identity(x.0));
            Built {
                y,
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("sqrt_rsqrt_log_reciprocal", |g| {
            let x = input(g, "x", positive(&[2, 3], 29));
            let y = ops::sqrt(x.0) + ops::rsqrt(x.0) + ops::log(x.0) + ops::reciprocal(x.0);
            Built {
                y,
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("unary_second_order", |g| {
            let x = input(g, "x", positive(&[4], 30));
            let f = ops::sqrt(x.0) * ops::log(x.0)
                + ops::rsqrt(x.0) * ops::exp(x.0)
                + ops::reciprocal(ops::square(x.0));
            let dx = gradients(&[f], &[x.0])[0].unwrap();
            Built {
                y: dx,
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("where_same_shape", |g| {
            let x = input(g, "x", points(&[2, 3], 31));
            let y = input(g, "y", points(&[2, 3], 32));
            let c = g.placeholder(DType::Bool, [2usize, 3], "c");
            let cv =
                Value::Bool(ndarray::arr2(&[[true, false, true], [false, false, true]]).into_dyn());
            Built {
                y: ops::where_(c, x.0 * x.0, y.0 * 3.0),
                xs: vec![x, y],
                feeds: vec![(c, cv)],
            }
        }),
        case("where_row_condition", |g| {
            let x = input(g, "x", points(&[3, 2], 33));
            let y = input(g, "y", points(&[3, 2], 34));
            let c = g.placeholder(DType::Bool, [3usize], "c");
            let cv = Value::Bool(ndarray::arr1(&[true, false, true]).into_dyn());
            Built {
                y: ops::where_(c, x.0, y.0 * y.0),
                xs: vec![x, y],
                feeds: vec![(c, cv)],
            }
        }),
        case("clip_by_value_tensor_bounds", |g| {
            let t = input(g, "t", arr(&[5], &[-2.0, -0.7, 0.1, 0.9, 2.5]));
            let lo = input(g, "lo", arr(&[5], &[-1.0, -1.0, -0.5, -0.5, 0.0]));
            let hi = input(g, "hi", arr(&[], &[1.5]));
            Built {
                y: ops::clip_by_value(t.0, lo.0, hi.0) * t.0,
                xs: vec![t, lo, hi],
                feeds: vec![],
            }
        }),
        case("matmul_batched", |g| {
            let a = input(g, "a", points(&[2, 3, 4], 35));
            let b = input(g, "b", points(&[2, 4, 2], 36));
            let y = ops::matmul(a.0, b.0, false, false).reduce_sum(None, false)
                + (ops::matmul(b.0, a.0, true, true) * 0.5).reduce_sum(None, false)
                + ops::matmul(a.0, a.0, true, false).reduce_sum(None, false)
                + ops::matmul(b.0, b.0, false, true).reduce_sum(None, false);
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("matmul_batch_broadcast", |g| {
            let a = input(g, "a", points(&[2, 1, 3, 4], 37));
            let b = input(g, "b", points(&[3, 4, 2], 38));
            let c = input(g, "c", points(&[4, 5], 39));
            let y = ops::matmul(a.0, b.0, false, false)
                + ops::matmul(b.0, c.0, true, false).reduce_sum(None, false);
            Built {
                y,
                xs: vec![a, b, c],
                feeds: vec![],
            }
        }),
    ]
}
