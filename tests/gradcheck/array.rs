//! Shape ops (array, join, slicing, gather families). Several inputs have
//! unknown dims so the gradients must use run-time shapes, and the
//! second-order cases differentiate the gradient ops themselves.

use super::support::{case, input, points, Built, Case};
use tensorgraph::{gradients, ops, DType, Graph, Tensor, Value};

/// A float64 placeholder with unknown leading dim, fed `value`.
fn batch_input(g: &Graph, name: &str, value: Value) -> (Tensor, Value) {
    let mut dims: Vec<Option<usize>> = value.shape().iter().map(|&d| Some(d)).collect();
    dims[0] = None;
    (g.placeholder(DType::Float64, dims, name), value)
}

fn int_array(shape: &[usize], data: &[i64]) -> Value {
    Value::I64(
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), data.to_vec())
            .expect("shape matches data"),
    )
}

pub fn cases() -> Vec<Case> {
    vec![
        case("reshape_unknown_batch", |g| {
            let a = batch_input(g, "a", points(&[2, 6], 101));
            let y = ops::reshape(a.0 * a.0, [-1, 3, 2]);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("reshape_like", |g| {
            let a = input(g, "a", points(&[6], 102));
            let b = batch_input(g, "b", points(&[2, 3], 103));
            let y = ops::reshape_like(a.0 * a.0, b.0) * b.0;
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("expand_dims_squeeze", |g| {
            let a = batch_input(g, "a", points(&[2, 3], 104));
            let e = ops::expand_dims(a.0, 1) * ops::expand_dims(a.0, -1);
            let s = ops::squeeze(ops::expand_dims(a.0 * a.0, 0), None);
            let y = ops::squeeze(
                ops::expand_dims(ops::reduce_sum(e, 2, false), 0),
                Some(&[0]),
            ) + s;
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("transpose_perm_and_default", |g| {
            let a = batch_input(g, "a", points(&[2, 3, 4], 105));
            let t = ops::transpose(a.0, Some(&[2, 0, 1]));
            let r = ops::transpose(a.0 * a.0, None);
            let y = ops::reduce_sum(t * t * t, 0, false)
                + ops::transpose(ops::reduce_sum(r, 0, false), None);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("tile_and_untile", |g| {
            let a = batch_input(g, "a", points(&[2, 3], 106));
            let b = input(g, "b", points(&[4, 3], 107));
            let t = ops::tile(a.0, [2, 1]);
            let y = t * t * b.0 + ops::tile(ops::untile(b.0 * b.0, [2, 3]), [2, 3]);
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("concat_unknown_dims", |g| {
            let a = batch_input(g, "a", points(&[3, 2], 108));
            let b = batch_input(g, "b", points(&[3, 3], 109));
            let c = ops::concat(&[a.0 * a.0, b.0, a.0], 1);
            let y = c * c;
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("stack_unstack", |g| {
            let a = input(g, "a", points(&[3, 2], 110));
            let b = input(g, "b", points(&[3, 2], 111));
            let s = ops::stack(&[a.0, b.0 * a.0], -1);
            let parts = ops::unstack(s * s, 0);
            let y = parts[0] * parts[2];
            Built {
                y,
                xs: vec![a, b],
                feeds: vec![],
            }
        }),
        case("split_num_and_sizes", |g| {
            let a = batch_input(g, "a", points(&[3, 4], 112));
            let halves = ops::split(a.0, 2, 1);
            let rows = ops::split(a.0 * a.0, [1isize, -1], 0);
            // Only one output of `rows` is used: the other gets zeros.
            let y = halves[0] * halves[1] + ops::reduce_sum(rows[1], None, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("split_like", |g| {
            let a = batch_input(g, "a", points(&[5, 2], 113));
            let p = g.placeholder(DType::Float64, [None, Some(2)], "p");
            let q = g.placeholder(DType::Float64, [None, Some(2)], "q");
            let parts = ops::split_like(a.0 * a.0, &[p, q], 0);
            let y = ops::reduce_sum(parts[0], 0, false) * ops::reduce_sum(parts[1], 0, false);
            let feeds = vec![(p, points(&[2, 2], 1)), (q, points(&[3, 2], 2))];
            Built {
                y,
                xs: vec![a],
                feeds,
            }
        }),
        case("slice_and_strided_slice", |g| {
            let a = batch_input(g, "a", points(&[4, 5], 114));
            let s = ops::slice(a.0 * a.0, [1, 1], [2, -1]);
            let back = ops::strided_slice(a.0, [3, 4], [1, 0], [-1, -1]);
            let y =
                s * back + ops::strided_slice(a.0, [0, -5], [2, 5], [1, 2]).reduce_sum(None, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("strided_slice_grad", |g| {
            let a = batch_input(g, "a", points(&[4, 5], 115));
            let w = input(g, "w", points(&[2, 3], 116));
            let y = ops::strided_slice_grad(w.0 * w.0, a.0, [3, 0], [0, 5], [-2, 2]) * a.0;
            Built {
                y,
                xs: vec![a, w],
                feeds: vec![],
            }
        }),
        case("pad_constant", |g| {
            let a = batch_input(g, "a", points(&[2, 3], 117));
            let p = ops::pad(a.0 * a.0, &[[1, 0], [2, 1]], 0.5);
            let y = p * ops::pad(a.0, &[[0, 1], [0, 3]], 0.0);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("gather_and_embedding_lookup", |g| {
            let a = batch_input(g, "a", points(&[3, 4], 118));
            let idx = g.constant(int_array(&[2, 2], &[2, 0, 2, 3]));
            let ids = g.constant(Value::from(vec![1i32, 0, 1]));
            let cols = ops::gather(a.0 * a.0, idx, 1);
            let rows = ops::embedding_lookup(a.0, ids);
            let y = ops::reduce_sum(cols, 0, false)
                + ops::reduce_sum(rows * rows, 0, false).reduce_sum(None, false);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("scatter_add_like", |g| {
            let u = input(g, "u", points(&[3, 2], 119));
            let like = g.placeholder(DType::Float64, [None, Some(2)], "like");
            let idx = g.constant(Value::from(vec![3i64, 0, 3]));
            let y = ops::scatter_add_like(u.0 * u.0, idx, like, 0);
            Built {
                y,
                xs: vec![u],
                feeds: vec![(like, points(&[4, 2], 3))],
            }
        }),
        case("second_order_through_shape_grads", |g| {
            let a = batch_input(g, "a", points(&[3, 4], 120));
            let idx = g.constant(Value::from(vec![2i32, 0, 2]));
            let t = ops::tile(ops::transpose(a.0, None), [1, 2]);
            let c = ops::concat(
                &[
                    ops::gather(a.0, idx, 0),
                    ops::pad(a.0, &[[0, 0], [1, 0]], 0.0),
                ],
                1,
            );
            let s = ops::slice(ops::reshape(c, [-1]), [2], [10]);
            let r = ops::strided_slice(ops::stack(&[t, t * t], 0), [1, 3], [0, 0], [-1, -2]);
            let cube = |x: Tensor| ops::reduce_sum(x * x * x, None, false);
            let f = cube(c) + cube(t) + cube(s) + cube(r) + cube(ops::split(a.0, 2, 1)[1]);
            let dy = gradients(&[f], &[a.0])[0].expect("a reaches f");
            Built {
                y: dy,
                xs: vec![a],
                feeds: vec![],
            }
        }),
    ]
}
