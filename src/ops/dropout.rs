//! Dropout (inverted, as TF): one `Dropout` node draws the run's mask, 0
//! with probability `1 - keep_prob` and `1 / keep_prob` otherwise, and
//! multiplies, in one kernel. The mask is its second output, and the
//! gradient `dy * mask` reads it: the same values within a run.
//! `keep_prob` is a graph input, checked at run time; when it is 1 the
//! output is `x`, no random number is drawn (the stream does not
//! advance), and the mask is only written if a gradient reads it.

use super::element::float_dispatch;
use super::Scalar;
use crate::dtype::Dims;
use crate::dtype::Shape;
use crate::error::Error;
use crate::graph::{raise, Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind, Randomness};
use crate::ops::Float;
use crate::value::array_mut;
use crate::value::Value;
use ndarray::Zip;
use rand::RngCore;

op_kinds! {
    DROPOUT = differentiable("Dropout", "dropout");
}

/// Options of [`dropout_with`] / [`dropout_rate_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropoutOptions {
    /// TF's `noise_shape`: the shape of the mask, broadcast against `x`
    /// (each dimension equal to `x`'s or 1, e.g. `[batch, 1]` to drop
    /// whole rows). `None`: `x`'s shape.
    pub noise_shape: Option<Vec<usize>>,
    /// TF's op-level `seed=`; with the graph seed it fixes the mask stream.
    pub seed: Option<u64>,
}

/// One dropout. Inputs: `[x, p]` with `p` the keep probability, or the
/// drop rate when `rate`; outputs: `[x * mask, mask]`.
#[derive(Debug)]
struct Dropout {
    rate: bool,
    noise_shape: Option<Vec<usize>>,
    graph_seed: Option<u64>,
    op_seed: Option<u64>,
}

/// `Err` naming the problem when `p` is not a valid keep probability
/// (or rate).
fn check_probability(p: f64, rate: bool) -> Result<f64, String> {
    let keep = if rate { 1.0 - p } else { p };
    let ok = if rate {
        (0.0..1.0).contains(&p)
    } else {
        p > 0.0 && p <= 1.0
    };
    if ok {
        Ok(keep)
    } else if rate {
        Err(format!("dropout rate must be in [0, 1), got {p}"))
    } else {
        Err(format!("dropout keep_prob must be in (0, 1], got {p}"))
    }
}

/// Whether a concrete noise shape broadcasts to `x`'s shape as a mask.
fn check_noise_shape(noise: &[usize], x: &[usize]) -> Result<(), String> {
    let fits = noise.len() == x.len() && noise.iter().zip(x).all(|(&n, &d)| n == d || n == 1);
    if fits {
        Ok(())
    } else {
        Err(format!(
            "noise_shape {noise:?} does not fit x of shape {x:?} (each dimension must be x's or 1)"
        ))
    }
}

impl Dropout {
    fn run<T: Float>(&self, k: &mut ComputeCtx<'_>, keep: f64) -> Result<(), KernelError> {
        let x = k.input_as::<T>(0)?;
        if let Some(n) = &self.noise_shape {
            check_noise_shape(n, x.shape())?;
        }
        let mask_shape: Dims = self.noise_shape.as_deref().unwrap_or(x.shape()).into();
        if keep == 1.0 {
            k.map_into(0, x, |v: T| v);
            if k.output_needed(1) {
                k.stale_output::<T>(1, &mask_shape).fill(T::one());
            }
            return Ok(());
        }
        let scale = T::one() / <T as Float>::from_f64(keep);
        // One 64-bit seed per run from the op's stream; the mask element i
        // keeps when 32-bit uniform i (half of SplitMix64 output i / 2,
        // counter-based) is below `ceil(keep * 2^32)`.
        let threshold = (keep * (1u64 << 32) as f64).ceil() as u64;
        let seed = k.rng().next_u64();
        k.stale_output::<T>(0, x.shape());
        k.stale_output::<T>(1, &mask_shape);
        let (y, mask) = k.outputs_mut().split_at_mut(1);
        let (Some(y), Some(mask)) = (array_mut::<T>(&mut y[0]), array_mut::<T>(&mut mask[0]))
        else {
            return Err("dropout's output buffers are not of the input's dtype".into());
        };
        fill_mask(
            mask.as_slice_mut().expect("standard layout"),
            seed,
            threshold,
            scale,
        );
        match (y.as_slice_mut(), x.as_slice(), mask.as_slice()) {
            (Some(ys), Some(xs), Some(ms)) if xs.len() == ms.len() => {
                for ((y, &x), &m) in ys.iter_mut().zip(xs).zip(ms) {
                    *y = x * m;
                }
            }
            _ => Zip::from(y)
                .and(x)
                .and_broadcast(&*mask)
                .for_each(|y, &x, &m| *y = x * m),
        }
        Ok(())
    }
}

/// Output `i` of SplitMix64 started at `seed` (a counter-based draw).
#[inline(always)]
fn splitmix64(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sets `mask[i]` to `scale` when the 32-bit uniform `i` of the stream
/// `seed` is below `threshold`, else to zero; branch-free, vectorized with
/// AVX-512 where the CPU has it (same values either way).
fn fill_mask<T: Float>(mask: &mut [T], seed: u64, threshold: u64, scale: T) {
    #[inline(always)]
    fn run<T: Float>(mask: &mut [T], seed: u64, threshold: u64, scale: T) {
        let pick = |u: u64| if u < threshold { scale } else { T::zero() };
        let half = mask.len() / 2;
        let mut pairs = mask.chunks_exact_mut(2);
        for (i, pair) in (&mut pairs).enumerate() {
            let z = splitmix64(seed, i as u64);
            pair[0] = pick(z & 0xffff_ffff);
            pair[1] = pick(z >> 32);
        }
        if let Some(last) = pairs.into_remainder().first_mut() {
            *last = pick(splitmix64(seed, half as u64) & 0xffff_ffff);
        }
    }
    crate::cpu::avx512_dq_vl(
        #[inline(always)]
        || run(mask, seed, threshold, scale),
    )
}

impl Op for Dropout {
    fn kind(&self) -> &'static OpKind {
        &DROPOUT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (x, p) = (&i[0], &i[1]);
        if !x.dtype.is_float() {
            return Err(format!("dropout needs a float tensor, got {}", x.dtype));
        }
        let what = if self.rate { "rate" } else { "keep_prob" };
        if !p.dtype.is_float() || p.shape.rank().is_some_and(|r| r != 0) {
            return Err(format!("{what} must be a float scalar, got {p}"));
        }
        let shape = match &self.noise_shape {
            None => x.shape.clone(),
            Some(n) => {
                if let Some(dims) = x.shape.dims() {
                    let fits = n.len() == dims.len()
                        && n.iter()
                            .zip(dims)
                            .all(|(&a, d)| a == 1 || d.is_none_or(|d| d == a));
                    if !fits {
                        return Err(format!(
                            "noise_shape {n:?} does not fit x of shape {} (each dimension must be x's or 1)",
                            x.shape
                        ));
                    }
                }
                Shape::known(n)
            }
        };
        Ok(vec![x.clone(), TensorSpec::new(x.dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let p = k.input(1);
        let first = match p {
            Value::F32(a) => a.iter().next().map(|&v| f64::from(v)),
            Value::F64(a) => a.iter().next().copied(),
            _ => None,
        };
        let p = match first {
            Some(v) if p.len() == 1 => v,
            _ => {
                return Err(format!(
                    "keep_prob must be a float scalar, got {}{:?}",
                    p.dtype(),
                    p.shape()
                )
                .into())
            }
        };
        let keep = check_probability(p, self.rate)?;
        float_dispatch!(k.input(0), T => self.run::<T>(k, keep))
    }
    /// d(x * mask)/dx = mask, this run's (output 1); none for the
    /// probability.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(c.dy(0) * c.y(1)), None]
    }
    fn randomness(&self) -> Randomness {
        Randomness::Random {
            graph_seed: self.graph_seed,
            op_seed: self.op_seed,
        }
    }
    fn attrs(&self) -> String {
        match &self.noise_shape {
            Some(n) => format!("noise_shape={n:?}"),
            None => String::new(),
        }
    }
}

/// `y = x * mask` for a keep probability or rate `p`.
#[track_caller]
fn dropout_impl(x: Tensor, p: Scalar, rate: bool, opts: DropoutOptions) -> Tensor {
    let g = x.graph();
    if let Some(v) = p.known_value() {
        let keep = match check_probability(v, rate) {
            Ok(keep) => keep,
            Err(e) => raise(Error::InvalidArgument(match p {
                Scalar::Number(_) => e,
                Scalar::Tensor(t) => format!("{e} (the constant `{}`)", t.name()),
            })),
        };
        // A plain 1 builds nothing; a constant tensor 1 is still read.
        if keep == 1.0 && matches!(p, Scalar::Number(_)) {
            return x;
        }
    }
    let p = p.tensor_like(x);
    let _s = g.name_scope("dropout");
    let op = Dropout {
        rate,
        noise_shape: opts.noise_shape,
        graph_seed: g.random_seed(),
        op_seed: opts.seed,
    };
    g.add_op(op, &[x, p])
}

/// `tf.nn.dropout(x, keep_prob)`: keeps each entry with probability
/// `keep_prob`, scaled by `1 / keep_prob`, and zeroes the rest, so the
/// expected value of each entry is unchanged. A new mask is drawn at every
/// run; the gradient uses that run's mask.
///
/// `keep_prob` is a number or a scalar float tensor. With a placeholder,
/// one graph serves training (feed 0.5) and evaluation (feed 1.0, which
/// returns `x` exactly and draws nothing). A plain `1.0` returns `x`
/// itself.
///
/// ```
/// use tensorgraph::{feed, nn, DType, Graph, Session};
/// let g = Graph::new();
/// g.set_random_seed(7);
/// let x = g.placeholder(DType::Float32, [None, Some(4)], "x");
/// let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
/// let y = nn::dropout(x, keep_prob);
/// let mut s = Session::new(&g);
/// let batch = ndarray::Array2::<f32>::ones((2, 4));
/// let train = s.run(y, &feed! { x => &batch, keep_prob => 0.5f32 }).unwrap();
/// assert!(train.into_array::<f32>().unwrap().iter().all(|&v| v == 0.0 || v == 2.0));
/// let eval = s.run(y, &feed! { x => &batch, keep_prob => 1.0f32 }).unwrap();
/// assert_eq!(eval.into_array::<f32>().unwrap(), batch.into_dyn());
/// ```
///
/// # Panics
/// When `keep_prob` is a number (or constant) outside `(0, 1]` (inside
/// [`Graph::try_build`](crate::Graph::try_build), that returns it as
/// [`Error::InvalidArgument`]). A fed value outside it makes the run fail
/// with an error naming the node.
#[track_caller]
pub fn dropout(x: Tensor, keep_prob: impl Into<Scalar>) -> Tensor {
    dropout_impl(x, keep_prob.into(), false, DropoutOptions::default())
}

/// [`dropout`] with a noise shape and an op-level seed.
///
/// # Panics
/// As [`dropout`], and when the noise shape does not fit `x`.
#[track_caller]
pub fn dropout_with(x: Tensor, keep_prob: impl Into<Scalar>, opts: DropoutOptions) -> Tensor {
    dropout_impl(x, keep_prob.into(), false, opts)
}

/// `tf.nn.dropout(x, rate=rate)` (TF2's convention): drops each entry
/// with probability `rate = 1 - keep_prob`; `rate` 0 is the identity.
///
/// ```
/// use tensorgraph::{feed, nn, DType, Graph, Session};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float64, [3usize], "x");
/// let y = nn::dropout_rate(x, 0.75); // keep a quarter, scaled by 4
/// let mut s = Session::new(&g);
/// let out = s.run(y, &feed! { x => vec![1.0f64; 3] }).unwrap().into_array::<f64>().unwrap();
/// assert!(out.iter().all(|&v| v == 0.0 || v == 4.0));
/// ```
///
/// # Panics
/// When `rate` is a number (or constant) outside `[0, 1)` (inside
/// [`Graph::try_build`](crate::Graph::try_build), an `Err`).
#[track_caller]
pub fn dropout_rate(x: Tensor, rate: impl Into<Scalar>) -> Tensor {
    dropout_impl(x, rate.into(), true, DropoutOptions::default())
}

/// [`dropout_rate`] with a noise shape and an op-level seed.
///
/// # Panics
/// As [`dropout_rate`], and when the noise shape does not fit `x`.
#[track_caller]
pub fn dropout_rate_with(x: Tensor, rate: impl Into<Scalar>, opts: DropoutOptions) -> Tensor {
    dropout_impl(x, rate.into(), true, opts)
}
