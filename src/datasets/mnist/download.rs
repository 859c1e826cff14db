//! Fetching the MNIST files when they are not on disk.
//!
//! Invariant: a file appears under its final name only complete and with
//! the expected SHA-256, and no download writes more than its source's
//! [`max_bytes`](Source::max_bytes). Each download streams into a temporary
//! file in the target directory (hashing as it goes), is fsynced, checked,
//! and renamed into place; on any failure the temporary file is removed.

use super::idx::MAX_IDX_BYTES;
use super::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use crate::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public mirror TF's `read_data_sets` downloads from.
pub const DEFAULT_BASE_URL: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// The default [`Source::max_bytes`]: the largest gzip of an IDX file the
/// reader accepts ([`MAX_IDX_BYTES`], plus room for gzip's framing of
/// incompressible data), about 1 GiB. MNIST's largest file is 9.9 MB.
pub const MAX_DOWNLOAD_BYTES: u64 = MAX_IDX_BYTES as u64 + (1 << 20);

/// SHA-256 of the four original MNIST `.gz` files, in the order
/// train images, train labels, test images, test labels.
const STANDARD_SHA256: [(&str, &str); 4] = [
    (
        TRAIN_IMAGES,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        TRAIN_LABELS,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        TEST_IMAGES,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        TEST_LABELS,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

/// One file to fetch: its name (under the base URL and in the target
/// directory) and the SHA-256 its bytes must have, as 64 hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// Plain file name, e.g. `train-images-idx3-ubyte.gz`.
    pub name: String,
    /// Expected SHA-256 of the downloaded bytes, hex (either case).
    pub sha256: String,
}

/// Where missing files come from: a base URL, the files with their
/// digests, and how large a file may be.
///
/// ```
/// use tensorgraph::datasets::mnist::{Source, DEFAULT_BASE_URL};
///
/// let standard = Source::default();
/// assert_eq!(standard.base_url, DEFAULT_BASE_URL);
/// assert_eq!(standard.files.len(), 4);
/// assert_eq!(standard.max_bytes, tensorgraph::datasets::mnist::MAX_DOWNLOAD_BYTES);
/// let mirror = Source::standard_files("http://localhost:8000/mnist/");
/// assert_eq!(mirror.files, standard.files);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// URL prefix; a file's URL is this plus its name (a `/` is added if missing).
    pub base_url: String,
    /// The files to fetch when absent, with their digests.
    pub files: Vec<RemoteFile>,
    /// The most bytes one download may take: a server announcing more is
    /// refused before the body is read, and one sending more is cut off
    /// there (default [`MAX_DOWNLOAD_BYTES`]).
    pub max_bytes: u64,
}

impl Source {
    /// The four standard MNIST files with their known digests, fetched from
    /// `base_url` (a mirror of the original files).
    ///
    /// ```
    /// let src = tensorgraph::datasets::mnist::Source::standard_files("https://example.org/mnist");
    /// assert_eq!(src.files[0].name, "train-images-idx3-ubyte.gz");
    /// ```
    pub fn standard_files(base_url: impl Into<String>) -> Self {
        Source {
            base_url: base_url.into(),
            files: STANDARD_SHA256
                .iter()
                .map(|&(name, sha256)| RemoteFile {
                    name: name.to_owned(),
                    sha256: sha256.to_owned(),
                })
                .collect(),
            max_bytes: MAX_DOWNLOAD_BYTES,
        }
    }
}

impl Default for Source {
    /// The four standard files from [`DEFAULT_BASE_URL`].
    fn default() -> Self {
        Source::standard_files(DEFAULT_BASE_URL)
    }
}

/// Downloads every file of `source` that is not already in `dir` (creating
/// `dir` if needed), like TF's `maybe_download`. Files already present are
/// left alone and not re-hashed; the IDX reader checks their contents.
///
/// A download whose SHA-256 differs from the expected one is an
/// [`Error::BadFile`] naming the file and both digests, and so is one
/// larger than [`Source::max_bytes`]; neither leaves anything behind. A progress bar is drawn on stderr when it is a terminal.
///
/// ```no_run
/// use tensorgraph::datasets::mnist::{maybe_download, Source};
///
/// maybe_download("data/mnist", &Source::default())?;
/// # Ok::<(), tensorgraph::Error>(())
/// ```
pub fn maybe_download(dir: impl AsRef<Path>, source: &Source) -> Result<()> {
    let dir = dir.as_ref();
    let missing: Vec<&RemoteFile> = source
        .files
        .iter()
        .filter(|f| !dir.join(&f.name).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    for file in missing {
        download(&agent, dir, source, file)?;
    }
    Ok(())
}

fn download(agent: &ureq::Agent, dir: &Path, source: &Source, file: &RemoteFile) -> Result<()> {
    let (base_url, max) = (source.base_url.as_str(), source.max_bytes);
    let name = file.name.as_str();
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(Error::InvalidArgument(format!(
            "download: {name:?} is not a plain file name"
        )));
    }
    let url = if base_url.ends_with('/') {
        format!("{base_url}{name}")
    } else {
        format!("{base_url}/{name}")
    };
    let dest = dir.join(name);
    let net_error = |e: std::io::Error| Error::Io {
        path: url.clone(),
        source: e,
    };

    eprintln!("Downloading {url} to {}", dest.display());
    let response = agent.get(&url).call().map_err(|e| net_error(e.into_io()))?;
    let body = response.into_body();
    let too_large = |what: String| Error::BadFile {
        path: dest.display().to_string(),
        reason: format!(
            "download from {url} is larger than the {max} bytes allowed \
             (Source::max_bytes): {what}; the download was discarded"
        ),
    };
    if let Some(announced) = body.content_length().filter(|&n| n > max) {
        return Err(too_large(format!("the server announces {announced} bytes")));
    }
    let bar = progress_bar(body.content_length(), name);
    let mut reader = body.into_reader();

    let part = dir.join(format!(".{name}.{}.part", std::process::id()));
    let mut out = File::create(&part).map_err(|e| io_error(&part, e))?;
    let cleanup = RemoveOnDrop(Some(part.clone()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                bar.abandon();
                return Err(net_error(e));
            }
        };
        total += n as u64;
        if total > max {
            bar.abandon();
            return Err(too_large("the server sent more".into()));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| io_error(&part, e))?;
        bar.inc(n as u64);
    }
    out.sync_all().map_err(|e| io_error(&part, e))?;
    // Closed before the rename, which Windows requires.
    drop(out);

    let got = hex(&hasher.finalize());
    if !got.eq_ignore_ascii_case(&file.sha256) {
        bar.abandon();
        return Err(Error::BadFile {
            path: dest.display().to_string(),
            reason: format!(
                "download from {url} is corrupt: its SHA-256 is {got} but {} was expected; \
                 the download was discarded",
                file.sha256.to_ascii_lowercase()
            ),
        });
    }
    fs::rename(&part, &dest).map_err(|e| io_error(&dest, e))?;
    cleanup.disarm();
    sync_dir(dir)?;
    bar.finish_and_clear();
    eprintln!("Downloaded {name}: {total} bytes, SHA-256 verified");
    Ok(())
}

fn progress_bar(len: Option<u64>, name: &str) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.with_message(name.to_owned())
}

/// Deletes a temporary file when dropped, unless disarmed after the rename.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            // Best effort: the error that got us here is the one to report.
            let _ = fs::remove_file(path);
        }
    }
}

/// Makes the rename durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<()> {
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(dir, e))?;
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
