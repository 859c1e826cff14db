//! Reader for gzip-compressed IDX files, the format MNIST is distributed in.
//!
//! Invariant: a successful read returns exactly what the header declares,
//! and nothing is decompressed or allocated beyond what the file holds.
//! The IDX header is decoded first and its claim checked before the body
//! is touched: against [`MAX_IDX_BYTES`], against the image size the caller
//! expects, and against the uncompressed size the gzip trailer records. The
//! body is then streamed up to the claim; the gzip stream must end right
//! there (so its CRC is verified) and the file right after that one gzip
//! member. Every problem with the bytes (not gzip, corrupt, truncated, too
//! large, wrong kind of file, trailing data) is an [`Error::BadFile`] naming
//! the file. Nothing here panics on bad data.

use crate::{Error, Result};
use flate2::bufread::GzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Magic number of an IDX file of unsigned-byte images (`0x00000803`).
pub const IMAGES_MAGIC: u32 = 0x0803;

/// Magic number of an IDX file of unsigned-byte labels (`0x00000801`).
pub const LABELS_MAGIC: u32 = 0x0801;

/// The largest payload (pixels or labels) an IDX file may declare: 1 GiB,
/// twice the largest of the MNIST family (EMNIST ByClass's 697,932 training
/// images, 547 MB). A header declaring more is refused before reading on.
pub const MAX_IDX_BYTES: usize = 1 << 30;

/// Preallocate at most this much for the payload, whatever the header and
/// the trailer say: MNIST's 47 MB fit without regrowth.
const MAX_PREALLOC: usize = 64 << 20;

/// Images read from an IDX file: `count` images of `rows` x `cols` pixels,
/// stored row-major, one byte per pixel (0 is background, 255 full ink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image (28 for MNIST).
    pub rows: usize,
    /// Pixel columns per image (28 for MNIST).
    pub cols: usize,
    /// `count * rows * cols` pixels, image after image.
    pub pixels: Vec<u8>,
}

/// Reads a gzipped IDX images file (magic 2051: count, rows, cols, pixels).
///
/// ```no_run
/// use tensorgraph::datasets::mnist::read_idx_images;
///
/// let images = read_idx_images("data/mnist/t10k-images-idx3-ubyte.gz")?;
/// assert_eq!((images.count, images.rows, images.cols), (10_000, 28, 28));
/// # Ok::<(), tensorgraph::Error>(())
/// ```
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    read_images(path.as_ref(), None)
}

/// [`read_idx_images`], refusing (before reading the pixels) images that
/// are not `rows x cols` when `expected` is `Some((rows, cols))`.
pub(super) fn read_images(path: &Path, expected: Option<(usize, usize)>) -> Result<IdxImages> {
    let mut file = IdxFile::open(path)?;
    file.expect_magic(IMAGES_MAGIC)?;
    let count = file.read_u32("image count")?;
    let rows = file.read_u32("row count")?;
    let cols = file.read_u32("column count")?;
    if let Some((r, c)) = expected.filter(|&e| e != (rows, cols)) {
        return Err(file.bad(format!(
            "images are {rows}x{cols}, but {r}x{c} were expected"
        )));
    }
    let declared = format!("{count} images of {rows}x{cols} pixels");
    let pixels = file.read_body(&[count, rows, cols], &declared)?;
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// Reads a gzipped IDX labels file (magic 2049: count, one byte per label).
///
/// Any byte value is accepted here; MNIST's 0..=9 check is done by
/// [`read_data_sets`](super::read_data_sets).
///
/// ```no_run
/// use tensorgraph::datasets::mnist::read_idx_labels;
///
/// let labels = read_idx_labels("data/mnist/t10k-labels-idx1-ubyte.gz")?;
/// assert_eq!(labels[0], 7);
/// # Ok::<(), tensorgraph::Error>(())
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let mut file = IdxFile::open(path.as_ref())?;
    file.expect_magic(LABELS_MAGIC)?;
    let count = file.read_u32("label count")?;
    file.read_body(&[count], &format!("{count} labels"))
}

/// An open gzip stream plus the path, for error messages.
struct IdxFile {
    path: String,
    stream: GzDecoder<BufReader<File>>,
    /// The gzip trailer's ISIZE: the uncompressed size modulo 2^32 (`None`
    /// when the file is too short to have one).
    recorded: Option<u32>,
}

impl IdxFile {
    fn open(path: &Path) -> Result<Self> {
        let display = path.display().to_string();
        let io_error = |source| Error::Io {
            path: display.clone(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        let mut recorded = None;
        if len >= 4 {
            let mut trailer = [0u8; 4];
            file.seek(SeekFrom::End(-4))
                .and_then(|_| file.read_exact(&mut trailer))
                .and_then(|()| file.rewind())
                .map_err(io_error)?;
            recorded = Some(u32::from_le_bytes(trailer));
        }
        Ok(IdxFile {
            path: display,
            stream: GzDecoder::new(BufReader::new(file)),
            recorded,
        })
    }

    fn bad(&self, reason: String) -> Error {
        Error::BadFile {
            path: self.path.clone(),
            reason,
        }
    }

    /// Turns a read error into a message: decoder errors mean the gzip data
    /// is damaged; anything else is a genuine I/O failure.
    fn read_error(&self, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                self.bad(format!("not a valid gzip file ({e})"))
            }
            io::ErrorKind::UnexpectedEof => self.bad(format!("gzip data is truncated ({e})")),
            _ => Error::Io {
                path: self.path.clone(),
                source: e,
            },
        }
    }

    /// Reads into `buf` until it is full or the data ends; returns the count.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.stream.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(filled)
    }

    fn read_u32(&mut self, what: &str) -> Result<usize> {
        let mut b = [0u8; 4];
        let n = self.fill(&mut b)?;
        if n < 4 {
            return Err(self.bad(format!(
                "truncated: the file ends inside the header's {what}"
            )));
        }
        usize::try_from(u32::from_be_bytes(b))
            .map_err(|_| self.bad(format!("{what} does not fit in memory on this platform")))
    }

    fn expect_magic(&mut self, expected: u32) -> Result<()> {
        let mut b = [0u8; 4];
        let n = self.fill(&mut b)?;
        if n < 4 {
            return Err(self.bad(format!("truncated: {n} bytes, too short for an IDX header")));
        }
        let magic = u32::from_be_bytes(b);
        if magic == expected {
            return Ok(());
        }
        let wanted = kind_name(expected);
        Err(self.bad(match magic {
            IMAGES_MAGIC | LABELS_MAGIC => format!(
                "this is an IDX {} file (magic {magic}), but {wanted} (magic {expected}) were expected",
                kind_name(magic)
            ),
            _ => format!(
                "bad magic number {magic:#010x}: not an IDX {wanted} file (magic {expected:#010x})"
            ),
        }))
    }

    /// Reads the payload of `dims` (its size the product), after checking
    /// the size against [`MAX_IDX_BYTES`] and the gzip trailer; then checks
    /// that the gzip stream ends there (which makes the decoder verify the
    /// CRC) and that the file ends with it.
    fn read_body(&mut self, dims: &[usize], declared: &str) -> Result<Vec<u8>> {
        let claimed = dims.iter().map(|&d| d as u128).product::<u128>();
        let len = usize::try_from(claimed)
            .ok()
            .filter(|&n| n <= MAX_IDX_BYTES)
            .ok_or_else(|| {
                self.bad(format!(
                    "the header declares {declared} ({claimed} bytes of data), more than the \
                     {MAX_IDX_BYTES} bytes an IDX file may hold"
                ))
            })?;
        // The magic number and one word per dimension precede the payload.
        // The total is below 2^32, so an honest trailer records it exactly.
        let total = 4 * (1 + dims.len() as u64) + len as u64;
        if self.recorded != Some(total as u32) {
            let recorded = self.recorded.map_or("no".into(), |r| r.to_string());
            return Err(self.bad(format!(
                "the header declares {declared} ({len} bytes of data, {total} with the header) \
                 but the gzip trailer records {recorded} bytes: the file is truncated, has \
                 trailing data or is not a single gzip member"
            )));
        }
        let mut body = Vec::with_capacity(len.min(MAX_PREALLOC));
        let read = (&mut self.stream).take(len as u64).read_to_end(&mut body);
        read.map_err(|e| self.read_error(e))?;
        if body.len() < len {
            return Err(self.bad(format!(
                "truncated: the header declares {declared} ({len} bytes of data) but only {} \
                 bytes follow",
                body.len()
            )));
        }
        if self.fill(&mut [0u8; 1])? > 0 {
            return Err(self.bad(format!(
                "trailing data: more bytes follow the {declared} the header declares"
            )));
        }
        let after = self
            .stream
            .get_mut()
            .fill_buf()
            .map(|rest| !rest.is_empty());
        if after.map_err(|e| self.read_error(e))? {
            return Err(self.bad("trailing data: more bytes follow the gzip member".into()));
        }
        Ok(body)
    }
}

fn kind_name(magic: u32) -> &'static str {
    if magic == IMAGES_MAGIC {
        "images"
    } else {
        "labels"
    }
}
