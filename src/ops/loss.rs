//! (family file; ops are added here)

use super::OpKind;

pub(super) static KINDS: &[&OpKind] = &[];
