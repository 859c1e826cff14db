//! Activations and softmax, first and second order; points stay off the
//! kinks (0, and 6 for relu6).

use super::support::{case, input, points, Built, Case};
use tensorgraph::gradients::gradients_with_grad_ys;
use tensorgraph::{gradients, ops, Graph, Tensor, Value};

/// The gradient of `sum(y * w)` with respect to `x` for fixed random
/// weights `w` shaped like `x` (`y = f(x)` has `x`'s shape): checking its
/// Jacobian checks the second derivative of `f`.
fn weighted_grad(g: &Graph, x: &(Tensor, Value), y: Tensor, salt: u64) -> Tensor {
    let w = g.constant(points(x.1.shape(), salt));
    gradients(&[y * w], &[x.0])[0].expect("x reaches y")
}

pub fn cases() -> Vec<Case> {
    vec![
        case("relu", |g| {
            let a = input(g, "a", points(&[3, 4], 101));
            Built {
                y: ops::relu(a.0) * a.0,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("relu_grad_of_a_varying_gradient", |g| {
            // ReluGrad(dy, relu(a)) with dy = a * a: its derivative flows
            // through dy only.
            let a = input(g, "a", points(&[3, 4], 108));
            let y = ops::relu(a.0);
            let dy = a.0 * a.0;
            let dx = gradients_with_grad_ys(&[y], &[a.0], &[Some(dy)])[0].expect("a reaches y");
            Built {
                y: dx,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("relu6_both_sides", |g| {
            let a = input(g, "a", points(&[3, 4], 102));
            Built {
                y: ops::relu6(a.0 * 5.0 + 1.0),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("leaky_relu", |g| {
            let a = input(g, "a", points(&[3, 4], 103));
            let y = ops::leaky_relu(a.0, 0.2) + ops::leaky_relu(a.0 * a.0 - 0.5, 0.1);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("elu_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 104));
            let y = ops::elu(a.0 * 2.0);
            Built {
                y: y + weighted_grad(g, &a, y, 105),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("sigmoid_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 106));
            let y = ops::sigmoid(a.0 * 3.0);
            Built {
                y: y + weighted_grad(g, &a, y, 107),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("tanh_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 108));
            let y = ops::tanh(a.0 * 2.0);
            Built {
                y: y + weighted_grad(g, &a, y, 109),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("softplus_wide_range_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 110));
            let y = ops::softplus(a.0 * 8.0);
            Built {
                y: y + weighted_grad(g, &a, y, 111),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("softmax_axes", |g| {
            let a = input(g, "a", points(&[3, 4], 112));
            let y = ops::softmax(a.0 * 3.0, -1) + ops::softmax(a.0, 0);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("softmax_second_order", |g| {
            let a = input(g, "a", points(&[2, 3, 4], 113));
            let y = ops::softmax(a.0 * 2.0, 1);
            Built {
                y: weighted_grad(g, &a, y, 114),
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("log_softmax_axes", |g| {
            let a = input(g, "a", points(&[2, 3, 4], 115));
            let y = ops::log_softmax(a.0 * 3.0, -1) + ops::log_softmax(a.0, 0);
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
        case("log_softmax_second_order", |g| {
            let a = input(g, "a", points(&[3, 4], 116));
            let y = ops::log_softmax(a.0 * 2.0, -1);
            Built {
                y: weighted_grad(g, &a, y, 117),
                xs: vec![a],
                feeds: vec![],
            }
        }),
    ]
}
