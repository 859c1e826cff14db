//! # tensorgraph
//!
//! A TensorFlow-1-style, graph-mode automatic differentiation framework.
//! Build a static graph of placeholders, variables and ops once; then a
//! [`Session`] runs it with a feed dictionary, as often as you like.
//! Gradients are built symbolically, as nodes of the same graph, so they
//! can be fetched, drawn and differentiated again.
//!
//! ```
//! use tensorgraph::{feed, gradients, DType, Graph, Session};
//!
//! let g = Graph::new();
//! let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
//! let w = g.variable(g.ones([3usize, 1], DType::Float32), "w");
//! let loss = x.matmul(w).reduce_mean(None, false);
//! let dw = gradients(&[loss], &[w])[0].expect("w reaches the loss");
//! let init = g.global_variables_initializer();
//!
//! let mut sess = Session::new(&g);
//! sess.run(init, &feed! {}).unwrap();
//! let batch = ndarray::array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let (l, d) = sess.run((loss, dw), &feed! { x => &batch }).unwrap();
//! assert_eq!(l.scalar::<f32>().unwrap(), 10.5);
//! assert_eq!(d.into_array::<f32>().unwrap().into_raw_vec_and_offset().0, vec![2.5, 3.5, 4.5]);
//! ```

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod cpu;
pub mod datasets;
pub mod dtype;
mod error;
mod gemm;
pub mod gradcheck;
pub mod gradients;
pub mod graph;
pub mod nn;
pub mod op;
pub mod ops;
mod parallel;
pub mod session;
pub mod train;
pub mod value;
pub mod viz;

/// Not part of the API: the f32 GEMM for `benches/kernels.rs`, which
/// times it against matrixmultiply kernel to kernel (through a session,
/// a run's fixed cost of about 0.3 µs would be 15% of the smallest product
/// there, and the published comparison would no longer hold).
#[doc(hidden)]
pub mod __bench {
    pub use crate::gemm::{sgemm, Epilogue};
}

pub use dtype::{DType, Shape};
pub use error::{Error, MissingFeed, NodeInfo, Result};
pub use gradients::{gradients, gradients_with_grad_ys};
pub use graph::{Graph, Operation, Tensor, TensorSpec};
pub use session::{Feeds, Fetch, Fetches, Session};
pub use value::{Element, FeedValue, IntoFeed, Value};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The Rust snippets of `docs/getting-started.md`, run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../docs/getting-started.md")]
struct GettingStartedDoctests;

/// The Rust snippets of `docs/porting.md`, run by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../docs/porting.md")]
struct PortingDoctests;
