//! Conformance with TensorFlow: every case file in `$CONFORMANCE_DIR`
//! (default `../shared/conformance`) holds golden values computed by
//! TensorFlow 2.21 in TF1 graph mode (see its FORMAT.md). Each case is
//! rebuilt with tensorgraph's ops; outputs and gradients are compared at the
//! case's tolerances. Each case's graph is built inside `Graph::try_build`,
//! so a construction mistake fails that case with its message. One line
//! per group, then `conformance: N passed, M failed, K unsupported`; fails
//! if M > 0.

mod build;
mod graphs;
mod optim;
mod stats;
mod support;

use serde_json::Value as Json;
use std::path::PathBuf;
use support::Outcome;

fn conformance_dir() -> PathBuf {
    std::env::var_os("CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/conformance"))
}

fn run_case(case: &Json) -> Outcome {
    match case["kind"].as_str() {
        Some("op") => support::run_op_case(case, build::build),
        Some("graph") => graphs::run(case),
        Some("optimizer") => optim::run(case),
        Some("stats") => stats::run(case),
        other => Outcome::Unsupported(format!("unknown kind {other:?}")),
    }
}

#[test]
fn conformance() {
    let dir = conformance_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read CONFORMANCE_DIR {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let only = std::env::var("CONFORMANCE_ONLY").ok();
    let (mut passed, mut failed, mut unsupported) = (0, 0, 0);
    let mut report = String::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable case file");
        let doc: Json = serde_json::from_str(&text).expect("valid JSON");
        let group = doc["group"].as_str().unwrap_or("?").to_string();
        let (mut p, mut f, mut u) = (0, 0, 0);
        for case in doc["cases"].as_array().expect("cases array") {
            let name = case["name"].as_str().unwrap_or("?");
            if only.as_deref().is_some_and(|o| !name.contains(o)) {
                continue;
            }
            match run_case(case) {
                Outcome::Passed => p += 1,
                Outcome::Failed(why) => {
                    f += 1;
                    report.push_str(&format!("  FAILED {group}/{name}: {why}\n"));
                }
                Outcome::Unsupported(why) => {
                    u += 1;
                    report.push_str(&format!("  unsupported {group}/{name}: {why}\n"));
                }
            }
        }
        println!("{group}: {p} passed, {f} failed, {u} unsupported");
        passed += p;
        failed += f;
        unsupported += u;
    }
    print!("{report}");
    println!("conformance: {passed} passed, {failed} failed, {unsupported} unsupported");
    assert_eq!(failed, 0, "conformance failures (see above)");
}
