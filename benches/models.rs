//! The benchmark workloads, shared by `examples/bench.rs`, the criterion
//! benches and `tests/alloc.rs`: the MLP-dropout and "Deep MNIST" CNN of
//! `../shared/bench/tf1_mlp.py`, built exactly as there, and a batcher with
//! the reference's protocol (a fresh permutation per epoch, contiguous
//! batches, the remainder of an epoch dropped) that gathers into reused
//! buffers.

use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tensorgraph::ops::{max_pool, reshape, Padding};
use tensorgraph::train::{AdamOptimizer, Optimizer};
use tensorgraph::{nn, DType, Graph, Operation, Tensor};

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// 784-200-100-10 with dropout after both hidden layers.
    Mlp,
    /// TF's "Deep MNIST for experts".
    Cnn,
}

impl Model {
    /// Batch size of the reference protocol.
    pub fn batch(self) -> usize {
        match self {
            Model::Mlp => 128,
            Model::Cnn => 50,
        }
    }

    /// Adam's learning rate in the reference protocol.
    pub fn lr(self) -> f64 {
        match self {
            Model::Mlp => 1e-3,
            Model::Cnn => 1e-4,
        }
    }
}

/// The tensors and ops a benchmark runs.
#[derive(Clone, Copy, Debug)]
pub struct Net {
    /// Images, `[?, 784]`.
    pub x: Tensor,
    /// One-hot labels, `[?, 10]`.
    pub y: Tensor,
    /// Dropout keep probability (scalar).
    pub keep_prob: Tensor,
    /// Logits, `[?, 10]`.
    pub logits: Tensor,
    /// One Adam step.
    pub train: Operation,
    /// Initialises every variable.
    pub init: Operation,
}

/// Builds `model` into `g` (with its gradients and Adam), as tf1_mlp.py.
pub fn build(g: &Graph, model: Model, seed: u64) -> Net {
    g.set_random_seed(seed);
    let x = g.placeholder(DType::Float32, [None, Some(784)], "x");
    let y = g.placeholder(DType::Float32, [None, Some(10)], "y_");
    let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
    let weight = |shape: &[usize], name: &str| g.variable(g.truncated_normal(shape, 0.1), name);
    let logits = match model {
        Model::Mlp => {
            let bias = |n: usize, name: &str| g.variable(g.ones([n], DType::Float32), name);
            let (w1, b1) = (weight(&[784, 200], "W1"), bias(200, "b1"));
            let (w2, b2) = (weight(&[200, 100], "W2"), bias(100, "b2"));
            let (w3, b3) = (weight(&[100, 10], "W3"), bias(10, "b3"));
            let y1 = nn::dropout(nn::relu(x.matmul(w1) + b1), keep_prob);
            let y2 = nn::dropout(nn::relu(y1.matmul(w2) + b2), keep_prob);
            y2.matmul(w3) + b3
        }
        Model::Cnn => {
            let bias = |n: usize, name: &str| g.variable(g.fill([n], 0.1, DType::Float32), name);
            let conv = |inp: Tensor, w: Tensor| nn::conv2d(inp, w, [1, 1, 1, 1], Padding::Same);
            let pool = |inp: Tensor| max_pool(inp, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same);
            let image = reshape(x, [-1, 28, 28, 1]);
            let (wc1, bc1) = (weight(&[5, 5, 1, 32], "W_conv1"), bias(32, "b_conv1"));
            let h1 = pool(nn::relu(conv(image, wc1) + bc1));
            let (wc2, bc2) = (weight(&[5, 5, 32, 64], "W_conv2"), bias(64, "b_conv2"));
            let h2 = pool(nn::relu(conv(h1, wc2) + bc2));
            let (wf1, bf1) = (weight(&[7 * 7 * 64, 1024], "W_fc1"), bias(1024, "b_fc1"));
            let flat = reshape(h2, [-1, 7 * 7 * 64]);
            let f1 = nn::dropout(nn::relu(flat.matmul(wf1) + bf1), keep_prob);
            let (wf2, bf2) = (weight(&[1024, 10], "W_fc2"), bias(10, "b_fc2"));
            f1.matmul(wf2) + bf2
        }
    };
    let loss = nn::softmax_cross_entropy_with_logits_v2(y, logits).reduce_mean(None, false);
    let train = AdamOptimizer::new(model.lr()).minimize(loss);
    let init = g.global_variables_initializer();
    Net {
        x,
        y,
        keep_prob,
        logits,
        train,
        init,
    }
}

/// Images as bytes (converted per batch) and class ids.
#[derive(Clone, Debug)]
pub struct Data {
    /// `[n, 784]` pixels.
    pub images: Array2<u8>,
    /// Class ids.
    pub labels: Vec<u8>,
}

impl Data {
    /// Random pixels and labels (timing only).
    pub fn synthetic(n: usize, seed: u64) -> Data {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let images = Array2::from_shape_simple_fn((n, 784), || rng.random::<u8>());
        let labels = (0..n).map(|_| rng.random_range(0..10u8)).collect();
        Data { images, labels }
    }

    /// Number of examples.
    pub fn count(&self) -> usize {
        self.labels.len()
    }

    /// Rows `start..end` as f32 images in [0, 1] and one-hot labels.
    pub fn slice(&self, start: usize, end: usize) -> (Array2<f32>, Array2<f32>) {
        let rows: Vec<usize> = (start..end).collect();
        let (mut x, mut y) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
        gather(self.images.view(), &self.labels, &rows, &mut x, &mut y);
        (x, y)
    }
}

/// Writes the images and one-hot labels of `rows` into `x` and `y`,
/// reusing their storage when the batch size is unchanged.
pub fn gather(
    images: ArrayView2<'_, u8>,
    labels: &[u8],
    rows: &[usize],
    x: &mut Array2<f32>,
    y: &mut Array2<f32>,
) {
    if x.dim() != (rows.len(), 784) {
        *x = Array2::zeros((rows.len(), 784));
    }
    if y.dim() != (rows.len(), 10) {
        *y = Array2::zeros((rows.len(), 10));
    }
    let scale = 1.0f32 / 255.0;
    tensorgraph::datasets::prefetch_rows(images, rows);
    for (i, &r) in rows.iter().enumerate() {
        let src = images.row(r);
        let src = src.as_slice().expect("standard layout");
        let dst = x.row_mut(i).into_slice().expect("standard layout");
        for (d, &p) in dst.iter_mut().zip(src) {
            *d = f32::from(p) * scale;
        }
        let yr = y.row_mut(i).into_slice().expect("standard layout");
        yr.fill(0.0);
        yr[usize::from(labels[r])] = 1.0;
    }
}

/// `common.Batcher`: a permutation per epoch, contiguous batches, the
/// remainder dropped; the batch lives in reused buffers.
#[derive(Debug)]
pub struct Batcher {
    rng: ChaCha8Rng,
    perm: Vec<usize>,
    pos: usize,
    batch: usize,
    /// The current batch's images.
    pub x: Array2<f32>,
    /// The current batch's one-hot labels.
    pub y: Array2<f32>,
}

impl Batcher {
    /// A batcher over `n` examples.
    pub fn new(n: usize, batch: usize, seed: u64) -> Batcher {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng);
        Batcher {
            rng,
            perm,
            pos: 0,
            batch,
            x: Array2::zeros((batch, 784)),
            y: Array2::zeros((batch, 10)),
        }
    }

    /// Gathers the next batch into `self.x`, `self.y`.
    pub fn next(&mut self, data: &Data) {
        if self.pos + self.batch > self.perm.len() {
            self.perm.shuffle(&mut self.rng);
            self.pos = 0;
        }
        let rows = &self.perm[self.pos..self.pos + self.batch];
        self.pos += self.batch;
        gather(
            data.images.view(),
            &data.labels,
            rows,
            &mut self.x,
            &mut self.y,
        );
    }
}
