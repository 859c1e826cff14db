//! Datasets for examples and tests, loaded the way TF1's
//! `tensorflow.examples.tutorials.mnist.input_data` loads them.
//!
//! ```no_run
//! use tensorgraph::datasets::mnist;
//!
//! let mut data = mnist::read_data_sets(mnist::default_dir(), true)?;
//! let (batch_x, batch_y) = data.train.next_batch(128);
//! assert_eq!(batch_x.dim(), (128, 784));
//! assert_eq!(batch_y.dim(), (128, 10));
//! # Ok::<(), tensorgraph::Error>(())
//! ```

pub mod mnist;
