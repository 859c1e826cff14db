//! Cases of kind "optim" (not yet rebuilt).

use super::support::Outcome;
use serde_json::Value as Json;

pub fn run(case: &Json) -> Outcome {
    Outcome::Unsupported(format!("{} cases are not rebuilt yet", case["kind"]))
}
