//! bias_add, batch_normalization (all five inputs, and through its own
//! gradient), check_numerics, and dropout's gradient plumbing.
//!
//! Dropout draws a new mask at every run, so finite differences (one run
//! per point) can only check it with keep_prob fed as 1 (its mask is then
//! all ones); tests/dropout.rs checks `dy * mask` against the forward
//! pass's own mask for keep_prob < 1.

use super::support::{arr, case, input, points, Built, Case};
use tensorgraph::nn::{self, DropoutOptions};
use tensorgraph::{gradients, ops, DType, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case("dropout_fed_keep_prob_one_with_noise_shape", |g| {
            let a = input(g, "a", points(&[3, 4], 46));
            let keep_prob = g.placeholder(DType::Float64, [0usize; 0], "keep_prob");
            let opts = DropoutOptions {
                noise_shape: Some(vec![3, 1]),
                seed: Some(1),
            };
            let y = nn::dropout(a.0 * a.0, keep_prob) + nn::dropout_with(a.0, keep_prob, opts);
            Built {
                y: y * a.0,
                xs: vec![a],
                feeds: vec![(keep_prob, Value::from(1.0f64))],
            }
        }),
        case("bias_add_rank3", |g| {
            let v = input(g, "value", points(&[2, 3, 4], 40));
            let b = input(g, "bias", points(&[4], 41));
            Built {
                y: ops::bias_add(v.0, b.0) * v.0,
                xs: vec![v, b],
                feeds: vec![],
            }
        }),
        case("batch_normalization_all_inputs", |g| {
            let x = input(g, "x", points(&[4, 3], 42));
            let m = input(g, "mean", points(&[3], 43));
            let v = input(g, "variance", arr(&[3], &[0.5, 1.3, 2.2]));
            let o = input(g, "offset", points(&[3], 44));
            let s = input(g, "scale", points(&[3], 45));
            let y = ops::batch_normalization(x.0, m.0, v.0, Some(o.0), Some(s.0), 1e-3);
            Built {
                y,
                xs: vec![x, m, v, o, s],
                feeds: vec![],
            }
        }),
        case("batch_normalization_second_order", |g| {
            let x = input(g, "x", points(&[2, 3], 46));
            let m = input(g, "mean", points(&[3], 47));
            let v = input(g, "variance", arr(&[3], &[0.7, 1.1, 1.9]));
            let y = ops::batch_normalization(x.0, m.0, v.0, None, None, 1e-3);
            let dv = gradients(&[y * y], &[v.0])[0].expect("variance reaches y");
            Built {
                y: dv,
                xs: vec![x, m, v],
                feeds: vec![],
            }
        }),
        case("check_numerics_passes_gradient", |g| {
            let a = input(g, "a", points(&[2, 3], 48));
            let y = ops::check_numerics(a.0 * a.0, "squares");
            Built {
                y,
                xs: vec![a],
                feeds: vec![],
            }
        }),
    ]
}
