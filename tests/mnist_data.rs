//! Tests of `tensorgraph::datasets::mnist`: the IDX reader on generated
//! files (valid and broken), `DataSet::next_batch` against TF's epoch
//! semantics, the download path against a local HTTP server, and the real
//! MNIST files from `$MNIST_DIR` (default `../shared/mnist`).

mod common;

use flate2::write::GzEncoder;
use flate2::Compression;
use ndarray::Array2;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use tensorgraph::datasets::mnist::{
    self, read_data_sets_with, read_idx_images, read_idx_labels, DataSet, Options, RemoteFile,
    Source, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
};
use tensorgraph::Error;

// ---------------------------------------------------------------- helpers

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "tensorgraph-mnist-{}-{tag}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write test file");
        p
    }

    fn names(&self) -> BTreeSet<String> {
        std::fs::read_dir(&self.0)
            .expect("read temp dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

fn be(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// Uncompressed IDX images: image `i` has every pixel equal to `(i * 7 + k) % 256`
/// for pixel index `k`, so each image is recognisable from its first pixel.
fn idx_images(count: usize, rows: usize, cols: usize) -> Vec<u8> {
    let mut out = be(&[2051, count as u32, rows as u32, cols as u32]);
    for i in 0..count {
        out.extend((0..rows * cols).map(|k| ((i * 7 + k) % 256) as u8));
    }
    out
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = be(&[2049, labels.len() as u32]);
    out.extend_from_slice(labels);
    out
}

fn digits(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 10) as u8).collect()
}

/// The four generated files of a small MNIST: 12 training and 4 test examples.
fn small_mnist() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (TRAIN_IMAGES, gzip(&idx_images(12, 28, 28))),
        (TRAIN_LABELS, gzip(&idx_labels(&digits(12)))),
        (TEST_IMAGES, gzip(&idx_images(4, 28, 28))),
        (TEST_LABELS, gzip(&idx_labels(&[3, 1, 4, 1]))),
    ]
}

fn write_small_mnist(dir: &TempDir) {
    for (name, bytes) in small_mnist() {
        dir.write(name, &bytes);
    }
}

fn bad_file_reason(err: Error) -> (String, String) {
    match err {
        Error::BadFile { path, reason } => (path, reason),
        other => panic!("expected Error::BadFile, got {other:?}"),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------- IDX reader

#[test]
fn idx_reader_roundtrips_generated_files() {
    let dir = TempDir::new("roundtrip");
    let raw = idx_images(3, 4, 5);
    let p = dir.write("img.gz", &gzip(&raw));
    let images = read_idx_images(&p).unwrap();
    assert_eq!((images.count, images.rows, images.cols), (3, 4, 5));
    assert_eq!(images.pixels, raw[16..]);

    let p = dir.write("lab.gz", &gzip(&idx_labels(&[9, 0, 200])));
    assert_eq!(read_idx_labels(&p).unwrap(), vec![9, 0, 200]);

    let p = dir.write("empty.gz", &gzip(&idx_labels(&[])));
    assert_eq!(read_idx_labels(&p).unwrap(), Vec::<u8>::new());
}

#[test]
fn idx_reader_rejects_truncated_payload() {
    let dir = TempDir::new("trunc");
    let mut raw = idx_images(3, 28, 28);
    raw.truncate(raw.len() - 10);
    let p = dir.write("img.gz", &gzip(&raw));
    let (path, reason) = bad_file_reason(read_idx_images(&p).unwrap_err());
    assert_eq!(path, p.display().to_string());
    assert!(reason.contains("truncated"), "{reason}");
    assert!(reason.contains("3 images of 28x28"), "{reason}");

    let p = dir.write("hdr.gz", &gzip(&be(&[2051, 3])));
    let (_, reason) = bad_file_reason(read_idx_images(&p).unwrap_err());
    assert!(reason.contains("truncated"), "{reason}");

    let p = dir.write("lab.gz", &gzip(&be(&[2049, 5, 0])));
    let (_, reason) = bad_file_reason(read_idx_labels(&p).unwrap_err());
    assert!(
        reason.contains("5 labels") && reason.contains("truncated"),
        "{reason}"
    );
}

#[test]
fn idx_reader_rejects_truncated_gzip_stream() {
    let dir = TempDir::new("truncgz");
    let gz = gzip(&idx_images(20, 28, 28));
    for cut in [gz.len() - 4, gz.len() / 2, 12] {
        let p = dir.write("img.gz", &gz[..cut]);
        let (_, reason) = bad_file_reason(read_idx_images(&p).unwrap_err());
        assert!(
            reason.contains("truncated") || reason.contains("gzip"),
            "cut at {cut}: {reason}"
        );
    }
}

#[test]
fn idx_reader_rejects_bad_magic_and_swapped_files() {
    let dir = TempDir::new("magic");
    let labels = dir.write("lab.gz", &gzip(&idx_labels(&[1, 2, 3])));
    let (_, reason) = bad_file_reason(read_idx_images(&labels).unwrap_err());
    assert!(reason.contains("IDX labels file"), "{reason}");
    assert!(reason.contains("images (magic 2051)"), "{reason}");

    let images = dir.write("img.gz", &gzip(&idx_images(1, 28, 28)));
    let (_, reason) = bad_file_reason(read_idx_labels(&images).unwrap_err());
    assert!(reason.contains("IDX images file"), "{reason}");

    let mut raw = idx_images(1, 28, 28);
    raw[..4].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    let p = dir.write("junk.gz", &gzip(&raw));
    let (_, reason) = bad_file_reason(read_idx_images(&p).unwrap_err());
    assert!(reason.contains("bad magic number 0x12345678"), "{reason}");
}

#[test]
fn idx_reader_rejects_corrupt_or_non_gzip_data() {
    let dir = TempDir::new("corrupt");
    // An uncompressed IDX file is not what MNIST ships.
    let p = dir.write("plain.gz", &idx_images(2, 28, 28));
    let (_, reason) = bad_file_reason(read_idx_images(&p).unwrap_err());
    assert!(reason.contains("gzip"), "{reason}");

    // Damage inside the deflate stream or the CRC trailer.
    let gz = gzip(&idx_images(5, 28, 28));
    for at in [gz.len() / 2, gz.len() - 6] {
        let mut bad = gz.clone();
        bad[at] ^= 0x5a;
        let p = dir.write("bad.gz", &bad);
        let (_, reason) = bad_file_reason(read_idx_images(&p).unwrap_err());
        assert!(reason.contains("gzip"), "flip at {at}: {reason}");
    }

    let mut raw = idx_labels(&[1, 2]);
    raw.push(7);
    let p = dir.write("trailing.gz", &gzip(&raw));
    let (_, reason) = bad_file_reason(read_idx_labels(&p).unwrap_err());
    assert!(reason.contains("trailing data"), "{reason}");

    let missing = dir.path().join("nope.gz");
    match read_idx_labels(&missing).unwrap_err() {
        Error::Io { path, source } => {
            assert_eq!(path, missing.display().to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

// ---------------------------------------------------------------- read_data_sets

#[test]
fn read_data_sets_splits_like_tf() {
    let dir = TempDir::new("split");
    write_small_mnist(&dir);
    let opts = Options::new().one_hot(true).validation_size(3).offline();
    let data = read_data_sets_with(dir.path(), &opts).unwrap();
    assert_eq!(data.train.num_examples(), 9);
    assert_eq!(data.validation.num_examples(), 3);
    assert_eq!(data.test.num_examples(), 4);
    // TF holds out the first examples.
    assert_eq!(data.validation.class_ids(), &[0, 1, 2]);
    assert_eq!(data.train.class_ids(), &[3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert_eq!(data.test.class_ids(), &[3, 1, 4, 1]);
    assert_eq!(data.train.raw_images()[[0, 0]], 21); // image 3: 3 * 7
    assert_eq!(data.train.images().dim(), (9, 784));
    assert_eq!(data.train.images()[[0, 1]], 22.0 * (1.0f64 / 255.0) as f32);
    let labels = data.test.labels();
    assert_eq!(labels.dim(), (4, 10));
    assert_eq!(labels.row(2).to_vec(), {
        let mut r = vec![0.0; 10];
        r[4] = 1.0;
        r
    });

    let ids = read_data_sets_with(dir.path(), &Options::new().validation_size(5).offline());
    let ids = ids.unwrap();
    assert_eq!(ids.train.num_examples(), 7);
    assert_eq!(ids.test.labels().dim(), (4, 1));
    assert_eq!(
        ids.test.labels().column(0).to_vec(),
        vec![3.0, 1.0, 4.0, 1.0]
    );
}

#[test]
fn read_data_sets_checks_files_belong_together() {
    let dir = TempDir::new("pairs");
    write_small_mnist(&dir);
    let opts = Options::new().validation_size(2).offline();

    let too_big = Options::new().validation_size(13).offline();
    match read_data_sets_with(dir.path(), &too_big).unwrap_err() {
        Error::InvalidArgument(m) => assert!(m.contains("between 0 and 12, got 13"), "{m}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }

    dir.write(TRAIN_LABELS, &gzip(&idx_labels(&digits(11))));
    let (path, reason) = bad_file_reason(read_data_sets_with(dir.path(), &opts).unwrap_err());
    assert!(path.ends_with(TRAIN_LABELS), "{path}");
    assert!(
        reason.contains("11 labels") && reason.contains("12 images"),
        "{reason}"
    );

    let mut labels = digits(12);
    labels[7] = 10;
    dir.write(TRAIN_LABELS, &gzip(&idx_labels(&labels)));
    let (_, reason) = bad_file_reason(read_data_sets_with(dir.path(), &opts).unwrap_err());
    assert!(reason.contains("label 7 is 10"), "{reason}");

    dir.write(TRAIN_LABELS, &gzip(&idx_labels(&digits(12))));
    dir.write(TEST_IMAGES, &gzip(&idx_images(4, 27, 28)));
    let (path, reason) = bad_file_reason(read_data_sets_with(dir.path(), &opts).unwrap_err());
    assert!(path.ends_with(TEST_IMAGES), "{path}");
    assert!(reason.contains("27x28"), "{reason}");

    // Labels passed where images belong.
    dir.write(TEST_IMAGES, &gzip(&idx_labels(&[3, 1, 4, 1])));
    let (_, reason) = bad_file_reason(read_data_sets_with(dir.path(), &opts).unwrap_err());
    assert!(reason.contains("IDX labels file"), "{reason}");

    std::fs::remove_file(dir.path().join(TEST_IMAGES)).unwrap();
    match read_data_sets_with(dir.path(), &opts).unwrap_err() {
        Error::Io { path, .. } => assert!(path.ends_with(TEST_IMAGES), "{path}"),
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

// ---------------------------------------------------------------- next_batch

/// Ten examples whose label is their index and whose pixels are `10 * index`.
fn ten(seed: u64, one_hot: bool) -> DataSet {
    let images = Array2::from_shape_fn((10, 784), |(i, _)| (10 * i) as u8);
    DataSet::new(images, (0..10).collect(), one_hot, seed).unwrap()
}

/// The example indices of a batch (labels are indices), checking that each
/// image row belongs to its label.
fn batch_ids(set: &mut DataSet, n: usize) -> Vec<usize> {
    let (x, y) = set.next_batch(n);
    assert_eq!(x.dim(), (n, 784));
    assert_eq!(y.dim(), (n, 1));
    (0..n)
        .map(|r| {
            let id = y[[r, 0]] as usize;
            let want = (10 * id) as f32 * (1.0f64 / 255.0) as f32;
            assert!(
                x.row(r).iter().all(|&p| p == want),
                "row {r} is not image {id}"
            );
            id
        })
        .collect()
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

#[test]
fn next_batch_follows_tf_epoch_semantics() {
    let mut set = ten(3, false);
    let mut epoch0 = Vec::new();
    for _ in 0..3 {
        epoch0.extend(batch_ids(&mut set, 3));
        assert_eq!(set.epochs_completed(), 0);
    }
    // The 10th example of epoch 0, then the first two of the reshuffled epoch 1.
    let straddle = batch_ids(&mut set, 3);
    assert_eq!(set.epochs_completed(), 1);
    epoch0.push(straddle[0]);
    assert_eq!(sorted(epoch0.clone()), (0..10).collect::<Vec<_>>());
    assert_ne!(
        epoch0,
        (0..10).collect::<Vec<_>>(),
        "first epoch not shuffled"
    );

    let mut epoch1 = straddle[1..].to_vec();
    epoch1.extend(batch_ids(&mut set, 4));
    epoch1.extend(batch_ids(&mut set, 4));
    assert_eq!(
        set.epochs_completed(),
        1,
        "epoch 1 ended exactly; not yet counted"
    );
    assert_eq!(sorted(epoch1.clone()), (0..10).collect::<Vec<_>>());
    assert_ne!(epoch1, epoch0, "epoch 1 not reshuffled");

    // An exactly exhausted epoch is counted by the next call, which is all
    // new-epoch examples.
    let epoch2 = batch_ids(&mut set, 10);
    assert_eq!(set.epochs_completed(), 2);
    assert_eq!(sorted(epoch2), (0..10).collect::<Vec<_>>());
}

#[test]
fn next_batch_is_deterministic_per_seed() {
    let run = |seed| {
        let mut set = ten(seed, false);
        (0..12)
            .flat_map(|_| batch_ids(&mut set, 7))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn next_batch_one_hot_labels_match_images() {
    let mut set = ten(5, true);
    let (x, y) = set.next_batch(10);
    assert_eq!(y.dim(), (10, 10));
    for r in 0..10 {
        let row = y.row(r);
        assert_eq!(row.sum(), 1.0);
        let id = row.iter().position(|&v| v == 1.0).unwrap();
        assert_eq!(x[[r, 0]], (10 * id) as f32 * (1.0f64 / 255.0) as f32);
    }
    assert_eq!(set.images()[[9, 0]], 90.0 * (1.0f64 / 255.0) as f32);
    assert_eq!(set.labels().dim(), (10, 10));
}

#[test]
fn data_set_rejects_inconsistent_parts() {
    let err = DataSet::new(Array2::zeros((3, 784)), vec![1, 2], true, 0).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let err = DataSet::new(Array2::zeros((2, 784)), vec![1, 12], true, 0).unwrap_err();
    assert!(err.to_string().contains("label 12 at index 1"), "{err}");
}

#[test]
#[should_panic(expected = "more than the 10 examples")]
fn next_batch_larger_than_the_set_panics() {
    ten(0, true).next_batch(11);
}

// ---------------------------------------------------------------- download

/// How the test server departs from a plain HTTP/1.1 answer.
#[derive(Clone, Copy, PartialEq)]
enum Quirk<'a> {
    None,
    /// This file's body is cut off after half its length.
    ShortBody(&'a str),
    /// No `Content-Length`: the body runs until the connection closes.
    NoLength,
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 that answers exactly
/// `requests` requests (each on its own connection) from `files`, 404 for
/// other paths, and returns the requested paths when joined.
fn serve(
    files: HashMap<String, Vec<u8>>,
    requests: usize,
    quirk: Quirk,
) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/mnist/", listener.local_addr().expect("addr"));
    let short_body = match quirk {
        Quirk::ShortBody(name) => Some(name.to_owned()),
        _ => None,
    };
    let no_length = quirk == Quirk::NoLength;
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).expect("read request");
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            let name = path.strip_prefix("/mnist/").unwrap_or("");
            match files.get(name) {
                Some(body) => {
                    let sent = if short_body.as_deref() == Some(name) {
                        &body[..body.len() / 2]
                    } else {
                        &body[..]
                    };
                    let length = if no_length {
                        String::new()
                    } else {
                        format!("Content-Length: {}\r\n", body.len())
                    };
                    let _ = write!(
                        conn,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-gzip\r\n\
                         {length}Connection: close\r\n\r\n"
                    );
                    let _ = conn.write_all(sent);
                }
                None => {
                    let _ = conn.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
            seen.push(path);
        }
        seen
    });
    (base, handle)
}

/// The generated files and a `Source` listing them with their true digests.
fn small_source(base: &str) -> Source {
    Source {
        base_url: base.to_owned(),
        files: small_mnist()
            .into_iter()
            .map(|(name, bytes)| RemoteFile {
                name: name.to_owned(),
                sha256: sha256_hex(&bytes),
            })
            .collect(),
        max_bytes: mnist::MAX_DOWNLOAD_BYTES,
    }
}

fn small_files() -> HashMap<String, Vec<u8>> {
    small_mnist()
        .into_iter()
        .map(|(n, b)| (n.to_owned(), b))
        .collect()
}

fn requested(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| format!("/mnist/{n}")).collect()
}

#[test]
fn download_fetches_all_files_into_a_new_directory() {
    let dir = TempDir::new("dl");
    let files = small_files();
    let (base, server) = serve(files.clone(), 4, Quirk::None);
    let opts = Options::new()
        .validation_size(2)
        .source(small_source(&base));
    let target = dir.path().join("nested").join("mnist");
    let data = read_data_sets_with(&target, &opts).unwrap();
    let seen = server.join().expect("server");
    assert_eq!(
        seen.into_iter().collect::<BTreeSet<_>>(),
        requested(&[TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS])
    );
    assert_eq!(data.train.num_examples(), 10);
    assert_eq!(data.test.class_ids(), &[3, 1, 4, 1]);
    for (name, bytes) in &files {
        assert_eq!(&std::fs::read(target.join(name)).unwrap(), bytes, "{name}");
    }
    assert_eq!(
        std::fs::read_dir(&target).unwrap().count(),
        4,
        "temp files left"
    );

    // Everything present: no request is made (nothing listens any more).
    let again = read_data_sets_with(&target, &opts).unwrap();
    assert_eq!(again.test.num_examples(), 4);
}

#[test]
fn download_fetches_only_missing_files() {
    let dir = TempDir::new("dlsome");
    let files = small_files();
    dir.write(TEST_LABELS, &files[TEST_LABELS]);
    dir.write(TRAIN_LABELS, &files[TRAIN_LABELS]);
    let (base, server) = serve(files, 2, Quirk::None);
    mnist::maybe_download(dir.path(), &small_source(&base)).unwrap();
    let seen = server.join().expect("server");
    assert_eq!(
        seen.into_iter().collect::<BTreeSet<_>>(),
        requested(&[TRAIN_IMAGES, TEST_IMAGES])
    );
    assert_eq!(dir.names().len(), 4, "{:?}", dir.names());
}

#[test]
fn download_rejects_a_corrupted_file_and_leaves_nothing() {
    let dir = TempDir::new("dlbad");
    let mut files = small_files();
    let source_digests = small_source("unused");
    files.get_mut(TRAIN_IMAGES).unwrap()[100] ^= 1;
    let (base, server) = serve(files.clone(), 1, Quirk::None);
    let source = Source {
        base_url: base,
        ..source_digests
    };
    let err = mnist::maybe_download(dir.path(), &source).unwrap_err();
    server.join().expect("server");
    let (path, reason) = bad_file_reason(err);
    assert!(path.ends_with(TRAIN_IMAGES), "{path}");
    let expected = &source.files[0].sha256;
    let got = sha256_hex(&files[TRAIN_IMAGES]);
    assert!(
        reason.contains(expected.as_str()) && reason.contains(&got),
        "{reason}"
    );
    assert!(reason.contains("discarded"), "{reason}");
    assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());
}

#[test]
fn download_failures_leave_nothing_behind() {
    let dir = TempDir::new("dlfail");
    let mut files = small_files();
    files.remove(TRAIN_IMAGES);
    let (base, server) = serve(files, 1, Quirk::None);
    let source = small_source(&base);
    match mnist::maybe_download(dir.path(), &source).unwrap_err() {
        Error::Io { path, source } => {
            assert!(path.starts_with("http://127.0.0.1") && path.ends_with(TRAIN_IMAGES));
            assert!(source.to_string().contains("404"), "{source}");
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
    server.join().expect("server");
    assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());

    // The connection closes halfway through the body.
    let (base, server) = serve(small_files(), 1, Quirk::ShortBody(TRAIN_IMAGES));
    let err = mnist::maybe_download(dir.path(), &small_source(&base)).unwrap_err();
    server.join().expect("server");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());

    let evil = Source {
        base_url: "http://127.0.0.1:9/".into(),
        files: vec![RemoteFile {
            name: "../escape.gz".into(),
            sha256: String::new(),
        }],
        max_bytes: mnist::MAX_DOWNLOAD_BYTES,
    };
    assert!(matches!(
        mnist::maybe_download(dir.path(), &evil).unwrap_err(),
        Error::InvalidArgument(_)
    ));
}

#[test]
fn download_refuses_files_above_max_bytes() {
    let dir = TempDir::new("dlcap");
    let files = small_files();
    let size = files[TRAIN_IMAGES].len() as u64;
    for quirk in [Quirk::None, Quirk::NoLength] {
        let (base, server) = serve(files.clone(), 1, quirk);
        let source = Source {
            max_bytes: size - 1,
            ..small_source(&base)
        };
        let err = mnist::maybe_download(dir.path(), &source).unwrap_err();
        server.join().expect("server");
        let (path, reason) = bad_file_reason(err);
        assert!(path.ends_with(TRAIN_IMAGES), "{path}");
        assert!(
            reason.contains(&format!("{} bytes allowed", size - 1)),
            "{reason}"
        );
        let said = if quirk == Quirk::None {
            format!("announces {size} bytes")
        } else {
            "sent more".to_owned()
        };
        assert!(reason.contains(&said), "{reason}");
        assert!(dir.names().is_empty(), "left behind: {:?}", dir.names());
    }
    // Exactly the limit is fine, with or without a length.
    for quirk in [Quirk::None, Quirk::NoLength] {
        let (base, server) = serve(files.clone(), 4, quirk);
        let source = Source {
            max_bytes: size,
            ..small_source(&base)
        };
        mnist::maybe_download(dir.path(), &source).unwrap();
        server.join().expect("server");
        assert_eq!(dir.names().len(), 4);
        for name in dir.names() {
            std::fs::remove_file(dir.path().join(name)).unwrap();
        }
    }
}

// ---------------------------------------------------------------- real MNIST

#[test]
fn real_mnist_has_the_known_sizes_and_facts() {
    let Some(dir) = common::real_mnist_dir("the real-MNIST reader test") else {
        return;
    };
    let opts = Options::new().one_hot(true).seed(1).offline();
    let mut data = read_data_sets_with(&dir, &opts).unwrap();
    assert_eq!(data.train.num_examples(), 55_000);
    assert_eq!(data.validation.num_examples(), 5_000);
    assert_eq!(data.test.num_examples(), 10_000);

    // The validation set is the first 5,000 training examples (as in TF).
    assert_eq!(
        &data.validation.class_ids()[..10],
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    );
    // ... and train starts at file example 5,000.
    assert_eq!(
        &data.train.class_ids()[..10],
        &[7, 3, 4, 6, 1, 8, 1, 0, 9, 8]
    );
    assert_eq!(
        &data.test.class_ids()[..10],
        &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    );
    let first: u32 = data
        .validation
        .raw_images()
        .row(0)
        .iter()
        .map(|&p| u32::from(p))
        .sum();
    assert_eq!(first, 27_525);

    let mut counts = [0usize; 10];
    for &l in data
        .train
        .class_ids()
        .iter()
        .chain(data.validation.class_ids())
    {
        counts[usize::from(l)] += 1;
    }
    assert_eq!(
        counts,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );

    let test_x = data.test.images();
    assert_eq!(test_x.dim(), (10_000, 784));
    let (lo, hi) = test_x
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
    let mean = test_x.iter().map(|&v| f64::from(v)).sum::<f64>() / test_x.len() as f64;
    assert!(
        (mean * 255.0 - 33.791).abs() < 1e-3,
        "mean pixel {}",
        mean * 255.0
    );
    assert_eq!(data.test.labels().row(0)[7], 1.0);

    let (x, y) = data.train.next_batch(128);
    assert_eq!((x.dim(), y.dim()), ((128, 784), (128, 10)));
    assert!(y.rows().into_iter().all(|r| r.sum() == 1.0));
}
