//! Gradient checks of this op family.

use super::support::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
