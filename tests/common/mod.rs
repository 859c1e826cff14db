//! What several integration tests share.

use std::path::PathBuf;
use tensorgraph::datasets::mnist;

/// The real MNIST directory: `$MNIST_DIR`, else `../shared/mnist` next to
/// the crate root. When it lacks the files, the test that asked (`what`)
/// is skipped with a note, except under `CI=true`, where that is a
/// failure: CI must run on real data.
pub fn real_mnist_dir(what: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("MNIST_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/mnist"),
    };
    if dir.join(mnist::TRAIN_IMAGES).is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "MNIST is not in {} (set MNIST_DIR to the directory holding {}): CI must run {what} on real data",
            dir.display(),
            mnist::TRAIN_IMAGES
        );
    }
    eprintln!(
        "note: skipping {what}: MNIST not found in {} (set MNIST_DIR)",
        dir.display()
    );
    None
}
