//! Initializers: random tensors, and the constants `zeros`, `ones` and
//! `fill`. Each random node draws from its own stream, owned by the
//! session: seeded by the graph seed and the op seed, or the node's *name*
//! when the op has no seed (TF1 uses the creation index, so adding an
//! unrelated op changed every later stream; naming makes streams stable
//! under unrelated edits).

use super::Const;
use crate::dtype::DType;
use crate::graph::{Graph, Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, KernelError, Op, OpKind, Randomness};
use crate::value::Value;
use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

op_kinds! {
    RANDOM_NORMAL = not_differentiable("RandomStandardNormal", "random_normal");
    TRUNCATED_NORMAL = not_differentiable("TruncatedNormal", "truncated_normal");
    RANDOM_UNIFORM = not_differentiable("RandomUniform", "random_uniform");
}

/// TF1's default graph seed, used when only an op seed is given.
pub const DEFAULT_GRAPH_SEED: u64 = 87_654_321;

/// The distribution a random op draws from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RandomDistribution {
    /// Normal with this mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
    },
    /// Normal resampled until within two standard deviations of the mean.
    TruncatedNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation (of the untruncated normal, as TF).
        stddev: f64,
    },
    /// Uniform on `[min, max)`.
    Uniform {
        /// Lower bound (inclusive).
        min: f64,
        /// Upper bound (exclusive).
        max: f64,
    },
}

/// Options of the random ops: distribution parameters live in
/// [`RandomDistribution`]; this carries the op-level seed and dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomOptions {
    /// Element type (float32 by default).
    pub dtype: DType,
    /// TF's op-level `seed=`.
    pub seed: Option<u64>,
}

impl Default for RandomOptions {
    fn default() -> Self {
        RandomOptions {
            dtype: DType::Float32,
            seed: None,
        }
    }
}

#[derive(Debug)]
struct Random {
    shape: Vec<usize>,
    dist: RandomDistribution,
    dtype: DType,
    graph_seed: Option<u64>,
    op_seed: Option<u64>,
}

/// Draws one sample of `dist` from `rng` (in f64).
pub(crate) fn sample(dist: RandomDistribution, rng: &mut impl Rng) -> f64 {
    match dist {
        RandomDistribution::Normal { mean, stddev } => {
            let z: f64 = StandardNormal.sample(rng);
            mean + stddev * z
        }
        RandomDistribution::TruncatedNormal { mean, stddev } => loop {
            let z: f64 = StandardNormal.sample(rng);
            if z.abs() <= 2.0 {
                return mean + stddev * z;
            }
        },
        RandomDistribution::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
    }
}

impl Op for Random {
    fn kind(&self) -> &'static OpKind {
        match self.dist {
            RandomDistribution::Normal { .. } => &RANDOM_NORMAL,
            RandomDistribution::TruncatedNormal { .. } => &TRUNCATED_NORMAL,
            RandomDistribution::Uniform { .. } => &RANDOM_UNIFORM,
        }
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if !self.dtype.is_float() {
            return Err(format!("random ops make float tensors, not {}", self.dtype));
        }
        Ok(vec![TensorSpec::new(self.dtype, self.shape.as_slice())])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let n: usize = self.shape.iter().product();
        let rng = k.rng();
        let data: Vec<f64> = (0..n).map(|_| sample(self.dist, rng)).collect();
        let a = ArrayD::from_shape_vec(IxDyn(&self.shape), data).expect("sized");
        k.set(0, Value::F64(a).cast(self.dtype));
        Ok(())
    }
    fn randomness(&self) -> Randomness {
        Randomness::Random {
            graph_seed: self.graph_seed,
            op_seed: self.op_seed,
        }
    }
    fn attrs(&self) -> String {
        match self.dist {
            RandomDistribution::Normal { mean, stddev }
            | RandomDistribution::TruncatedNormal { mean, stddev } => {
                format!("mean={mean}, stddev={stddev}")
            }
            RandomDistribution::Uniform { min, max } => format!("minval={min}, maxval={max}"),
        }
    }
}

impl Graph {
    #[track_caller]
    fn random(&self, shape: &[usize], dist: RandomDistribution, opts: RandomOptions) -> Tensor {
        let op = Random {
            shape: shape.to_vec(),
            dist,
            dtype: opts.dtype,
            graph_seed: self.random_seed(),
            op_seed: opts.seed,
        };
        self.add_op(op, &[])
    }

    /// `tf.random_normal(shape, mean, stddev)` (float32, no op seed; see
    /// [`Graph::random_normal_with`]).
    #[track_caller]
    pub fn random_normal(&self, shape: impl AsRef<[usize]>, mean: f64, stddev: f64) -> Tensor {
        self.random_normal_with(shape, mean, stddev, RandomOptions::default())
    }

    /// `tf.random_normal` with a dtype and op seed.
    #[track_caller]
    pub fn random_normal_with(
        &self,
        shape: impl AsRef<[usize]>,
        mean: f64,
        stddev: f64,
        opts: RandomOptions,
    ) -> Tensor {
        self.random(
            shape.as_ref(),
            RandomDistribution::Normal { mean, stddev },
            opts,
        )
    }

    /// `tf.truncated_normal(shape, stddev=stddev)`: normal samples beyond
    /// two standard deviations are redrawn (not clipped), as TF does.
    ///
    /// ```
    /// use tensorgraph::Graph;
    /// let g = Graph::new();
    /// let w1 = g.variable(g.truncated_normal([784, 200], 0.1), "W1");
    /// assert_eq!(w1.shape().to_string(), "[784, 200]");
    /// ```
    #[track_caller]
    pub fn truncated_normal(&self, shape: impl AsRef<[usize]>, stddev: f64) -> Tensor {
        self.truncated_normal_with(shape, 0.0, stddev, RandomOptions::default())
    }

    /// `tf.truncated_normal` with a mean, dtype and op seed.
    #[track_caller]
    pub fn truncated_normal_with(
        &self,
        shape: impl AsRef<[usize]>,
        mean: f64,
        stddev: f64,
        opts: RandomOptions,
    ) -> Tensor {
        let dist = RandomDistribution::TruncatedNormal { mean, stddev };
        self.random(shape.as_ref(), dist, opts)
    }

    /// `tf.random_uniform(shape, minval, maxval)`.
    #[track_caller]
    pub fn random_uniform(&self, shape: impl AsRef<[usize]>, minval: f64, maxval: f64) -> Tensor {
        self.random_uniform_with(shape, minval, maxval, RandomOptions::default())
    }

    /// `tf.random_uniform` with a dtype and op seed.
    #[track_caller]
    pub fn random_uniform_with(
        &self,
        shape: impl AsRef<[usize]>,
        minval: f64,
        maxval: f64,
        opts: RandomOptions,
    ) -> Tensor {
        let dist = RandomDistribution::Uniform {
            min: minval,
            max: maxval,
        };
        self.random(shape.as_ref(), dist, opts)
    }

    /// `tf.glorot_uniform_initializer()(shape)`: uniform on
    /// `[-l, l)` with `l = sqrt(6 / (fan_in + fan_out))`, where for a
    /// conv filter `[h, w, in, out]` the fans include the receptive field.
    #[track_caller]
    pub fn glorot_uniform(&self, shape: impl AsRef<[usize]>) -> Tensor {
        let s = shape.as_ref();
        let (fan_in, fan_out) = match s {
            [] => (1, 1),
            [n] => (*n, *n),
            [a, b] => (*a, *b),
            [rest @ .., i, o] => {
                let field: usize = rest.iter().product();
                (field * i, field * o)
            }
        };
        let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
        self.random_uniform(s, -limit, limit)
    }

    /// `tf.fill(shape, value)` / `tf.constant(value, shape=shape)`: a
    /// constant, named `Fill` as TF names it.
    #[track_caller]
    pub fn fill(&self, shape: impl AsRef<[usize]>, value: f64, dtype: DType) -> Tensor {
        self.filled(shape.as_ref(), value, dtype, "Fill")
    }

    /// `tf.zeros(shape, dtype)`: a constant, named `zeros` as in TF.
    #[track_caller]
    pub fn zeros(&self, shape: impl AsRef<[usize]>, dtype: DType) -> Tensor {
        self.filled(shape.as_ref(), 0.0, dtype, "zeros")
    }

    /// `tf.ones(shape, dtype)`: a constant, named `ones` as in TF.
    #[track_caller]
    pub fn ones(&self, shape: impl AsRef<[usize]>, dtype: DType) -> Tensor {
        self.filled(shape.as_ref(), 1.0, dtype, "ones")
    }

    /// A constant of `shape` holding `value` everywhere.
    #[track_caller]
    fn filled(&self, shape: &[usize], value: f64, dtype: DType, name: &str) -> Tensor {
        let value = Value::F64(ArrayD::from_elem(IxDyn(shape), value)).cast(dtype);
        self.add_node(Const { value }, &[], Some(name)).output(0)
    }
}

/// The seed of a random node's stream in a new session, or `None` for an
/// OS-seeded stream (neither graph nor op seed set).
pub(crate) fn stream_seed(
    graph_seed: Option<u64>,
    op_seed: Option<u64>,
    name: &str,
) -> Option<u64> {
    let op = match (graph_seed, op_seed) {
        (None, None) => return None,
        (_, Some(s)) => s,
        (Some(_), None) => fnv1a(name.as_bytes()),
    };
    Some(splitmix(
        splitmix(graph_seed.unwrap_or(DEFAULT_GRAPH_SEED)) ^ op,
    ))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
