//! conv2d, its backprop ops and pooling on tiny images: both paddings,
//! stride 1 and 2 (asymmetric SAME padding), and second order through
//! every gradient op.

use super::support::{case, input, points, Built, Case};
use tensorgraph::ops::{self, Padding};
use tensorgraph::{gradients, Tensor};

/// The gradient of `sum(y^2) / 2` with respect to `x`.
fn grad_of_square(y: Tensor, x: Tensor) -> Tensor {
    gradients(&[y * y * 0.5], &[x])[0].expect("x reaches y")
}

pub fn cases() -> Vec<Case> {
    vec![
        case("conv2d_same_stride1", |g| {
            let x = input(g, "input", points(&[1, 4, 4, 2], 70));
            let w = input(g, "filter", points(&[3, 3, 2, 2], 71));
            Built {
                y: ops::conv2d(x.0, w.0, 1, Padding::Same),
                xs: vec![x, w],
                feeds: vec![],
            }
        }),
        case("conv2d_valid_stride2", |g| {
            let x = input(g, "input", points(&[2, 5, 5, 1], 72));
            let w = input(g, "filter", points(&[2, 2, 1, 2], 73));
            Built {
                y: ops::conv2d(x.0, w.0, (2, 2), Padding::Valid),
                xs: vec![x, w],
                feeds: vec![],
            }
        }),
        case("conv2d_same_stride2_asymmetric", |g| {
            let x = input(g, "input", points(&[1, 5, 4, 2], 74));
            let w = input(g, "filter", points(&[3, 2, 2, 1], 75));
            Built {
                y: ops::conv2d(x.0, w.0, [1, 2, 2, 1], Padding::Same),
                xs: vec![x, w],
                feeds: vec![],
            }
        }),
        case("conv2d_backprop_input_direct", |g| {
            // Only the shape of `input_like` is read.
            let x = input(g, "input_like", points(&[1, 5, 5, 1], 88));
            let w = input(g, "filter", points(&[3, 3, 1, 2], 76));
            let dy = input(g, "out_backprop", points(&[1, 3, 3, 2], 77));
            let y = ops::conv2d_backprop_input(x.0, w.0, dy.0, 2, Padding::Same);
            Built {
                y,
                xs: vec![w, dy],
                feeds: vec![x],
            }
        }),
        case("conv2d_backprop_input_second_order", |g| {
            let x = input(g, "input", points(&[1, 5, 5, 1], 78));
            let w = input(g, "filter", points(&[3, 3, 1, 2], 79));
            let dx = grad_of_square(ops::conv2d(x.0, w.0, 2, Padding::Same), x.0);
            Built {
                y: dx,
                xs: vec![x, w],
                feeds: vec![],
            }
        }),
        case("conv2d_backprop_filter_second_order", |g| {
            let x = input(g, "input", points(&[2, 4, 4, 2], 80));
            let w = input(g, "filter", points(&[2, 2, 2, 1], 81));
            let dw = grad_of_square(ops::conv2d(x.0, w.0, 1, Padding::Valid), w.0);
            Built {
                y: dw,
                xs: vec![x, w],
                feeds: vec![],
            }
        }),
        case("max_pool_same_stride2", |g| {
            let x = input(g, "value", points(&[1, 5, 5, 2], 82));
            Built {
                y: ops::max_pool(x.0, 2, 2, Padding::Same),
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("max_pool_valid_k3_stride2", |g| {
            let x = input(g, "value", points(&[2, 5, 5, 1], 83));
            Built {
                y: ops::max_pool(x.0, 3, 2, Padding::Valid),
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("max_pool_second_and_third_order", |g| {
            let x = input(g, "value", points(&[1, 4, 5, 1], 84));
            let dx = grad_of_square(ops::max_pool(x.0, (2, 3), (2, 2), Padding::Same), x.0);
            let ddx = grad_of_square(dx, x.0);
            Built {
                y: ddx,
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("avg_pool_same_stride2", |g| {
            let x = input(g, "value", points(&[1, 5, 5, 2], 85));
            Built {
                y: ops::avg_pool(x.0, 2, 2, Padding::Same),
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("avg_pool_valid_k3_stride2", |g| {
            let x = input(g, "value", points(&[2, 5, 5, 1], 86));
            Built {
                y: ops::avg_pool(x.0, 3, 2, Padding::Valid),
                xs: vec![x],
                feeds: vec![],
            }
        }),
        case("avg_pool_second_order", |g| {
            let x = input(g, "value", points(&[1, 5, 5, 1], 87));
            let dx = grad_of_square(ops::avg_pool(x.0, 3, 2, Padding::Same), x.0);
            Built {
                y: dx,
                xs: vec![x],
                feeds: vec![],
            }
        }),
    ]
}
