//! Unique node names and name scopes (`layer1/MatMul`, `MatMul_1`). A
//! name is worked out first and taken only once its node is added.

use super::{Graph, GraphState};

/// A unique name worked out but not yet taken: taking it
/// ([`GraphState::claim`]) is what advances the name's counter, so a node
/// that fails its checks uses up no name.
#[derive(Debug)]
pub(crate) struct NextName {
    /// The unique name.
    pub name: String,
    /// The scoped base it was made from (`layer1/MatMul`).
    full: String,
    /// The base's counter once the name is taken.
    next_count: usize,
}

impl GraphState {
    /// The current scope prefix joined with `base`, made unique the way TF
    /// does it: `add`, `add_1`, `add_2`, ...; nothing is recorded until
    /// [`GraphState::claim`].
    pub(crate) fn next_name(&self, base: &str) -> NextName {
        let full = if self.scopes.is_empty() {
            base.to_string()
        } else {
            format!("{}/{base}", self.scopes.join("/"))
        };
        let mut count = self.name_counts.get(&full).copied().unwrap_or(0);
        let mut name = if count == 0 {
            full.clone()
        } else {
            format!("{full}_{count}")
        };
        count += 1;
        while self.names.contains_key(&name) {
            name = format!("{full}_{count}");
            count += 1;
        }
        NextName {
            name,
            full,
            next_count: count,
        }
    }

    /// Takes a name worked out by [`GraphState::next_name`] (with no
    /// other name taken in between).
    pub(crate) fn claim(&mut self, next: NextName) -> String {
        self.name_counts.insert(next.full, next.next_count);
        next.name
    }

    /// [`GraphState::next_name`], taken.
    fn unique_name(&mut self, base: &str) -> String {
        let next = self.next_name(base);
        self.claim(next)
    }
}

impl Graph {
    /// Opens a name scope (TF1's `with tf.name_scope("layer1"):`): nodes
    /// built while the guard lives are named `layer1/...`. Scopes nest; a
    /// scope name already used gets a suffix (`layer1_1`), as in TF.
    ///
    /// ```
    /// use tensorgraph::{Graph, DType};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [2usize], "x");
    /// let y = {
    ///     let _s = g.name_scope("layer1");
    ///     x * 2.0
    /// };
    /// assert_eq!(y.name(), "layer1/Mul");
    /// ```
    pub fn name_scope(&self, name: &str) -> ScopeGuard {
        let mut st = self.write();
        let unique = st.unique_name(name);
        let last = unique.rsplit('/').next().unwrap_or(&unique).to_string();
        st.scopes.push(last);
        ScopeGuard {
            graph: self.clone(),
        }
    }

    /// The current name scope, `""` at top level.
    pub fn current_scope(&self) -> String {
        self.read().scopes.join("/")
    }
}

/// Closes a name scope when dropped.
#[must_use = "the scope closes when the guard is dropped"]
#[derive(Debug)]
pub struct ScopeGuard {
    graph: Graph,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        self.graph.write().scopes.pop();
    }
}
