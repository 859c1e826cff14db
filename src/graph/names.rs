//! Unique node names and name scopes (`layer1/MatMul`, `MatMul_1`).

use super::{Graph, GraphState};

impl GraphState {
    /// The current scope prefix joined with `base`, made unique the way TF
    /// does it: `add`, `add_1`, `add_2`, ...
    pub(crate) fn unique_name(&mut self, base: &str) -> String {
        let full = if self.scopes.is_empty() {
            base.to_string()
        } else {
            format!("{}/{base}", self.scopes.join("/"))
        };
        let count = self.name_counts.entry(full.clone()).or_insert(0);
        let mut name = if *count == 0 {
            full.clone()
        } else {
            format!("{full}_{count}")
        };
        *count += 1;
        while self.names.contains_key(&name) {
            let c = self.name_counts.entry(full.clone()).or_insert(0);
            name = format!("{full}_{c}");
            *c += 1;
        }
        name
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
