//! Training, as `tf.train`: optimizers whose `minimize` builds the update
//! ops once ([`Optimizer`]), learning-rate schedules, gradient clipping
//! and checkpoints ([`Saver`]).
//!
//! ```
//! use tensorgraph::{feed, train::{AdamOptimizer, Optimizer}, DType, Graph, Session};
//! let g = Graph::new();
//! let x = g.placeholder(DType::Float32, [None, Some(1)], "x");
//! let y = g.placeholder(DType::Float32, [None, Some(1)], "y");
//! let w = g.variable(g.zeros([1usize, 1], DType::Float32), "w");
//! let d = x.matmul(w) - y;
//! let loss = (d * d).reduce_mean(None, false);
//! let train = AdamOptimizer::new(0.1).minimize(loss);
//! let init = g.global_variables_initializer(); // after minimize: slots too
//! let mut s = Session::new(&g);
//! s.run(init, &feed! {}).unwrap();
//! let (xs, ys) = (ndarray::array![[1.0f32], [2.0]], ndarray::array![[2.0f32], [4.0]]);
//! for _ in 0..300 {
//!     s.run(train, &feed! { x => &xs, y => &ys }).unwrap();
//! }
//! let w = s.run(w, &feed! {}).unwrap().scalar::<f32>().unwrap();
//! assert!((w - 2.0).abs() < 1e-2);
//! ```

mod clip;
mod npz;
mod optimizer;
mod optimizers;
mod saver;
mod schedules;

pub use clip::{clip_by_global_norm, clip_by_norm, global_norm};
pub use optimizer::{GradsAndVars, Optimizer, Slots};
pub use optimizers::{
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, RMSPropOptimizer,
};
pub use saver::{latest_checkpoint, CheckpointSink, Saver};
pub use schedules::{create_global_step, exponential_decay};
