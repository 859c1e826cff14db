//! MNIST, loaded like TF1's `input_data.read_data_sets`: the four gzipped
//! IDX files are downloaded if absent (SHA-256 checked), read and checked,
//! and split into `train` (55,000), `validation` (5,000: the *first* 5,000
//! training images, as TF splits them) and `test` (10,000).
//!
//! Images stay bytes in memory (55 MB for all of MNIST rather than 220 MB of
//! f32) and are converted to f32 in `[0, 1]` only per batch, or all at once
//! when asked for with [`DataSet::images`].
//!
//! ```no_run
//! use tensorgraph::datasets::mnist;
//!
//! // mnist = input_data.read_data_sets('MNIST_data', one_hot=True)
//! let mut data = mnist::read_data_sets(mnist::default_dir(), true)?;
//! for _ in 0..1000 {
//!     let (batch_x, batch_y) = data.train.next_batch(128);
//!     // sess.run(train_step, &feed! { x => &batch_x, y => &batch_y })?;
//! #   let _ = (batch_x, batch_y);
//! }
//! let (test_x, test_y) = (data.test.images(), data.test.labels());
//! # let _ = (test_x, test_y);
//! # Ok::<(), tensorgraph::Error>(())
//! ```

mod dataset;
mod download;
mod idx;

pub use dataset::DataSet;
pub use download::{maybe_download, RemoteFile, Source, DEFAULT_BASE_URL, MAX_DOWNLOAD_BYTES};
pub use idx::{
    read_idx_images, read_idx_labels, IdxImages, IMAGES_MAGIC, LABELS_MAGIC, MAX_IDX_BYTES,
};

use crate::{Error, Result};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// File name of the training images.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";
/// File name of the training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte.gz";
/// File name of the test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
/// File name of the test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";

/// Image height and width in pixels.
pub const IMAGE_SIZE: usize = 28;
/// Pixels per image, the width of an images batch.
pub const IMAGE_PIXELS: usize = IMAGE_SIZE * IMAGE_SIZE;
/// Number of classes (digits 0..=9), the width of a one-hot labels batch.
pub const NUM_CLASSES: usize = 10;
/// TF's default number of training images held out for validation.
pub const VALIDATION_SIZE: usize = 5000;

/// The three splits, as `mnist.train`, `mnist.validation`, `mnist.test`.
#[derive(Clone, Debug)]
pub struct Datasets {
    /// Training examples (55,000 with the default options).
    pub train: DataSet,
    /// Held-out training examples (5,000 with the default options).
    pub validation: DataSet,
    /// The 10,000 test examples.
    pub test: DataSet,
}

/// How [`read_data_sets_with`] loads MNIST.
///
/// ```
/// use tensorgraph::datasets::mnist::{Options, Source};
///
/// let opts = Options::new()
///     .one_hot(true)
///     .validation_size(10_000)
///     .seed(42)
///     .source(Source::standard_files("http://localhost:8000/"));
/// let offline = Options::new().offline();
/// # let _ = (opts, offline);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    one_hot: bool,
    validation_size: usize,
    seed: u64,
    source: Option<Source>,
}

impl Default for Options {
    /// Class-id labels, 5,000 validation examples, seed 0, download from
    /// the standard mirror.
    fn default() -> Self {
        Options {
            one_hot: false,
            validation_size: VALIDATION_SIZE,
            seed: 0,
            source: Some(Source::default()),
        }
    }
}

impl Options {
    /// The defaults (see [`Options::default`]).
    ///
    /// ```
    /// let opts = tensorgraph::datasets::mnist::Options::new();
    /// # let _ = opts;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Labels as one-hot `[n, 10]` rows (true) or `[n, 1]` class ids (false).
    ///
    /// ```
    /// let opts = tensorgraph::datasets::mnist::Options::new().one_hot(true);
    /// # let _ = opts;
    /// ```
    pub fn one_hot(mut self, one_hot: bool) -> Self {
        self.one_hot = one_hot;
        self
    }

    /// How many of the first training images form the validation set.
    ///
    /// ```
    /// let opts = tensorgraph::datasets::mnist::Options::new().validation_size(0);
    /// # let _ = opts;
    /// ```
    pub fn validation_size(mut self, validation_size: usize) -> Self {
        self.validation_size = validation_size;
        self
    }

    /// Seed of the shuffling; each split draws from its own stream of it,
    /// so the same seed gives the same batches.
    ///
    /// ```
    /// let opts = tensorgraph::datasets::mnist::Options::new().seed(7);
    /// # let _ = opts;
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Where to download missing files from (default: [`Source::default`]).
    ///
    /// ```
    /// use tensorgraph::datasets::mnist::{Options, Source};
    /// let opts = Options::new().source(Source::standard_files("https://example.org/mnist/"));
    /// # let _ = opts;
    /// ```
    pub fn source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Never download: missing files are an error.
    ///
    /// ```
    /// let opts = tensorgraph::datasets::mnist::Options::new().offline();
    /// # let _ = opts;
    /// ```
    pub fn offline(mut self) -> Self {
        self.source = None;
        self
    }
}

/// Loads MNIST from `dir`, downloading missing files from the standard
/// mirror, with TF's defaults otherwise (5,000 validation examples; shuffling
/// seeded with 0). Port of `input_data.read_data_sets(dir, one_hot=...)`.
///
/// ```no_run
/// use tensorgraph::datasets::mnist;
///
/// let data = mnist::read_data_sets("data/mnist", true)?;
/// assert_eq!(data.train.num_examples(), 55_000);
/// assert_eq!(data.validation.num_examples(), 5_000);
/// assert_eq!(data.test.num_examples(), 10_000);
/// # Ok::<(), tensorgraph::Error>(())
/// ```
pub fn read_data_sets(dir: impl AsRef<Path>, one_hot: bool) -> Result<Datasets> {
    read_data_sets_with(dir, &Options::new().one_hot(one_hot))
}

/// Loads MNIST from `dir` with explicit [`Options`].
///
/// Errors: [`Error::Io`] when a file is missing (and downloading is off) or
/// unreadable or a download fails, [`Error::BadFile`] when a file is not a
/// valid MNIST IDX file (naming the file and what is wrong: bad magic,
/// truncated, corrupt gzip, not 28x28, image/label count mismatch, label
/// above 9, download digest mismatch), and [`Error::InvalidArgument`] when
/// the validation size exceeds the training set.
///
/// ```no_run
/// use tensorgraph::datasets::mnist::{self, Options};
///
/// let data = mnist::read_data_sets_with("data/mnist", &Options::new().one_hot(true).seed(1))?;
/// assert_eq!(data.train.labels().ncols(), 10);
/// # Ok::<(), tensorgraph::Error>(())
/// ```
pub fn read_data_sets_with(dir: impl AsRef<Path>, options: &Options) -> Result<Datasets> {
    let dir = dir.as_ref();
    if let Some(source) = &options.source {
        maybe_download(dir, source)?;
    }
    let (train_images, mut train_labels) = read_pair(dir, TRAIN_IMAGES, TRAIN_LABELS)?;
    let mut train_pixels = train_images.pixels;
    let (test_images, test_labels) = read_pair(dir, TEST_IMAGES, TEST_LABELS)?;

    let v = options.validation_size;
    if v > train_labels.len() {
        return Err(Error::InvalidArgument(format!(
            "validation size should be between 0 and {}, got {v}",
            train_labels.len()
        )));
    }
    // TF holds out the *first* v training examples. Draining the front
    // moves the rest down in place: no second copy of the training pixels.
    let validation_pixels: Vec<u8> = train_pixels.drain(..v * IMAGE_PIXELS).collect();
    let validation_labels: Vec<u8> = train_labels.drain(..v).collect();

    let rng = |stream| {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream(stream);
        rng
    };
    let set = |pixels: Vec<u8>, labels: Vec<u8>, stream| {
        let images = Array2::from_shape_vec((labels.len(), IMAGE_PIXELS), pixels)
            .map_err(|e| Error::InvalidArgument(format!("MNIST split: {e}")))?;
        DataSet::with_rng(images, labels, options.one_hot, rng(stream))
    };
    Ok(Datasets {
        train: set(train_pixels, train_labels, 0)?,
        validation: set(validation_pixels, validation_labels, 1)?,
        test: set(test_images.pixels, test_labels, 2)?,
    })
}

/// Reads an images file and its labels file and checks that they belong
/// together: 28x28 images, as many labels as images, every label a digit.
fn read_pair(dir: &Path, images: &str, labels: &str) -> Result<(IdxImages, Vec<u8>)> {
    let (images_path, labels_path) = (dir.join(images), dir.join(labels));
    let images = idx::read_images(&images_path, Some((IMAGE_SIZE, IMAGE_SIZE)))?;
    let labels_read = read_idx_labels(&labels_path)?;
    if labels_read.len() != images.count {
        return Err(bad(
            &labels_path,
            format!(
                "{} labels, but {} holds {} images",
                labels_read.len(),
                images_path.display(),
                images.count
            ),
        ));
    }
    if let Some((i, l)) = labels_read
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= NUM_CLASSES)
    {
        return Err(bad(
            &labels_path,
            format!("label {i} is {l}, not a digit 0..=9"),
        ));
    }
    Ok((images, labels_read))
}

fn bad(path: &Path, reason: String) -> Error {
    Error::BadFile {
        path: path.display().to_string(),
        reason,
    }
}

/// The MNIST directory to use when the caller has no `--data-dir`:
/// `$MNIST_DIR` if set and not empty, else `data/mnist`.
///
/// ```
/// let dir = tensorgraph::datasets::mnist::default_dir();
/// if std::env::var_os("MNIST_DIR").is_none() {
///     assert_eq!(dir, std::path::Path::new("data/mnist"));
/// }
/// ```
pub fn default_dir() -> PathBuf {
    match std::env::var_os("MNIST_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("data/mnist"),
    }
}
