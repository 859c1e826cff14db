//! [`DataSet`]: examples kept as bytes, served as f32 batches the way TF1's
//! `input_data.DataSet.next_batch` serves them.
//!
//! Invariant: pixels stay `u8` in file order (a quarter of the f32 size);
//! only the requested rows are converted, each as `pixel * f32(1/255)`, the
//! exact float32 arithmetic of TF's `numpy.multiply(images, 1.0 / 255.0)`.
//! The epoch order is a permutation of row indices that is reshuffled in
//! place at each epoch boundary with the set's own seeded ChaCha8 stream.

use super::NUM_CLASSES;
use crate::{Error, Result};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// TF's scale factor: the float64 `1.0 / 255.0` rounded to float32.
const PIXEL_SCALE: f32 = (1.0f64 / 255.0) as f32;

/// A set of labelled images (one of `train`, `validation`, `test`) with an
/// epoch-aware, shuffling batch cursor.
#[derive(Clone, Debug)]
pub struct DataSet {
    /// `[n, pixels]` in file order.
    images: Array2<u8>,
    /// Class ids in file order.
    labels: Vec<u8>,
    one_hot: bool,
    /// Row indices in the current epoch's order.
    order: Vec<usize>,
    index_in_epoch: usize,
    epochs_completed: usize,
    rng: ChaCha8Rng,
}

impl DataSet {
    /// Builds a data set from raw images (`[n, pixels]`, 0..=255) and class
    /// ids (each `< 10`). `one_hot` picks the label format of
    /// [`labels`](Self::labels) and [`next_batch`](Self::next_batch); `seed`
    /// fixes the shuffling.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tensorgraph::datasets::mnist::DataSet;
    ///
    /// let images = Array2::from_shape_vec((3, 2), vec![0u8, 255, 51, 102, 0, 0]).unwrap();
    /// let set = DataSet::new(images, vec![4, 0, 9], true, 7)?;
    /// assert_eq!(set.num_examples(), 3);
    /// assert_eq!(set.images()[[0, 1]], 1.0);
    /// assert_eq!(set.labels()[[2, 9]], 1.0);
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn new(images: Array2<u8>, labels: Vec<u8>, one_hot: bool, seed: u64) -> Result<Self> {
        Self::with_rng(images, labels, one_hot, ChaCha8Rng::seed_from_u64(seed))
    }

    pub(super) fn with_rng(
        images: Array2<u8>,
        labels: Vec<u8>,
        one_hot: bool,
        rng: ChaCha8Rng,
    ) -> Result<Self> {
        if images.nrows() != labels.len() {
            return Err(Error::InvalidArgument(format!(
                "DataSet: {} images but {} labels",
                images.nrows(),
                labels.len()
            )));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| usize::from(l) >= NUM_CLASSES)
        {
            return Err(Error::InvalidArgument(format!(
                "DataSet: label {l} at index {i} is not a class id 0..{NUM_CLASSES}"
            )));
        }
        Ok(DataSet {
            order: (0..labels.len()).collect(),
            images: images.as_standard_layout().into_owned(),
            labels,
            one_hot,
            index_in_epoch: 0,
            epochs_completed: 0,
            rng,
        })
    }

    /// Number of examples (`mnist.train.num_examples`: 55,000 for MNIST).
    ///
    /// ```no_run
    /// let data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", true)?;
    /// assert_eq!(data.train.num_examples(), 55_000);
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn num_examples(&self) -> usize {
        self.labels.len()
    }

    /// Full passes over the data that [`next_batch`](Self::next_batch) has
    /// started past, counted the way TF counts them: the counter moves when
    /// a batch is requested that does not fit in what is left of the epoch.
    ///
    /// ```no_run
    /// let mut data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", true)?;
    /// while data.train.epochs_completed() < 1 {
    ///     let (_x, _y) = data.train.next_batch(100);
    /// }
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn epochs_completed(&self) -> usize {
        self.epochs_completed
    }

    /// Whether labels are one-hot rows (`[n, 10]`) rather than class ids (`[n, 1]`).
    ///
    /// ```no_run
    /// let data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", true)?;
    /// assert!(data.test.one_hot());
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn one_hot(&self) -> bool {
        self.one_hot
    }

    /// All images as f32 in `[0, 1]`, shape `[n, 784]`, in file order (TF
    /// returns its current shuffled order; for evaluation it is the same).
    /// Allocates `4 * n * 784` bytes: 31 MB for the MNIST test set.
    ///
    /// ```no_run
    /// let data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", true)?;
    /// assert_eq!(data.test.images().dim(), (10_000, 784));
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn images(&self) -> Array2<f32> {
        self.images.mapv(to_unit)
    }

    /// All labels in file order: one-hot `[n, 10]` if the set is
    /// [`one_hot`](Self::one_hot), else the class ids as a `[n, 1]` column.
    ///
    /// ```no_run
    /// let data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", true)?;
    /// assert_eq!(data.test.labels().row(0).to_vec(),
    ///            vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn labels(&self) -> Array2<f32> {
        self.label_rows(&(0..self.labels.len()).collect::<Vec<_>>())
    }

    /// The class ids (0..=9) in file order, without conversion.
    ///
    /// ```no_run
    /// let data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", false)?;
    /// assert_eq!(&data.test.class_ids()[..3], &[7, 2, 1]);
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn class_ids(&self) -> &[u8] {
        &self.labels
    }

    /// The raw pixels, `[n, 784]` bytes in file order.
    ///
    /// ```no_run
    /// let data = tensorgraph::datasets::mnist::read_data_sets("data/mnist", false)?;
    /// let ink: u32 = data.validation.raw_images().row(0).iter().map(|&p| u32::from(p)).sum();
    /// assert_eq!(ink, 27_525);
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn raw_images(&self) -> &Array2<u8> {
        &self.images
    }

    /// Examples `range` in file order as `(images, labels)`, shaped like a
    /// [`next_batch`](Self::next_batch) batch but without shuffling or
    /// moving the cursor: for evaluating a whole set in bounded pieces.
    ///
    /// # Panics
    /// If `range` goes past [`num_examples`](Self::num_examples).
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tensorgraph::datasets::mnist::DataSet;
    ///
    /// let set = DataSet::new(Array2::zeros((5, 784)), vec![0, 1, 2, 3, 4], true, 1)?;
    /// let (x, y) = set.examples(3..5);
    /// assert_eq!((x.dim(), y.dim()), ((2, 784), (2, 10)));
    /// assert_eq!(y[[1, 4]], 1.0);
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn examples(&self, range: Range<usize>) -> (Array2<f32>, Array2<f32>) {
        let n = self.num_examples();
        assert!(
            range.end <= n,
            "examples({range:?}) goes past the {n} examples of the data set"
        );
        let rows: Vec<usize> = range.collect();
        (self.image_rows(&rows), self.label_rows(&rows))
    }

    /// The next `batch_size` examples as `(images [b, 784], labels)`, exactly
    /// as TF1's `DataSet.next_batch(batch_size)`:
    /// the order is shuffled before the first batch and again at every epoch
    /// boundary; a batch that runs past the end of the epoch is the rest of
    /// that epoch followed by the start of the next (freshly shuffled) one,
    /// and [`epochs_completed`](Self::epochs_completed) then goes up by one.
    ///
    /// # Panics
    /// If `batch_size` exceeds [`num_examples`](Self::num_examples) (TF
    /// would silently return a short batch).
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tensorgraph::datasets::mnist::DataSet;
    ///
    /// let mut set = DataSet::new(Array2::zeros((5, 784)), vec![0, 1, 2, 3, 4], true, 1)?;
    /// let (x, y) = set.next_batch(3);
    /// assert_eq!((x.dim(), y.dim()), ((3, 784), (3, 10)));
    /// let (x, _) = set.next_batch(3); // 2 left in epoch 1, then 1 from epoch 2
    /// assert_eq!((x.nrows(), set.epochs_completed()), (3, 1));
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn next_batch(&mut self, batch_size: usize) -> (Array2<f32>, Array2<f32>) {
        let n = self.num_examples();
        assert!(
            batch_size <= n,
            "next_batch({batch_size}) asks for more than the {n} examples of the data set"
        );
        let start = self.index_in_epoch;
        if self.epochs_completed == 0 && start == 0 {
            self.order.shuffle(&mut self.rng);
        }
        let rows = if start + batch_size > n {
            self.epochs_completed += 1;
            let mut rows = self.order[start..].to_vec();
            self.order.shuffle(&mut self.rng);
            self.index_in_epoch = batch_size - rows.len();
            rows.extend_from_slice(&self.order[..self.index_in_epoch]);
            rows
        } else {
            self.index_in_epoch += batch_size;
            self.order[start..self.index_in_epoch].to_vec()
        };
        (self.image_rows(&rows), self.label_rows(&rows))
    }

    /// [`DataSet::next_batch`] of `x.nrows()` examples written into `x`
    /// (`[batch, pixels]`) and `y` (`[batch, 10]` one-hot or `[batch, 1]`),
    /// reusing their storage (they are resized only when their shapes do
    /// not fit): the same examples in the same order, without allocating.
    ///
    /// # Panics
    /// When `x.nrows()` exceeds the number of examples.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tensorgraph::datasets::mnist::DataSet;
    /// let images = Array2::from_shape_fn((5, 4), |(i, j)| (i * 4 + j) as u8);
    /// let labels = vec![0, 1, 2, 3, 4];
    /// let mut a = DataSet::new(images.clone(), labels.clone(), true, 7)?;
    /// let mut b = DataSet::new(images, labels, true, 7)?;
    /// let (mut x, mut y) = (Array2::zeros((3, 4)), Array2::zeros((3, 10)));
    /// for _ in 0..3 {
    ///     b.next_batch_into(&mut x, &mut y);
    ///     assert_eq!((x.clone(), y.clone()), a.next_batch(3));
    /// }
    /// # Ok::<(), tensorgraph::Error>(())
    /// ```
    pub fn next_batch_into(&mut self, x: &mut Array2<f32>, y: &mut Array2<f32>) {
        let batch_size = x.nrows();
        let n = self.num_examples();
        assert!(
            batch_size <= n,
            "next_batch({batch_size}) asks for more than the {n} examples of the data set"
        );
        let label_cols = if self.one_hot { NUM_CLASSES } else { 1 };
        if x.ncols() != self.images.ncols() || !x.is_standard_layout() {
            *x = Array2::zeros((batch_size, self.images.ncols()));
        }
        if y.dim() != (batch_size, label_cols) {
            *y = Array2::zeros((batch_size, label_cols));
        }
        let start = self.index_in_epoch;
        if self.epochs_completed == 0 && start == 0 {
            self.order.shuffle(&mut self.rng);
        }
        let ahead = &self.order[start..(start + batch_size).min(n)];
        super::super::prefetch_rows(self.images.view(), ahead);
        if start + batch_size > n {
            self.epochs_completed += 1;
            let tail = n - start;
            for i in 0..tail {
                self.write_row(i, self.order[start + i], x, y);
            }
            self.order.shuffle(&mut self.rng);
            self.index_in_epoch = batch_size - tail;
            for i in 0..self.index_in_epoch {
                self.write_row(tail + i, self.order[i], x, y);
            }
        } else {
            self.index_in_epoch += batch_size;
            for i in 0..batch_size {
                self.write_row(i, self.order[start + i], x, y);
            }
        }
    }

    /// Writes example `r` as row `i` of `x` and `y`.
    fn write_row(&self, i: usize, r: usize, x: &mut Array2<f32>, y: &mut Array2<f32>) {
        x.row_mut(i)
            .zip_mut_with(&self.images.row(r), |d, &p| *d = to_unit(p));
        let mut yr = y.row_mut(i);
        let label = self.labels[r];
        if self.one_hot {
            yr.fill(0.0);
            yr[usize::from(label)] = 1.0;
        } else {
            yr[0] = f32::from(label);
        }
    }

    fn image_rows(&self, rows: &[usize]) -> Array2<f32> {
        let mut out = Array2::zeros((rows.len(), self.images.ncols()));
        for (mut dst, &r) in out.rows_mut().into_iter().zip(rows) {
            dst.zip_mut_with(&self.images.row(r), |d, &p| *d = to_unit(p));
        }
        out
    }

    fn label_rows(&self, rows: &[usize]) -> Array2<f32> {
        if self.one_hot {
            let mut out = Array2::zeros((rows.len(), NUM_CLASSES));
            for (i, &r) in rows.iter().enumerate() {
                out[[i, usize::from(self.labels[r])]] = 1.0;
            }
            out
        } else {
            Array2::from_shape_fn((rows.len(), 1), |(i, _)| f32::from(self.labels[rows[i]]))
        }
    }
}

fn to_unit(pixel: u8) -> f32 {
    f32::from(pixel) * PIXEL_SCALE
}
