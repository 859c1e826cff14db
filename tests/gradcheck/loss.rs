//! Cross-entropies (both inputs, and second order through their own
//! gradients) and l2_loss.

use super::support::{case, input, points, Built, Case};
use tensorgraph::{gradients, ops, Value};

/// Label rows that sum to 1, as TF's softmax cross-entropy gradient
/// (`softmax - labels`) is the loss's derivative only for those.
fn distributions(shape: &[usize], salt: u64) -> Value {
    let mut a = points(shape, salt).to_array::<f64>().mapv(f64::exp);
    for mut row in a.rows_mut() {
        let total = row.sum();
        row /= total;
    }
    Value::F64(a)
}

pub fn cases() -> Vec<Case> {
    vec![
        case("softmax_xent_labels_and_logits", |g| {
            let z = input(g, "labels", distributions(&[3, 4], 50));
            let x = input(g, "logits", points(&[3, 4], 51));
            let y = ops::softmax_cross_entropy_with_logits(z.0, x.0);
            Built {
                y,
                xs: vec![z, x],
                feeds: vec![],
            }
        }),
        case("softmax_xent_rank3_labels_gradient", |g| {
            // Labels not summing to 1: only their own gradient is exact.
            let z = input(g, "labels", points(&[2, 2, 3], 52));
            let x = input(g, "logits", points(&[2, 2, 3], 53));
            let y = ops::softmax_cross_entropy_with_logits(z.0, x.0);
            Built {
                y,
                xs: vec![z],
                feeds: vec![x],
            }
        }),
        case("softmax_xent_second_order", |g| {
            let z = input(g, "labels", distributions(&[3, 4], 54));
            let x = input(g, "logits", points(&[3, 4], 55));
            let loss = ops::softmax_cross_entropy_with_logits(z.0, x.0);
            let dx = gradients(&[loss * loss], &[x.0])[0].expect("logits reach loss");
            Built {
                y: dx,
                xs: vec![z, x],
                feeds: vec![],
            }
        }),
        case("sparse_softmax_xent", |g| {
            let x = input(g, "logits", points(&[3, 4], 56));
            let labels = g.placeholder(tensorgraph::DType::Int32, [3usize], "labels");
            let y = ops::sparse_softmax_cross_entropy_with_logits(labels, x.0);
            let feeds = vec![(labels, Value::from(vec![2i32, 0, 3]))];
            Built {
                y: y * y,
                xs: vec![x],
                feeds,
            }
        }),
        case("sigmoid_xent_labels_and_logits", |g| {
            let z = input(g, "labels", points(&[2, 3], 57));
            let x = input(g, "logits", points(&[2, 3], 58));
            let y = ops::sigmoid_cross_entropy_with_logits(z.0, x.0);
            Built {
                y,
                xs: vec![z, x],
                feeds: vec![],
            }
        }),
        case("sigmoid_xent_second_order", |g| {
            let z = input(g, "labels", points(&[2, 3], 59));
            let x = input(g, "logits", points(&[2, 3], 60));
            let loss = ops::sigmoid_cross_entropy_with_logits(z.0, x.0);
            let dx = gradients(&[loss * loss], &[x.0])[0].expect("logits reach loss");
            Built {
                y: dx,
                xs: vec![z, x],
                feeds: vec![],
            }
        }),
        case("l2_loss", |g| {
            let t = input(g, "t", points(&[3, 2], 61));
            Built {
                y: ops::l2_loss(t.0),
                xs: vec![t],
                feeds: vec![],
            }
        }),
    ]
}
