//! Checkpoints: variable values saved by name to a NumPy `.npz` file
//! (`np.load("model.ckpt-1000.npz")["layer1/W"]` reads one), plus a small
//! `checkpoint` index file as TF's. A save never destroys the last good
//! checkpoint: each file is written to a temporary file of its own in the
//! same directory, flushed, synced and renamed over the target (then the
//! directory is synced), so a crash leaves the old file or the new one,
//! and saves on several threads or processes never share a temporary file.
//! Savers sharing a directory update its index under a lock, so the index
//! only ever names files that exist.

use super::npz::{write_npz, NpzFile};
use crate::error::{Error, Result};
use crate::graph::{Graph, Tensor};
use crate::session::Session;
use crate::value::Value;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The name of the index file in a checkpoint directory.
const INDEX: &str = "checkpoint";

/// A temporary file of target `NAME` is `.NAME.XXXXXX.tmp` (six random
/// letters and digits).
const TEMP_SUFFIX: &str = ".tmp";
const TEMP_RANDOM: usize = 6;

/// Where a checkpoint's bytes go: the temporary file, possibly wrapped
/// (buffering; fault injection in tests). `into_file` flushes and
/// returns the file so it can be synced.
pub trait CheckpointSink: Write + Seek {
    /// Flushes and gives back the underlying file.
    fn into_file(self) -> std::io::Result<File>;
}

impl CheckpointSink for File {
    fn into_file(self) -> std::io::Result<File> {
        Ok(self)
    }
}

impl CheckpointSink for BufWriter<File> {
    fn into_file(self) -> std::io::Result<File> {
        self.into_inner().map_err(|e| e.into_error())
    }
}

/// `tf.train.Saver`: saves and restores a set of variables, keyed by
/// variable name.
///
/// Saves may run on several threads or processes at once, even to the
/// same path: each writes its own temporary file `.NAME.XXXXXX.tmp`, held
/// under an exclusive lock (`File::lock`) until it is renamed into place.
/// A temporary file left by a save that died (unlocked, not empty) is
/// removed by the next save of the same target. Savers sharing a directory
/// rewrite its `checkpoint` index and delete the checkpoints beyond
/// `max_to_keep` under an exclusive lock on the directory (Unix): the index
/// lists only files that exist, and a reader that takes a shared lock on
/// the directory sees every file it names.
///
/// ```
/// use tensorgraph::{feed, train::{latest_checkpoint, Saver}, DType, Graph, Session};
/// let dir = std::env::temp_dir().join(format!("tg-saver-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let g = Graph::new();
/// let w = g.variable(g.fill([2usize], 3.0, DType::Float32), "w");
/// let init = g.global_variables_initializer();
/// let mut saver = Saver::new(&g);
/// let mut s = Session::new(&g);
/// s.run(init, &feed! {}).unwrap();
/// let path = saver.save(&s, dir.join("model.ckpt"), Some(100)).unwrap();
/// assert!(path.ends_with("model.ckpt-100.npz"));
/// assert_eq!(latest_checkpoint(&dir).unwrap(), Some(path.clone()));
///
/// let mut fresh = Session::new(&g); // no initializer needed after restore
/// saver.restore(&mut fresh, &path).unwrap();
/// assert_eq!(fresh.run(w, &feed! {}).unwrap().into_array::<f32>().unwrap().into_raw_vec_and_offset().0, vec![3.0, 3.0]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct Saver {
    vars: Vec<(String, Tensor)>,
    max_to_keep: usize,
    /// The checkpoints this saver wrote and still keeps, oldest first,
    /// each with the identity of the file it wrote.
    kept: Vec<(PathBuf, FileId)>,
}

impl Saver {
    /// A saver of every variable of `g` (as `tf.train.Saver()`), keeping
    /// the 5 most recent checkpoints.
    pub fn new(g: &Graph) -> Saver {
        Saver::with_vars(&g.global_variables())
    }

    /// A saver of the given variables only (`tf.train.Saver(var_list)`).
    ///
    /// # Panics
    /// When two of them have the same name.
    pub fn with_vars(vars: &[Tensor]) -> Saver {
        let mut named: Vec<(String, Tensor)> = vars.iter().map(|&v| (v.name(), v)).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = named.windows(2).find(|w| w[0].0 == w[1].0) {
            panic!("Saver: two variables are named `{}`", w[0].0);
        }
        Saver {
            vars: named,
            max_to_keep: 5,
            kept: Vec::new(),
        }
    }

    /// TF's `max_to_keep`: how many recent checkpoints this saver keeps
    /// (older ones it wrote are deleted); 0 keeps all.
    pub fn max_to_keep(mut self, n: usize) -> Saver {
        self.max_to_keep = n;
        self
    }

    /// `saver.save(sess, save_path, global_step)`: writes
    /// `{save_path}-{global_step}.npz` (or `{save_path}.npz`), updates the
    /// directory's `checkpoint` index and deletes checkpoints beyond
    /// `max_to_keep`. Returns the path written.
    ///
    /// # Errors
    /// I/O errors and uninitialised variables; the previous checkpoint is
    /// then left as it was.
    pub fn save(
        &mut self,
        sess: &Session<'_>,
        save_path: impl AsRef<Path>,
        global_step: Option<i64>,
    ) -> Result<PathBuf> {
        self.save_with(sess, save_path, global_step, BufWriter::new)
    }

    /// [`Saver::save`], writing through `wrap(temporary file)`.
    ///
    /// # Errors
    /// As [`Saver::save`].
    pub fn save_with<S: CheckpointSink>(
        &mut self,
        sess: &Session<'_>,
        save_path: impl AsRef<Path>,
        global_step: Option<i64>,
        wrap: impl FnOnce(File) -> S,
    ) -> Result<PathBuf> {
        let save_path = save_path.as_ref();
        let base = save_path
            .file_name()
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "save path {} has no file name",
                    save_path.display()
                ))
            })?
            .to_string_lossy()
            .into_owned();
        let file_name = match global_step {
            Some(s) => format!("{base}-{s}.npz"),
            None => format!("{base}.npz"),
        };
        let dir = parent_dir(save_path);
        let target = dir.join(&file_name);
        let values = self.values(sess)?;
        let staged = stage(&target, |file| write_npz(wrap(file), &values)?.into_file())?;
        // The rename, the index and the deletions happen under the
        // directory's lock, so no other saver deletes this file between
        // its rename and the index that names it.
        let _lock = lock_dir(&dir).map_err(|e| io(&dir, e))?;
        let written = staged.commit()?;
        self.kept.retain(|(p, _)| p != &target);
        self.kept.push((target.clone(), written));
        // Another saver sharing the names may have replaced or deleted
        // some: they are no longer this saver's to list or delete.
        self.kept
            .retain(|(p, id)| FileId::of(p).as_ref() == Some(id));
        let mut doomed = Vec::new();
        if self.max_to_keep > 0 && self.kept.len() > self.max_to_keep {
            let n = self.kept.len() - self.max_to_keep;
            doomed = self.kept.drain(..n).collect();
        }
        // The index that named the doomed files is replaced before they go.
        self.write_index(&dir)?;
        for (old, _) in doomed {
            match std::fs::remove_file(&old) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&old, e)),
                _ => {}
            }
        }
        Ok(target)
    }

    /// The values to save, by name; every variable must be initialised.
    fn values(&self, sess: &Session<'_>) -> Result<Vec<(String, Value)>> {
        self.vars
            .iter()
            .map(|(name, v)| Ok((name.clone(), sess.variable_value(*v)?)))
            .collect()
    }

    /// Rewrites `dir/checkpoint`: the latest checkpoint, then all kept
    /// (under the directory's lock, with every kept file present).
    fn write_index(&self, dir: &Path) -> Result<()> {
        let rel = |p: &Path| -> String {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let mut text = String::new();
        if let Some((last, _)) = self.kept.last() {
            text.push_str(&format!("model_checkpoint_path: {:?}\n", rel(last)));
        }
        for (p, _) in &self.kept {
            text.push_str(&format!("all_model_checkpoint_paths: {:?}\n", rel(p)));
        }
        stage(&dir.join(INDEX), |mut f| {
            f.write_all(text.as_bytes())?;
            Ok(f)
        })?
        .commit()
        .map(drop)
    }

    /// `saver.restore(sess, path)`: sets every variable of the saver from
    /// the file. Nothing is changed unless every variable is present with
    /// its dtype and shape.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened; [`Error::BadFile`]
    /// when it is not a readable `.npz` (an array whose header claims more
    /// than the file holds is refused before anything is allocated for it)
    /// or does not match the variables (the message lists every missing
    /// name and every dtype or shape that differs).
    pub fn restore(&self, sess: &mut Session<'_>, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| io(path, e))?;
        self.restore_from(sess, file, &path.display().to_string())
    }

    /// [`Saver::restore`] from any reader; `label` names it in errors.
    ///
    /// # Errors
    /// As [`Saver::restore`].
    pub fn restore_from<R: Read + Seek>(
        &self,
        sess: &mut Session<'_>,
        reader: R,
        label: &str,
    ) -> Result<()> {
        let bad = |reason: String| Error::BadFile {
            path: label.to_string(),
            reason,
        };
        let mut npz = NpzFile::new(reader, label)?;
        let names = npz.names();
        let mut problems = Vec::new();
        let mut loaded = Vec::with_capacity(self.vars.len());
        for (name, var) in &self.vars {
            if !names.contains(name) {
                problems.push(format!("`{name}` is missing"));
                continue;
            }
            let spec = var.spec();
            let value = npz.read(name)?;
            if value.dtype() != spec.dtype {
                problems.push(format!(
                    "`{name}` is {} in the file but {} in the graph",
                    value.dtype(),
                    spec.dtype
                ));
            } else if !spec.shape.is_compatible_with(value.shape()) {
                problems.push(format!(
                    "`{name}` has shape {} in the file but {} in the graph",
                    crate::dtype::fmt_dims(value.shape()),
                    spec.shape
                ));
            } else {
                loaded.push((*var, value));
            }
        }
        if !problems.is_empty() {
            return Err(bad(format!(
                "does not match the variables: {}",
                problems.join("; ")
            )));
        }
        for (var, value) in loaded {
            sess.set_variable(var, value)?;
        }
        Ok(())
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A file written to a temporary file beside its target (flushed and
/// synced, locked until renamed), waiting to replace the target.
struct Staged {
    tmp: tempfile::TempPath,
    /// Open, so its lock is held until the rename.
    file: File,
    target: PathBuf,
}

/// Writes `target`'s future contents with `write` into a temporary file
/// in the same directory, removing temporary files that crashed saves of
/// the same target left behind.
fn stage(target: &Path, write: impl FnOnce(File) -> std::io::Result<File>) -> Result<Staged> {
    let dir = parent_dir(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    remove_stale_temps(&dir, &prefix);
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(TEMP_RANDOM);
    // As `File::create` would make it (tempfile's default is owner-only).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let staged = builder.tempfile_in(&dir).and_then(|tmp| {
        let (file, tmp) = tmp.into_parts();
        // Locked until the temporary file is renamed or removed (the lock
        // goes with the descriptor): a locked temporary file is a save in
        // progress, never stale. `tmp` removes the file if anything fails.
        file.lock()?;
        let file = write(file)?;
        file.sync_all()?;
        Ok((tmp, file))
    });
    let (tmp, file) = staged.map_err(|e| io(target, e))?;
    Ok(Staged {
        tmp,
        file,
        target: target.to_path_buf(),
    })
}

impl Staged {
    /// Renames the temporary file over the target and syncs the
    /// directory; returns the identity of the file now at the target.
    fn commit(self) -> Result<FileId> {
        let Staged { tmp, file, target } = self;
        tmp.persist(&target).map_err(|e| io(&target, e.error))?;
        drop(file);
        let dir = parent_dir(&target);
        sync_dir(&dir).map_err(|e| io(&dir, e))?;
        FileId::of(&target).ok_or_else(|| {
            io(
                &target,
                std::io::Error::new(std::io::ErrorKind::NotFound, "gone after its rename"),
            )
        })
    }
}

/// Which file a path names: another save of the same name replaces it
/// with another file (a rename), so a saver can tell its own checkpoint
/// from one it must not delete.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev_ino: (u64, u64),
    #[cfg(not(unix))]
    modified: Option<std::time::SystemTime>,
}

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(FileId {
                dev_ino: (meta.dev(), meta.ino()),
            })
        }
        #[cfg(not(unix))]
        Some(FileId {
            modified: meta.modified().ok(),
        })
    }
}

/// Removes the temporary files of a target (`{prefix}XXXXXX.tmp`) left by
/// saves that died: not empty (a save locks its file before writing) and
/// not locked (the lock of a process that dies is released). Best effort:
/// a file that cannot be checked or removed is left for a later save.
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let random = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX));
        let Some(random) = random else {
            continue;
        };
        if random.len() != TEMP_RANDOM || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.metadata().is_ok_and(|m| m.len() > 0) && file.try_lock().is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Takes the directory's exclusive lock, held while the returned handle lives.
#[cfg(unix)]
fn lock_dir(dir: &Path) -> std::io::Result<File> {
    let handle = File::open(dir)?;
    handle.lock()?;
    Ok(handle)
}

/// Directories cannot be opened here: savers sharing one are not serialized.
#[cfg(not(unix))]
fn lock_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// `tf.train.latest_checkpoint(dir)`: the most recent checkpoint recorded
/// in `dir/checkpoint`, or `None` when there is no index (or the file it
/// names is gone).
///
/// # Errors
/// When the index exists but cannot be read or parsed.
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    let dir = dir.as_ref();
    let index = dir.join(INDEX);
    let text = match std::fs::read_to_string(&index) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&index, e)),
    };
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("model_checkpoint_path:"));
    let Some(quoted) = line else {
        return Ok(None);
    };
    let name = quoted
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| Error::BadFile {
            path: index.display().to_string(),
            reason: format!("malformed line `model_checkpoint_path:{quoted}`"),
        })?;
    let path = dir.join(name);
    Ok(path.exists().then_some(path))
}
