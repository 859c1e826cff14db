//! Checkpoints: round trips through `.npz`, `max_to_keep` and the
//! `checkpoint` index, saves that fail halfway (the previous checkpoint
//! stays intact), and restores that refuse mismatched or damaged files.

mod support;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use support::{files, scratch, Budgeted, Spent};
use tensorgraph::train::{latest_checkpoint, Saver};
use tensorgraph::{feed, DType, Error, Graph, Session, Tensor, Value};

/// `layer1/W` (float32 [2, 3]), `b` (float64 [3]) and `step` (int64 scalar).
fn model() -> (Graph, Tensor, Tensor, Tensor) {
    let g = Graph::new();
    let w = {
        let _s = g.name_scope("layer1");
        g.variable(g.fill([2usize, 3], 0.5, DType::Float32), "W")
    };
    let b = g.variable(g.fill([3usize], -1.0, DType::Float64), "b");
    let step = g.variable_untrainable(g.constant(0i64), "step");
    (g, w, b, step)
}

fn init(g: &Graph) -> Session<'_> {
    let init = g.global_variables_initializer();
    let mut s = Session::new(g);
    s.run(init, &feed! {}).unwrap();
    s
}

fn set_all(s: &mut Session, w: Tensor, b: Tensor, step: Tensor, k: f64) {
    s.set_variable(
        w,
        Value::F64(ndarray::ArrayD::from_elem(vec![2, 3], k)).cast(DType::Float32),
    )
    .unwrap();
    s.set_variable(b, Value::F64(ndarray::ArrayD::from_elem(vec![3], -k)))
        .unwrap();
    s.set_variable(step, Value::from(k as i64)).unwrap();
}

fn w_value(s: &Session, w: Tensor) -> f32 {
    s.variable_value(w).unwrap().into_array::<f32>().unwrap()[[0, 0]]
}

#[test]
fn round_trip_through_npz() {
    let dir = scratch("roundtrip");
    let (g, w, b, step) = model();
    let mut saver = Saver::new(&g);
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 7.0);
    let path = saver.save(&s, dir.join("model.ckpt"), Some(1000)).unwrap();
    assert_eq!(path, dir.join("model.ckpt-1000.npz"));
    assert_eq!(latest_checkpoint(&dir).unwrap(), Some(path.clone()));
    assert_eq!(files(&dir), vec!["checkpoint", "model.ckpt-1000.npz"]);

    // A plain npz reader (what numpy.load sees) finds every variable by name.
    let mut npz = ndarray_npy::NpzReader::new(File::open(&path).unwrap()).unwrap();
    let mut names = npz.names().unwrap();
    names.sort();
    assert_eq!(names, vec!["b", "layer1/W", "step"]);
    let wa: ndarray::ArrayD<f32> = npz.by_name("layer1/W").unwrap();
    assert_eq!(wa, ndarray::ArrayD::from_elem(vec![2, 3], 7.0f32));

    // A fresh session needs no initializer.
    let mut fresh = Session::new(&g);
    saver.restore(&mut fresh, &path).unwrap();
    assert_eq!(w_value(&fresh, w), 7.0);
    assert_eq!(
        fresh
            .run(b, &feed! {})
            .unwrap()
            .into_array::<f64>()
            .unwrap()[[1]],
        -7.0
    );
    assert_eq!(
        fresh.run(step, &feed! {}).unwrap().scalar::<i64>().unwrap(),
        7
    );
    drop((s, fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chosen_variables_only() {
    let dir = scratch("chosen");
    let (g, w, b, step) = model();
    let mut saver = Saver::with_vars(&[w]);
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 3.0);
    let path = saver.save(&s, dir.join("w"), None).unwrap();
    assert_eq!(path, dir.join("w.npz"));
    let mut fresh = Session::new(&g);
    saver.restore(&mut fresh, &path).unwrap();
    assert_eq!(w_value(&fresh, w), 3.0);
    assert!(matches!(
        fresh.variable_value(b),
        Err(Error::UninitializedVariable { .. })
    ));
    // Saving needs every chosen variable initialised.
    let mut all = Saver::new(&g);
    assert!(matches!(
        all.save(&fresh, dir.join("all"), None),
        Err(Error::UninitializedVariable { .. })
    ));
    drop((s, fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn max_to_keep_and_the_index() {
    let dir = scratch("keep");
    let (g, w, b, step) = model();
    let mut saver = Saver::new(&g).max_to_keep(3);
    let mut s = init(&g);
    for k in 1..=7 {
        set_all(&mut s, w, b, step, k as f64);
        saver
            .save(&s, dir.join("model.ckpt"), Some(k * 100))
            .unwrap();
    }
    assert_eq!(
        files(&dir),
        vec![
            "checkpoint",
            "model.ckpt-500.npz",
            "model.ckpt-600.npz",
            "model.ckpt-700.npz"
        ]
    );
    let index = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    assert_eq!(
        index,
        "model_checkpoint_path: \"model.ckpt-700.npz\"\n\
         all_model_checkpoint_paths: \"model.ckpt-500.npz\"\n\
         all_model_checkpoint_paths: \"model.ckpt-600.npz\"\n\
         all_model_checkpoint_paths: \"model.ckpt-700.npz\"\n"
    );
    let latest = latest_checkpoint(&dir).unwrap().unwrap();
    let mut fresh = Session::new(&g);
    saver.restore(&mut fresh, latest).unwrap();
    assert_eq!(w_value(&fresh, w), 7.0);
    assert_eq!(latest_checkpoint(dir.join("nowhere")).unwrap(), None);
    drop((s, fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_save_keeps_the_previous_checkpoint() {
    let dir = scratch("failing");
    let (g, w, b, step) = model();
    let mut saver = Saver::new(&g);
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 1.0);
    let good = saver.save(&s, dir.join("model.ckpt"), Some(1)).unwrap();
    let good_bytes = std::fs::read(&good).unwrap();
    set_all(&mut s, w, b, step, 2.0);
    for budget in [0, 10, 100, 300, good_bytes.len() - 1] {
        // Same name: the save would overwrite the good file.
        let err = saver
            .save_with(&s, dir.join("model.ckpt"), Some(1), |f| Budgeted {
                inner: BufWriter::new(f),
                budget,
                spent: Spent::Fail,
            })
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "budget {budget}: {err:?}");
        assert!(err.to_string().contains("model.ckpt-1.npz"), "{err}");
        // Another step: no file appears and the index is unchanged.
        let err = saver.save_with(&s, dir.join("model.ckpt"), Some(2), |f| Budgeted {
            inner: BufWriter::new(f),
            budget,
            spent: Spent::Fail,
        });
        assert!(err.is_err());
        assert_eq!(
            files(&dir),
            vec!["checkpoint", "model.ckpt-1.npz"],
            "no temporary file is left"
        );
        assert_eq!(std::fs::read(&good).unwrap(), good_bytes);
        assert_eq!(latest_checkpoint(&dir).unwrap(), Some(good.clone()));
    }
    let mut fresh = Session::new(&g);
    saver.restore(&mut fresh, &good).unwrap();
    assert_eq!(w_value(&fresh, w), 1.0);
    drop((s, fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restore_says_exactly_what_differs() {
    let dir = scratch("mismatch");
    let (g, w, b, step) = model();
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 4.0);
    let path = Saver::new(&g).save(&s, dir.join("m"), None).unwrap();

    let other = Graph::new();
    let w2 = {
        let _s = other.name_scope("layer1");
        other.variable(other.fill([3usize, 2], 0.0, DType::Float32), "W")
    };
    let b2 = other.variable(other.fill([3usize], 0.0, DType::Float32), "b");
    let extra = other.variable(other.fill([1usize], 9.0, DType::Float32), "extra");
    let init2 = other.global_variables_initializer();
    let mut s2 = Session::new(&other);
    s2.run(init2, &feed! {}).unwrap();
    let err = Saver::new(&other).restore(&mut s2, &path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::BadFile { .. }), "{err:?}");
    assert!(
        msg.contains("`layer1/W` has shape [2, 3] in the file but [3, 2] in the graph"),
        "{msg}"
    );
    assert!(
        msg.contains("`b` is float64 in the file but float32 in the graph"),
        "{msg}"
    );
    assert!(msg.contains("`extra` is missing"), "{msg}");
    // Nothing was changed.
    let v = |t: Tensor| {
        s2.variable_value(t)
            .unwrap()
            .into_array::<f32>()
            .unwrap()
            .into_raw_vec_and_offset()
            .0
    };
    assert_eq!(v(w2), vec![0.0; 6]);
    assert_eq!(v(b2), vec![0.0; 3]);
    assert_eq!(v(extra), vec![9.0]);
    // A saver of a variable the file lacks fails too.
    let only = other
        .global_variables()
        .into_iter()
        .filter(|&t| t == extra)
        .collect::<Vec<_>>();
    assert!(Saver::with_vars(&only).restore(&mut s2, &path).is_err());
    drop((s, s2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let dir = scratch("damaged");
    let (g, w, b, step) = model();
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 5.0);
    let saver = Saver::new(&g);
    let path = Saver::new(&g).save(&s, dir.join("m"), None).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let broken = dir.join("broken.npz");
    let mut fresh = Session::new(&g);
    for cut in (0..bytes.len()).step_by(7) {
        std::fs::write(&broken, &bytes[..cut]).unwrap();
        let err = saver.restore(&mut fresh, &broken).unwrap_err();
        assert!(
            matches!(err, Error::BadFile { .. }),
            "cut at {cut}: {err:?}"
        );
    }
    std::fs::write(&broken, b"this is not a zip file at all").unwrap();
    assert!(matches!(
        saver.restore(&mut fresh, &broken),
        Err(Error::BadFile { .. })
    ));
    // Flipped bytes anywhere: an error or (if only data changed) a value, never a panic.
    for i in (0..bytes.len()).step_by(3) {
        let mut b2 = bytes.clone();
        b2[i] ^= 0x5a;
        std::fs::write(&broken, &b2).unwrap();
        let _ = saver.restore(&mut fresh, &broken);
    }
    assert!(matches!(
        saver.restore(&mut fresh, dir.join("absent.npz")),
        Err(Error::Io { .. })
    ));
    drop((s, fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `model()`'s variables as tests/data/make_numpy_npz.py wrote them.
fn check_numpy_values(path: &Path) {
    let (g, w, b, step) = model();
    let mut s = Session::new(&g);
    Saver::new(&g).restore(&mut s, path).unwrap();
    let w = s.variable_value(w).unwrap().into_array::<f32>().unwrap();
    assert_eq!(
        w,
        ndarray::array![[1.5f32, -2.0, 3.25], [4.0, 0.1, -6.0]].into_dyn()
    );
    let b = s.variable_value(b).unwrap().into_array::<f64>().unwrap();
    assert_eq!(b, ndarray::array![0.125, -1.0, 1e300].into_dyn());
    let step = s.variable_value(step).unwrap().scalar::<i64>().unwrap();
    assert_eq!(step, 123_456_789_012);
}

#[test]
fn restores_what_numpy_wrote() {
    // W in Fortran order, b big-endian; see tests/data/make_numpy_npz.py.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    check_numpy_values(&data.join("numpy_savez.npz"));
    check_numpy_values(&data.join("numpy_savez_compressed.npz"));
}

#[cfg(unix)]
#[test]
fn checkpoints_get_the_permissions_of_any_new_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    let (g, w, b, step) = model();
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 1.0);
    let path = Saver::new(&g).save(&s, dir.join("m"), None).unwrap();
    let plain = dir.join("plain");
    File::create(&plain).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), mode(&plain));
    assert_eq!(mode(&dir.join("checkpoint")), mode(&plain));
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Set in the child of `a_save_killed_halfway_is_cleaned_up_by_the_next`:
/// the directory to stall a save in.
const STALL_DIR: &str = "TENSORGRAPH_SAVER_STALL_DIR";

#[test]
fn a_save_killed_halfway_is_cleaned_up_by_the_next() {
    let (g, w, b, step) = model();
    let mut s = init(&g);
    set_all(&mut s, w, b, step, 1.0);
    let mut saver = Saver::new(&g);
    if let Some(dir) = std::env::var_os(STALL_DIR) {
        let stalled = saver.save_with(&s, Path::new(&dir).join("model.ckpt"), Some(1), |inner| {
            Budgeted {
                inner,
                budget: 100,
                spent: Spent::Hang,
            }
        });
        unreachable!("the stalled save returned {stalled:?}");
    }
    let dir = scratch("killed");
    let good = saver.save(&s, dir.join("model.ckpt"), Some(1)).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_save_killed_halfway_is_cleaned_up_by_the_next",
            "--exact",
            "--test-threads=1",
        ])
        .env(STALL_DIR, &dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let others = |dir: &Path| -> Vec<String> {
        files(dir)
            .into_iter()
            .filter(|f| f != "checkpoint" && !f.ends_with(".npz"))
            .collect()
    };
    // Wait for the child's temporary file to hold its 100 bytes.
    let started = std::time::Instant::now();
    let temp = loop {
        let temps = others(&dir);
        if let [t] = &temps[..] {
            if std::fs::metadata(dir.join(t)).unwrap().len() == 100 {
                break t.clone();
            }
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the child's save never started: {:?}",
            files(&dir)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // A save in progress (the child holds its file's lock) is left alone.
    saver.save(&s, dir.join("model.ckpt"), Some(1)).unwrap();
    assert_eq!(others(&dir), vec![temp.clone()]);
    child.kill().unwrap(); // SIGKILL: the child cannot clean up
    child.wait().unwrap();
    // The next save of another target leaves it; of the same target removes it.
    saver.save(&s, dir.join("model.ckpt"), Some(2)).unwrap();
    assert_eq!(others(&dir), vec![temp]);
    saver.save(&s, dir.join("model.ckpt"), Some(1)).unwrap();
    assert_eq!(
        files(&dir),
        vec!["checkpoint", "model.ckpt-1.npz", "model.ckpt-2.npz"]
    );
    let mut fresh = Session::new(&g);
    saver.restore(&mut fresh, &good).unwrap();
    assert_eq!(w_value(&fresh, w), 1.0);
    drop((s, fresh));
    std::fs::remove_dir_all(&dir).unwrap();
}
