//! Reader for gzip-compressed IDX files, the format MNIST is distributed in.
//!
//! Invariant: a successful read returns exactly what the header declares.
//! The header is checked before anything large is allocated, the whole gzip
//! stream is read (so its CRC is verified), and every problem with the bytes
//! (not gzip, corrupt, truncated, wrong kind of file, trailing data) is an
//! [`Error::BadFile`] naming the file. Nothing here panics on bad data.

use crate::{Error, Result};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Magic number of an IDX file of unsigned-byte images (`0x00000803`).
pub const IMAGES_MAGIC: u32 = 0x0803;

/// Magic number of an IDX file of unsigned-byte labels (`0x00000801`).
pub const LABELS_MAGIC: u32 = 0x0801;

/// Preallocate at most this much for pixel data: a corrupt header cannot
/// make us reserve gigabytes, yet MNIST's 47 MB fit without regrowth.
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
    let mut file = IdxFile::open(path.as_ref())?;
    file.expect_magic(IMAGES_MAGIC)?;
    let count = file.read_u32("image count")?;
    let rows = file.read_u32("row count")?;
    let cols = file.read_u32("column count")?;
    let len = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .ok_or_else(|| {
            file.bad(format!(
                "header declares {count} images of {rows}x{cols} pixels, which is too large"
            ))
        })?;
    let pixels = file.read_body(len, || format!("{count} images of {rows}x{cols} pixels"))?;
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
    file.read_body(count, || format!("{count} labels"))
}

/// An open gzip stream plus the path, for error messages.
struct IdxFile {
    path: String,
    stream: GzDecoder<BufReader<File>>,
}

impl IdxFile {
    fn open(path: &Path) -> Result<Self> {
        let display = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Io {
            path: display.clone(),
            source,
        })?;
        Ok(IdxFile {
            path: display,
            stream: GzDecoder::new(BufReader::new(file)),
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

    /// Reads exactly `len` bytes of payload, then checks that the stream
    /// ends there (which also makes the decoder verify the gzip CRC).
    fn read_body(&mut self, len: usize, declared: impl Fn() -> String) -> Result<Vec<u8>> {
        let mut body = Vec::with_capacity(len.min(MAX_PREALLOC));
        let limit = u64::try_from(len).unwrap_or(u64::MAX);
        let read = (&mut self.stream).take(limit).read_to_end(&mut body);
        read.map_err(|e| self.read_error(e))?;
        if body.len() < len {
            return Err(self.bad(format!(
                "truncated: the header declares {} ({len} bytes of data) but only {} bytes follow",
                declared(),
                body.len()
            )));
        }
        let mut extra = [0u8; 1];
        if self.fill(&mut extra)? > 0 {
            return Err(self.bad(format!(
                "trailing data: more bytes follow the {} the header declares",
                declared()
            )));
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
