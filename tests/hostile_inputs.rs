//! Files made to hurt the readers: `.npz` checkpoints and IDX files whose
//! headers claim far more than the file holds, gzip bombs, lying zip
//! directories, malformed `.npy` headers, trailing data. Every one must be
//! an `Err` naming the file (and the member), never a panic or an abort,
//! and nothing may be allocated beyond what the file holds.
//!
//! The cases that aborted the process (an allocation of what a header
//! claims) run in a child process, this test binary run again on that one
//! test: an abort then fails the test instead of killing the suite. The
//! child also reports its peak RSS (`VmHWM`), which must stay under twice
//! the hostile file's size plus 64 MB.

mod support;

use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::{Compression, Crc};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{scratch, Budgeted, Spent};
use tensorgraph::datasets::mnist::{
    read_data_sets_with, read_idx_images, read_idx_labels, Options, TEST_IMAGES, TEST_LABELS,
    TRAIN_IMAGES, TRAIN_LABELS,
};
use tensorgraph::train::Saver;
use tensorgraph::{feed, DType, Error, Graph, Session};

// ---------------------------------------------------------------- child processes

/// Set in a child process: the test named by `--exact` does its dangerous part.
const CHILD: &str = "TENSORGRAPH_HOSTILE_CHILD";
/// Prefix of the lines a child reports on.
const REPORT: &str = "hostile-report:";

/// What a child process saw.
struct Child {
    /// The message of the `Err` the dangerous part returned.
    message: String,
    /// Everything the child wrote to stderr.
    stderr: String,
}

/// Runs `body` in a child process: returns `Some` of what the child saw in
/// the parent, `None` in the child (which ran `body`). `body` writes the
/// hostile file into the directory it is given, reads it and returns the
/// file's size and the error message. The parent checks that the child
/// exited successfully and that its peak RSS stayed below twice the file's
/// size plus 64 MB.
fn in_child(test: &str, body: impl FnOnce(&Path) -> (u64, String)) -> Option<Child> {
    if std::env::var_os(CHILD).is_some() {
        let dir = scratch(test);
        let (bytes, message) = body(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        // On a line of its own: the harness has printed `test NAME ... `.
        println!();
        println!("{REPORT} file-bytes {bytes}");
        println!("{REPORT} peak-rss {}", peak_rss());
        println!("{REPORT} message {}", message.replace('\n', " "));
        return None;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the child running {test} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let field = |name: &str| {
        let prefix = format!("{REPORT} {name} ");
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("the child running {test} did not report {name}:\n{stdout}"))
            .to_owned()
    };
    let bytes: u64 = field("file-bytes").parse().unwrap();
    let rss: u64 = field("peak-rss").parse().unwrap();
    let bound = 2 * bytes + (64 << 20);
    assert!(
        rss < bound,
        "{test}: peak RSS {rss} bytes reading a {bytes}-byte file (bound {bound})"
    );
    Some(Child {
        message: field("message"),
        stderr,
    })
}

/// This process's peak resident set size in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .map(|v| v.trim().parse().unwrap())
        .expect("VmHWM in /proc/self/status");
    kb << 10
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn bad_file(err: Error) -> (String, String) {
    match err {
        Error::BadFile { path, reason } => (path, reason),
        other => panic!("expected Error::BadFile, got {other:?}"),
    }
}

/// Runs `case` in a child (see [`in_child`]): it writes a hostile file into
/// the directory it is given and reads it, returning the file and the
/// error. That must be an [`Error::BadFile`] naming the file, whose reason
/// holds each of `wanted`.
fn refused_in_child(test: &str, case: impl FnOnce(&Path) -> (PathBuf, Error), wanted: &[&str]) {
    let Some(child) = in_child(test, |dir| {
        let (path, err) = case(dir);
        let (named, reason) = bad_file(err);
        assert_eq!(named, path.display().to_string());
        (file_len(&path), reason)
    }) else {
        return;
    };
    for w in wanted {
        assert!(
            child.message.contains(w),
            "{test}: `{w}` not in: {}",
            child.message
        );
    }
}

// ---------------------------------------------------------------- .npz files

/// A `.npy` file (format 1.0): `header` is the dict, padded as numpy pads it.
fn npy(header: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = header.to_owned();
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(dict.len()).unwrap().to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

/// `{'descr': descr, 'fortran_order': False, 'shape': shape, }`.
fn npy_dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
}

/// One zip member: its name, its bytes and how they are stored.
struct Member {
    name: &'static str,
    data: Vec<u8>,
    deflate: bool,
    /// The uncompressed size the zip headers declare (the truth if `None`).
    declared: Option<u32>,
}

impl Member {
    fn stored(name: &'static str, data: Vec<u8>) -> Member {
        Member {
            name,
            data,
            deflate: false,
            declared: None,
        }
    }
}

/// A zip archive written field by field, so that its sizes can lie.
fn zip(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let mut crc = Crc::new();
        crc.update(&m.data);
        let body = if m.deflate {
            let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
            enc.write_all(&m.data).unwrap();
            enc.finish().unwrap()
        } else {
            m.data.clone()
        };
        let declared = m.declared.unwrap_or(m.data.len() as u32);
        let compressed = if m.deflate {
            body.len() as u32
        } else {
            declared
        };
        let fields = |out: &mut Vec<u8>| {
            for v in [20u16, 0, if m.deflate { 8 } else { 0 }, 0, 0x21] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc.sum(), compressed, declared] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
        };
        let offset = out.len() as u32;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fields(&mut out);
        out.extend_from_slice(m.name.as_bytes());
        out.extend_from_slice(&body);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        fields(&mut central);
        for v in [0u16, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(m.name.as_bytes());
    }
    let (cd_offset, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, members.len() as u16, members.len() as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Restores a saver of one float32 variable `w` of shape [2, 3] from
/// `dir/hostile.npz` holding `bytes`; returns the file and the error.
fn restore_w(dir: &Path, bytes: &[u8]) -> (PathBuf, Error) {
    let path = dir.join("hostile.npz");
    std::fs::write(&path, bytes).unwrap();
    let g = Graph::new();
    let w = g.variable(g.fill([2usize, 3], 0.0, DType::Float32), "w");
    let mut s = Session::new(&g);
    let err = Saver::with_vars(&[w])
        .restore(&mut s, &path)
        .expect_err("a hostile file restored");
    (path, err)
}

/// Restores `w` from an archive of one stored member `w.npy`.
fn restore_member(dir: &Path, header: &str, data: &[u8]) -> (PathBuf, Error) {
    restore_w(dir, &zip(&[Member::stored("w.npy", npy(header, data))]))
}

/// `restore_member` in a child: the message must name the key `w` and
/// hold each of `wanted`.
fn member_refused_in_child(test: &str, header: String, data: Vec<u8>, wanted: &[&str]) {
    let wanted = [&["`w`"], wanted].concat();
    refused_in_child(test, |dir| restore_member(dir, &header, &data), &wanted);
}

#[test]
fn npz_header_claiming_2_pow_33_elements() {
    member_refused_in_child(
        "npz_header_claiming_2_pow_33_elements",
        npy_dict("<f4", "(8589934592,)"),
        vec![0; 24],
        &["8589934592", "34359738368 bytes", "24 bytes"],
    );
}

#[test]
fn npz_header_claiming_2_pow_40_elements() {
    member_refused_in_child(
        "npz_header_claiming_2_pow_40_elements",
        npy_dict("<f4", "(1024, 1024, 1048576)"),
        vec![0; 24],
        &["[1024, 1024, 1048576]", "4398046511104 bytes", "24 bytes"],
    );
}

#[test]
fn npz_header_whose_size_overflows() {
    member_refused_in_child(
        "npz_header_whose_size_overflows",
        npy_dict("<f8", "(4294967296, 4294967296)"),
        vec![0; 24],
        &["[4294967296, 4294967296]", "overflow"],
    );
}

#[test]
fn npz_header_nested_deep() {
    // A recursive parser of the header dict would overflow its stack.
    let shape = format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000));
    let header = npy_dict("<f4", &shape);
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u32 + 1).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.push(b'\n');
    let npz = zip(&[Member::stored("w.npy", bytes)]);
    refused_in_child(
        "npz_header_nested_deep",
        |dir| restore_w(dir, &npz),
        &["`w`", "`shape`"],
    );
}

#[test]
fn npz_header_length_beyond_the_member() {
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    bytes.extend_from_slice(b"{'descr': '<f4'");
    let npz = zip(&[Member::stored("w.npy", bytes)]);
    refused_in_child(
        "npz_header_length_beyond_the_member",
        |dir| restore_w(dir, &npz),
        &["`w`", "4294967280 bytes"],
    );
}

#[test]
fn zip_directory_declaring_4_gb_over_a_small_member() {
    // The npy header agrees with the zip's declared size; only the
    // archive's real length tells the lie.
    let declared = 4_000_000_000u32;
    let header = npy_dict("<f4", &format!("({},)", (declared - 128) / 4));
    let npz = zip(&[Member {
        declared: Some(declared),
        ..Member::stored("w.npy", npy(&header, &[0; 24]))
    }]);
    refused_in_child(
        "zip_directory_declaring_4_gb_over_a_small_member",
        |dir| restore_w(dir, &npz),
        &["`w`", "4000000000 bytes", "260 bytes"],
    );
}

#[test]
fn deflated_member_declaring_far_more_than_it_inflates_to() {
    let n = 250_000_000u32; // 1 GB of float32
    let member = npy(&npy_dict("<f4", &format!("({n},)")), &[0; 24]);
    let npz = zip(&[Member {
        deflate: true,
        declared: Some(member.len() as u32 - 24 + 4 * n),
        ..Member::stored("w.npy", member)
    }]);
    refused_in_child(
        "deflated_member_declaring_far_more_than_it_inflates_to",
        |dir| restore_w(dir, &npz),
        &["`w`", "ends after 24 of the 1000000000 bytes"],
    );
}

#[test]
fn npz_members_with_bad_contents_are_errors() {
    let dir = scratch("npz-contents");
    let cases: Vec<(&str, String, Vec<u8>, &str)> = vec![
        (
            "bool 2",
            npy_dict("|b1", "(2, 3)"),
            vec![0, 1, 2, 0, 1, 0],
            "bool",
        ),
        ("object", npy_dict("|O", "(2, 3)"), vec![0; 48], "|O"),
        ("complex", npy_dict("<c8", "(2, 3)"), vec![0; 48], "<c8"),
        ("short", npy_dict("<f4", "(2, 3)"), vec![0; 23], "24 bytes"),
        ("long", npy_dict("<f4", "(2, 3)"), vec![0; 25], "24 bytes"),
        (
            "no shape",
            "{'descr': '<f4', 'fortran_order': False, }".into(),
            vec![0; 24],
            "shape",
        ),
        ("negative", npy_dict("<f4", "(-2, 3)"), vec![0; 24], "shape"),
        ("not a dict", "[1, 2, 3]".into(), vec![0; 24], "header"),
        (
            "unclosed",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3".into(),
            vec![],
            "header",
        ),
    ];
    for (what, header, data, wanted) in cases {
        let (_, err) = restore_member(&dir, &header, &data);
        let (path, reason) = bad_file(err);
        assert!(path.ends_with("hostile.npz"), "{what}: {path}");
        assert!(
            reason.contains("`w`") && reason.contains(wanted),
            "{what}: `{wanted}` not in: {reason}"
        );
    }
    // Not even the magic number.
    let npz = zip(&[Member::stored("w.npy", b"PK\x03\x04 no npy".to_vec())]);
    let (_, err) = restore_w(&dir, &npz);
    assert!(bad_file(err).1.contains("`w`"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- IDX files

fn be(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// Writes `path`: the gzip of `header` followed by `zeros` zero bytes,
/// streamed (the bomb is never in memory).
fn gzip_bomb(path: &Path, header: &[u8], zeros: u64) {
    let mut enc = GzEncoder::new(
        BufWriter::new(File::create(path).unwrap()),
        Compression::fast(),
    );
    enc.write_all(header).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        enc.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    enc.finish().unwrap().flush().unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// 1.2 GB of zeros: beyond the reader's limit, a few megabytes of gzip.
const BOMB_ZEROS: u64 = 1_200_000_000;

/// Reads, in a child, a gzip bomb: the IDX `header` then [`BOMB_ZEROS`]
/// zeros.
fn bomb_refused_in_child(test: &str, header: &[u32], read: fn(&Path) -> Error, wanted: &[&str]) {
    refused_in_child(
        test,
        |dir| {
            let path = dir.join("bomb.gz");
            gzip_bomb(&path, &be(header), BOMB_ZEROS);
            let err = read(&path);
            (path, err)
        },
        wanted,
    );
}

fn images_error(path: &Path) -> Error {
    // Not `expect_err`: an `Ok` would print every pixel.
    match read_idx_images(path) {
        Ok(images) => panic!("read {} images from a hostile file", images.count),
        Err(e) => e,
    }
}

fn labels_error(path: &Path) -> Error {
    match read_idx_labels(path) {
        Ok(labels) => panic!("read {} labels from a hostile file", labels.len()),
        Err(e) => e,
    }
}

#[test]
fn idx_header_claiming_terabytes() {
    // 60,000 images of 7500x7500: 3.4 TB claimed.
    bomb_refused_in_child(
        "idx_header_claiming_terabytes",
        &[2051, 60_000, 7500, 7500],
        images_error,
        &["60000 images of 7500x7500", "3375000000000 bytes"],
    );
}

#[test]
fn idx_labels_claiming_4_g_over_a_bomb() {
    bomb_refused_in_child(
        "idx_labels_claiming_4_g_over_a_bomb",
        &[2049, u32::MAX],
        labels_error,
        &["4294967295 labels"],
    );
}

#[test]
fn idx_mnist_header_over_a_bomb() {
    // A plausible header: 60,000 28x28 images.
    bomb_refused_in_child(
        "idx_mnist_header_over_a_bomb",
        &[2051, 60_000, 28, 28],
        images_error,
        &["60000 images of 28x28", "1200000016 bytes"],
    );
}

#[test]
fn idx_images_of_the_wrong_size_are_refused_before_reading() {
    // 1.4 million 27x28 images (1.06 GB, under the reader's limit) where
    // MNIST's 28x28 are expected.
    refused_in_child(
        "idx_images_of_the_wrong_size_are_refused_before_reading",
        |dir| {
            let count = 1_400_000u32;
            let images = dir.join(TRAIN_IMAGES);
            let pixels = u64::from(count) * 27 * 28;
            gzip_bomb(&images, &be(&[2051, count, 27, 28]), pixels);
            for (name, bytes) in [
                (TRAIN_LABELS, gzip(&be(&[2049, 0]))),
                (TEST_IMAGES, gzip(&be(&[2051, 0, 28, 28]))),
                (TEST_LABELS, gzip(&be(&[2049, 0]))),
            ] {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
            let opts = Options::new().validation_size(0).offline();
            (images, read_data_sets_with(dir, &opts).unwrap_err())
        },
        &["27x28", "28x28 were expected"],
    );
}

#[test]
fn idx_claims_over_tiny_bodies_are_errors() {
    let dir = scratch("idx-tiny");
    let cases: Vec<(bool, Vec<u8>, &str)> = vec![
        (true, be(&[2049, 1_000_000, 0]), "1000000 labels"),
        (
            false,
            be(&[2051, 100_000, 28, 28, 0]),
            "100000 images of 28x28",
        ),
    ];
    for (labels, raw, wanted) in cases {
        let path = dir.join("tiny.gz");
        std::fs::write(&path, gzip(&raw)).unwrap();
        let err = if labels {
            read_idx_labels(&path).unwrap_err()
        } else {
            read_idx_images(&path).map(|i| i.count).unwrap_err()
        };
        let (p, reason) = bad_file(err);
        assert_eq!(p, path.display().to_string());
        assert!(reason.contains(wanted), "`{wanted}` not in: {reason}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idx_bytes_after_the_gzip_member_are_an_error() {
    let dir = scratch("idx-trailing");
    let good = gzip(&[be(&[2049, 3]), vec![1, 2, 3]].concat());
    let path = dir.join("labels.gz");
    std::fs::write(&path, &good).unwrap();
    assert_eq!(read_idx_labels(&path).unwrap(), vec![1, 2, 3]);
    // The same member twice ends with the trailer a single one would have.
    let twice = [good.clone(), good.clone()].concat();
    let second_member = [good.clone(), gzip(&[4, 5])].concat();
    let garbage = [good.clone(), b"garbage".to_vec()].concat();
    let zeros = [good, vec![0; 4096]].concat();
    for (what, bytes) in [
        ("twice", twice),
        ("member", second_member),
        ("garbage", garbage),
        ("zeros", zeros),
    ] {
        std::fs::write(&path, bytes).unwrap();
        let (_, reason) = bad_file(read_idx_labels(&path).unwrap_err());
        assert!(
            reason.contains("trailing data") && reason.contains("gzip member"),
            "{what}: {reason}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- failed saves

#[test]
fn a_failed_save_prints_nothing() {
    let Some(child) = in_child("a_failed_save_prints_nothing", |dir| {
        let g = Graph::new();
        let _w = g.variable(g.fill([64usize, 64], 1.0, DType::Float32), "w");
        let _b = g.variable(g.fill([64usize], 2.0, DType::Float64), "b");
        let init = g.global_variables_initializer();
        let mut s = Session::new(&g);
        s.run(init, &feed! {}).unwrap();
        let mut saver = Saver::new(&g);
        let mut messages = Vec::new();
        for budget in [0, 1, 30, 100, 1000, 16_000, 16_500] {
            let err = saver
                .save_with(&s, dir.join("m"), Some(1), |inner| Budgeted {
                    inner,
                    budget,
                    spent: Spent::Fail,
                })
                .unwrap_err();
            assert!(
                err.to_string().contains("no space left"),
                "budget {budget}: {err}"
            );
            messages.push(format!("budget {budget}: {err}"));
        }
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "a failed save left files"
        );
        (0, messages.join("; "))
    }) else {
        return;
    };
    assert!(child.message.contains("no space left"), "{}", child.message);
    assert_eq!(child.stderr, "", "a failed save wrote to stderr");
}
