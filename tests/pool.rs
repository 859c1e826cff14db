//! `max_pool` and its gradient against a straightforward reference (per
//! window and channel, the first maximum under `>` in row-major window
//! order; the gradient summed into zeros at it), bitwise, on data with
//! many ties, NaNs and signed zeros: the non-overlapping fast path (2x2
//! stride 2, SAME and VALID, even and odd sizes) and the general one
//! (3x3 stride 2), one thread and two.

use ndarray::{ArrayD, IxDyn};
use tensorgraph::ops::{max_pool, Padding};
use tensorgraph::session::SessionOptions;
use tensorgraph::{feed, gradients_with_grad_ys, DType, Graph, Session};

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    /// Values of a small set (ties), a NaN in 1 of 40 and -0.0 and 0.0.
    fn value(&mut self) -> f32 {
        match self.next() % 40 {
            0 => f32::NAN,
            1 => -0.0,
            r => (r % 4) as f32,
        }
    }

    fn array(&mut self, shape: &[usize]) -> ArrayD<f32> {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || self.value())
    }
}

/// Output size and padding before along one axis, as TF computes them.
fn out_pad(input: usize, k: usize, s: usize, padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Valid => ((input - k) / s + 1, 0),
        Padding::Same => {
            let out = input.div_ceil(s);
            let total = ((out - 1) * s + k).saturating_sub(input);
            (out, total / 2)
        }
    }
}

/// The reference max pooling of `x` with a `k x k` window and stride `s`:
/// the pooled values and the gradient for `dy`.
fn reference(
    x: &ArrayD<f32>,
    dy: &ArrayD<f32>,
    k: usize,
    s: usize,
    padding: Padding,
) -> (ArrayD<f32>, ArrayD<f32>) {
    let &[n, h, w, c] = x.shape() else {
        unreachable!("NHWC")
    };
    let (oh, pt) = out_pad(h, k, s, padding);
    let (ow, pl) = out_pad(w, k, s, padding);
    let mut y = ArrayD::<f32>::zeros(IxDyn(&[n, oh, ow, c]));
    let mut dx = ArrayD::<f32>::zeros(x.raw_dim());
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut taps = Vec::new();
                for ky in 0..k {
                    for kx in 0..k {
                        let iy = (oy * s + ky).checked_sub(pt).filter(|&i| i < h);
                        let ix = (ox * s + kx).checked_sub(pl).filter(|&i| i < w);
                        if let (Some(iy), Some(ix)) = (iy, ix) {
                            taps.push((iy, ix));
                        }
                    }
                }
                for ch in 0..c {
                    let at = |(iy, ix): (usize, usize)| x[[b, iy, ix, ch]];
                    let mut arg = taps[0];
                    for &t in &taps[1..] {
                        if at(t) > at(arg) {
                            arg = t;
                        }
                    }
                    y[[b, oy, ox, ch]] = at(arg);
                    dx[[b, arg.0, arg.1, ch]] += dy[[b, oy, ox, ch]];
                }
            }
        }
    }
    (y, dx)
}

fn bits(a: &ArrayD<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn max_pool_and_gradient_match_the_reference_bitwise() {
    let mut rng = Lcg(7);
    let configs = [
        (2, 2, Padding::Same),
        (2, 2, Padding::Valid),
        (3, 2, Padding::Same),
        (3, 2, Padding::Valid),
    ];
    let mut shapes = Vec::new();
    for c in [1, 3, 32, 64, 70] {
        for (h, w) in [(6, 8), (7, 5), (1, 4)] {
            shapes.push([2, h, w, c]);
        }
    }
    // Large enough to be split over two threads.
    shapes.push([12, 28, 28, 32]);
    for shape in shapes {
        for (k, s, padding) in configs {
            if padding == Padding::Valid && shape[1].min(shape[2]) < k {
                continue;
            }
            let x0 = rng.array(&shape);
            let (oh, _) = out_pad(shape[1], k, s, padding);
            let (ow, _) = out_pad(shape[2], k, s, padding);
            let dy0 = rng.array(&[shape[0], oh, ow, shape[3]]);
            let (y_ref, dx_ref) = reference(&x0, &dy0, k, s, padding);

            let g = Graph::new();
            let x = g.placeholder(DType::Float32, shape, "x");
            let dy = g.placeholder(DType::Float32, [shape[0], oh, ow, shape[3]], "dy");
            let y = max_pool(x, [1, k, k, 1], [1, s, s, 1], padding);
            let [Some(dx)] = &gradients_with_grad_ys(&[y], &[x], &[Some(dy)])[..] else {
                panic!("max_pool has a gradient")
            };
            for threads in [1, 2] {
                let options = SessionOptions {
                    intra_op_threads: threads,
                };
                let mut sess = Session::with_options(&g, options);
                let (yv, dxv) = sess
                    .run((y, *dx), &feed! { x => &x0, dy => &dy0 })
                    .expect("run");
                let what = format!("{shape:?} k{k} s{s} {padding:?}, {threads} threads");
                assert_eq!(bits(&yv.to_array()), bits(&y_ref), "max_pool {what}");
                assert_eq!(bits(&dxv.to_array()), bits(&dx_ref), "gradient {what}");
            }
        }
    }
}
