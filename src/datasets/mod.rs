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

use ndarray::ArrayView2;

/// Starts loading `rows` of `data` into the cache, so that a following
/// gather of those rows waits on memory once instead of once per row.
///
/// A batch of 128 random MNIST rows is 100 KB scattered over a 47 MB
/// array: gathered row after row, each row's first cache line is a full
/// memory round trip; issued together, the loads overlap. Only a hint:
/// on targets without a prefetch instruction it does nothing.
///
/// ```
/// use ndarray::Array2;
/// let images = Array2::<u8>::zeros((1000, 784));
/// tensorgraph::datasets::prefetch_rows(images.view(), &[3, 999, 10]);
/// ```
///
/// # Panics
/// When a row index is out of bounds.
pub fn prefetch_rows<T>(data: ArrayView2<'_, T>, rows: &[usize]) {
    let per_line = (64 / std::mem::size_of::<T>().max(1)).max(1);
    for &r in rows {
        // Strided rows (a transposed view) are left alone.
        if let Some(row) = data.row(r).to_slice() {
            for line in row.chunks(per_line) {
                crate::cpu::prefetch(&line[0]);
            }
        }
    }
}
