//! Maps graph ids to graphs, so that `Copy` tensor handles can build nodes
//! (`a + b`) without carrying a reference to their graph.

use super::{Graph, GraphShared};
use std::sync::{Arc, Mutex, Weak};

static GRAPHS: Mutex<Vec<Weak<GraphShared>>> = Mutex::new(Vec::new());

pub(super) fn register(make: impl FnOnce(u32) -> GraphShared) -> Graph {
    let mut graphs = GRAPHS.lock().unwrap_or_else(|e| e.into_inner());
    let id = u32::try_from(graphs.len()).expect("fewer than 2^32 graphs");
    let shared = Arc::new(make(id));
    graphs.push(Arc::downgrade(&shared));
    Graph { shared }
}

/// The graph with this id.
///
/// # Panics
/// When the graph was dropped while handles to its tensors remained.
pub(super) fn lookup(id: u32) -> Graph {
    let graphs = GRAPHS.lock().unwrap_or_else(|e| e.into_inner());
    let shared = graphs.get(id as usize).and_then(Weak::upgrade).expect(
        "this tensor's graph has been dropped; keep the Graph alive while using its tensors",
    );
    Graph { shared }
}
