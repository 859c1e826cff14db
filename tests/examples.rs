//! Runs every example in `examples/` with small settings and checks what it
//! prints. Each runs as `cargo run --example NAME -- ARGS` in this crate,
//! with the profile this test was built with (`--release` under
//! `cargo test --release`, as CI runs it), so the build is shared and cheap.
//! An example that fails exits non-zero; the assertion shows its output.
//!
//! The MNIST examples read `$MNIST_DIR`, else `../shared/mnist` next to the
//! crate; without the data they are skipped with a note, except under CI
//! (`CI=true`), where missing data is a failure.

mod common;

use std::process::{Command, Output};

/// `cargo run` for one example, in this test's profile.
fn cargo_example(name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--quiet", "--example", name]);
    // Cargo gives the test process its package's variables; build scripts
    // of dependencies (ring's) track some of them, so passing them on would
    // make the inner cargo rebuild everything, and the outer one again next
    // time.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let per_package = key.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&key.as_ref());
        if per_package {
            cmd.env_remove(key.as_ref());
        }
    }
    if cfg!(debug_assertions) {
        cmd.args(["--profile", "test"]);
    } else {
        cmd.arg("--release");
    }
    cmd.arg("--").args(args);
    cmd
}

fn describe(name: &str, args: &[&str], out: &Output) -> String {
    format!(
        "example `{name}` {args:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the example, asserts it succeeded, and returns its stdout.
fn run_ok(cmd: &mut Command, name: &str, args: &[&str]) -> String {
    let out = cmd.output().expect("cargo can be spawned");
    assert!(out.status.success(), "{}", describe(name, args, &out));
    String::from_utf8(out.stdout).expect("examples print UTF-8")
}

fn run_example(name: &str, args: &[&str]) -> String {
    run_ok(&mut cargo_example(name, args), name, args)
}

/// The number after `prefix` on the first line that starts with it.
fn number_after(stdout: &str, prefix: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{stdout}"));
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no number after {prefix:?} in {line:?}"))
}

fn last_line(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or("")
}

#[test]
fn scalar_autodiff_prints_gradients_and_writes_dot() {
    let dir = std::env::temp_dir().join(format!("tensorgraph-examples-{}", std::process::id()));
    let dir_arg = dir.to_string_lossy().into_owned();
    let out = run_example("scalar_autodiff", &["--out", &dir_arg]);
    assert!(
        out.contains("dL/da = 6  dL/db = -4  dL/dc = -2  dL/df = 4"),
        "{out}"
    );
    assert!(out.contains("L = -8"), "{out}");
    assert!(number_after(&out, "largest |symbolic - numeric| = ") < 1e-6);
    for file in [
        "scalar_forward.dot",
        "scalar_with_gradients.dot",
        "scalar_trace.dot",
    ] {
        let dot = std::fs::read_to_string(dir.join(file)).expect("the example wrote it");
        assert!(dot.starts_with("digraph"), "{file}: {dot}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn linear_regression_recovers_the_true_parameters() {
    let args = ["--steps", "200", "--print-every", "100"];
    let out = run_example("linear_regression", &args);
    let first = number_after(&out, "step    0  loss ");
    let last = number_after(&out, "step  199  loss ");
    assert!(last < first / 100.0, "loss {first} -> {last}\n{out}");
    assert!(out.contains("fitted W = ["), "{out}");
    assert!(last_line(&out).starts_with("fit ok"), "{out}");
}

#[test]
fn logistic_regression_sigmoid_classifies_the_blobs() {
    let out = run_example("logistic_regression", &["--steps", "100"]);
    assert!(out.contains("sigmoid_cross_entropy_with_logits("), "{out}");
    let acc = number_after(last_line(&out), "test accuracy: ");
    assert!(acc >= 0.9, "{out}");
}

#[test]
fn logistic_regression_softmax_classifies_the_blobs() {
    let out = run_example(
        "logistic_regression",
        &["--loss", "softmax", "--steps", "100"],
    );
    assert!(out.contains("softmax_cross_entropy_with_logits("), "{out}");
    assert!(out.contains("one_hot("), "{out}");
    let acc = number_after(last_line(&out), "test accuracy: ");
    assert!(acc >= 0.9, "{out}");
}

#[test]
fn examples_exit_non_zero_on_failure() {
    let args = ["--loss", "hinge"];
    let out = cargo_example("logistic_regression", &args)
        .output()
        .expect("cargo can be spawned");
    assert!(
        !out.status.success(),
        "{}",
        describe("logistic_regression", &args, &out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--loss must be sigmoid or softmax"),
        "{stderr}"
    );
}

#[test]
fn hand_vs_auto_gradients_agree() {
    let out = run_example(
        "hand_vs_auto",
        &["--batch", "6", "--hidden", "7", "--show-graph"],
    );
    assert!(out.contains("gradients/Relu_grad/"), "{out}");
    for name in ["W1", "b1", "W2", "b2"] {
        assert!(out.contains(&format!("d loss/d {name}")), "{out}");
    }
    assert!(
        number_after(&out, "largest difference overall: ") < 1e-10,
        "{out}"
    );
    assert!(last_line(&out).contains("agree"), "{out}");
}

#[test]
fn second_derivative_checks_pass() {
    let out = run_example("second_derivative", &["--x", "0.7", "--dim", "4"]);
    assert!(out.contains("f''' = "), "{out}");
    assert!(out.contains("full Hessian from 4 products"), "{out}");
    assert_eq!(
        last_line(&out),
        "all second-derivative checks passed",
        "{out}"
    );
}

#[test]
fn mnist_example_short_run_reports_test_accuracy() {
    let Some(dir) = common::real_mnist_dir("an MNIST example") else {
        return;
    };
    let dir_arg = dir.to_string_lossy().into_owned();
    let args = ["--steps", "30", "--data-dir", &dir_arg];
    let out = run_ok(
        cargo_example("mnist", &args).env("MNIST_DIR", &dir),
        "mnist",
        &args,
    );
    let last = last_line(&out);
    assert!(last.starts_with("test accuracy: "), "{out}");
    let acc = number_after(last, "test accuracy: ");
    assert!((0.0..=1.0).contains(&acc), "{out}");
}

#[test]
fn mnist_cnn_example_short_run() {
    let Some(dir) = common::real_mnist_dir("an MNIST example") else {
        return;
    };
    let args = ["--steps", "3"];
    let out = run_ok(
        cargo_example("mnist_cnn", &args).env("MNIST_DIR", &dir),
        "mnist_cnn",
        &args,
    );
    assert!(out.to_lowercase().contains("accuracy"), "{out}");
}
