//! What the checkpoint tests (saver, threads, hostile_inputs) share:
//! scratch directories and a sink that runs out of room.

// Each test crate uses a part of this module.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tensorgraph::train::CheckpointSink;

/// A fresh empty directory for one test of this test crate.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tensorgraph-{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names in `dir`, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What a [`Budgeted`] sink does once its budget is spent.
#[derive(Clone, Copy, Debug)]
pub enum Spent {
    /// Every write fails, like a full disk.
    Fail,
    /// The write never returns (until the process is killed).
    Hang,
}

/// Writes through to `inner` until `budget` bytes are spent, then does
/// what `spent` says: a full disk, or a crash halfway.
pub struct Budgeted<S> {
    pub inner: S,
    pub budget: usize,
    pub spent: Spent,
}

impl<S: Write> Write for Budgeted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            match self.spent {
                Spent::Fail => return Err(io::Error::other("no space left (injected)")),
                Spent::Hang => loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                },
            }
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<S: Seek> Seek for Budgeted<S> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl CheckpointSink for Budgeted<File> {
    fn into_file(self) -> io::Result<File> {
        Ok(self.inner)
    }
}

impl CheckpointSink for Budgeted<BufWriter<File>> {
    fn into_file(self) -> io::Result<File> {
        self.inner.into_file()
    }
}
