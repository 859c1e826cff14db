//! Savers on several threads at once: two sessions saving the same path
//! over and over, and two savers sharing a directory. Every save must
//! return Ok, every checkpoint on disk must restore whole (all variables
//! from one save), no temporary file may be left, and the `checkpoint`
//! index must never be torn nor name a file that is gone.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use tensorgraph::train::{latest_checkpoint, Saver};
use tensorgraph::{DType, Graph, Session, Tensor, Value};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tensorgraph-threads-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `w` (float32 [128, 128], 64 KB: a save takes long enough to overlap
/// another) and `b` (float64 [16]), both uninitialised.
fn model() -> (Graph, Tensor, Tensor) {
    let g = Graph::new();
    let w = g.variable(g.fill([128usize, 128], 0.0, DType::Float32), "w");
    let b = g.variable(g.fill([16usize], 0.0, DType::Float64), "b");
    (g, w, b)
}

/// Gives every element of `w` the value `k` and every element of `b` `-k`.
fn set(s: &mut Session, w: Tensor, b: Tensor, k: f64) {
    let full = |shape: Vec<usize>, v: f64| Value::F64(ndarray::ArrayD::from_elem(shape, v));
    s.set_variable(w, full(vec![128, 128], k).cast(DType::Float32))
        .unwrap();
    s.set_variable(b, full(vec![16], -k)).unwrap();
}

/// Restores `path` into a fresh session and returns `k` of the save that
/// wrote it, checking that every element of both variables is from that
/// one save.
fn restored_k(path: &Path) -> f64 {
    let (g, w, b) = model();
    let mut s = Session::new(&g);
    Saver::new(&g)
        .restore(&mut s, path)
        .unwrap_or_else(|e| panic!("{} does not restore: {e}", path.display()));
    let w = s.variable_value(w).unwrap().into_array::<f32>().unwrap();
    let b = s.variable_value(b).unwrap().into_array::<f64>().unwrap();
    let k = f64::from(w[[0, 0]]);
    assert!(
        w.iter().all(|&v| f64::from(v) == k),
        "torn w in {}",
        path.display()
    );
    assert!(
        b.iter().all(|&v| v == -k),
        "b of another save in {}",
        path.display()
    );
    k
}

/// The file names the `checkpoint` index of `dir` lists (it must parse).
fn index_entries(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    assert!(text.ends_with('\n'), "torn index: {text:?}");
    text.lines()
        .map(|l| {
            let (key, value) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            assert!(
                key == "model_checkpoint_path" || key == "all_model_checkpoint_paths",
                "bad line {l:?}"
            );
            value.trim_matches('"').to_owned()
        })
        .collect()
}

#[test]
fn two_threads_saving_the_same_path() {
    let dir = scratch("same-path");
    let target = dir.join("model.ckpt");
    let start = Barrier::new(2);
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (target, start) = (&target, &start);
            scope.spawn(move || {
                let (g, w, b) = model();
                let mut s = Session::new(&g);
                let mut saver = Saver::new(&g);
                start.wait();
                for i in 0..150 {
                    let k = f64::from(t * 1000 + i);
                    set(&mut s, w, b, k);
                    let path = saver
                        .save(&s, target, None)
                        .unwrap_or_else(|e| panic!("thread {t}, save {i}: {e}"));
                    // This save's file or the other thread's later one, whole.
                    restored_k(&path);
                }
            });
        }
    });
    assert_eq!(files(&dir), vec!["checkpoint", "model.ckpt.npz"]);
    let k = restored_k(&dir.join("model.ckpt.npz"));
    assert!(k == 149.0 || k == 1149.0, "last save was {k}");
    assert_eq!(
        index_entries(&dir),
        vec!["model.ckpt.npz", "model.ckpt.npz"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two savers writing `{prefix_a}-{step}` and `{prefix_b}-{step}` into one
/// directory, keeping 2 each, while a third thread checks the index: under
/// a shared lock on the directory (the savers' protocol, see `Saver`) every
/// file it names exists.
fn two_savers_in_one_directory(name: &str, prefixes: [&str; 2]) {
    let dir = scratch(name);
    let start = Barrier::new(3);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let savers: Vec<_> = prefixes
            .iter()
            .enumerate()
            .map(|(t, prefix)| {
                let (dir, start) = (&dir, &start);
                scope.spawn(move || {
                    let (g, w, b) = model();
                    let mut s = Session::new(&g);
                    let mut saver = Saver::new(&g).max_to_keep(2);
                    start.wait();
                    for step in 0..100 {
                        set(&mut s, w, b, (t * 1000 + step) as f64);
                        saver
                            .save(&s, dir.join(prefix), Some(step as i64))
                            .unwrap_or_else(|e| panic!("saver {t}, step {step}: {e}"));
                    }
                })
            })
            .collect();
        let checker = scope.spawn(|| {
            start.wait();
            let mut checks = 0;
            while !done.load(Ordering::Relaxed) {
                let lock = File::open(&dir).unwrap();
                lock.lock_shared().unwrap();
                if dir.join("checkpoint").exists() {
                    for entry in index_entries(&dir) {
                        assert!(
                            dir.join(&entry).exists(),
                            "the index names {entry}, which is gone"
                        );
                    }
                    checks += 1;
                }
                drop(lock);
                std::thread::yield_now();
            }
            checks
        });
        for s in savers {
            s.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(checker.join().unwrap() > 0, "the index was never checked");
    });
    for entry in index_entries(&dir) {
        restored_k(&dir.join(entry));
    }
    let latest = latest_checkpoint(&dir)
        .unwrap()
        .expect("a latest checkpoint");
    restored_k(&latest);
    for f in files(&dir) {
        assert!(
            f == "checkpoint" || (f.ends_with(".npz") && !f.starts_with('.')),
            "left behind: {f} in {:?}",
            files(&dir)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_savers_in_one_directory_with_their_own_names() {
    two_savers_in_one_directory("own-names", ["a.ckpt", "b.ckpt"]);
}

#[test]
fn two_savers_in_one_directory_with_the_same_names() {
    two_savers_in_one_directory("same-names", ["model.ckpt", "model.ckpt"]);
}
