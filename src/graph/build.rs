//! Adding nodes: the static checks every node passes when it is built,
//! fallibly ([`Graph::try_add_node`], [`Graph::try_build`]) or panicking
//! ([`Graph::add_node`]). Invariant: a node that fails its checks leaves
//! the graph exactly as it was (no node, no edge, no name consumed), and
//! no lock of any graph is held when the failure is raised, so the drop
//! guards of name and control-dependency scopes can pop while unwinding.

use super::{Graph, Node, Operation, Tensor};
use crate::error::{Error, NodeInfo, Result};
use crate::op::{Op, Randomness};
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::Ordering;
use std::sync::Arc;

thread_local! {
    /// How many [`Graph::try_build`] calls this thread is inside.
    static TRY_BUILD_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// The unwinding payload of a build error raised inside
/// [`Graph::try_build`]; only `try_build` catches it.
struct BuildFailure(Error);

/// Counts this thread into a `try_build` while it lives (also when the
/// closure unwinds past it).
struct TryBuildScope;

impl TryBuildScope {
    fn enter() -> TryBuildScope {
        TRY_BUILD_DEPTH.with(|d| d.set(d.get() + 1));
        TryBuildScope
    }
}

impl Drop for TryBuildScope {
    fn drop(&mut self) {
        TRY_BUILD_DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Raises a construction mistake: inside [`Graph::try_build`] it unwinds
/// to that call (which returns it as `Err`) without running the panic
/// hook; elsewhere it panics with the error's message.
///
/// The caller must hold no graph lock: scope guards dropped while
/// unwinding take the graph's write lock.
#[track_caller]
pub(crate) fn raise(error: Error) -> ! {
    if TRY_BUILD_DEPTH.with(Cell::get) > 0 {
        panic::resume_unwind(Box::new(BuildFailure(error)))
    }
    panic!("{error}")
}

impl Graph {
    /// Adds a node running `op` on `inputs`, checking shapes and dtypes
    /// now. This is how every op constructor builds its node; `name`
    /// (default: the op kind's name) is made unique under the current name
    /// scope.
    ///
    /// # Panics
    /// When [`Graph::try_add_node`] fails, with its error's message (which
    /// names the op, the node, the shapes and the caller's line); inside
    /// [`Graph::try_build`] the error is returned from there instead.
    #[track_caller]
    pub fn add_node(&self, op: impl Op, inputs: &[Tensor], name: Option<&str>) -> Operation {
        // A match, not a closure, so the panic points at the caller.
        match self.add_checked(Arc::new(op), inputs, name, Location::caller()) {
            Ok(node) => node,
            Err(e) => raise(e),
        }
    }

    /// Adds a node with one output and returns that output.
    ///
    /// # Panics
    /// As [`Graph::add_node`].
    #[track_caller]
    pub fn add_op(&self, op: impl Op, inputs: &[Tensor]) -> Tensor {
        self.add_node(op, inputs, None).output(0)
    }

    /// [`Graph::add_node`] that returns construction mistakes as errors.
    /// On `Err` the graph is unchanged: in particular the name the node
    /// would have had is not used up.
    ///
    /// # Errors
    /// [`Error::Build`] when an input belongs to another graph or the op
    /// rejects its inputs' static dtypes or shapes (the message names the
    /// op, the node, each input's spec and the caller's line);
    /// [`Error::GraphFrozen`] while a [`crate::Session`] on this graph is
    /// alive.
    ///
    /// ```
    /// use tensorgraph::op::{ComputeCtx, KernelError, Op, OpKind};
    /// use tensorgraph::{DType, Error, Graph, TensorSpec};
    ///
    /// /// A user's op: the sum of two tensors of one spec.
    /// #[derive(Debug)]
    /// struct AddSame;
    /// static ADD_SAME: OpKind = OpKind::not_differentiable("AddSame", "add_same");
    /// impl Op for AddSame {
    ///     fn kind(&self) -> &'static OpKind {
    ///         &ADD_SAME
    ///     }
    ///     fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
    ///         if i[0] != i[1] {
    ///             return Err(format!("specs differ: {} vs {}", i[0], i[1]));
    ///         }
    ///         Ok(vec![i[0].clone()])
    ///     }
    ///     fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
    ///         let sum = k.input_as::<f32>(0)? + k.input_as::<f32>(1)?;
    ///         k.set(0, sum);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let g = Graph::new();
    /// let a = g.placeholder(DType::Float32, [None, Some(3)], "a");
    /// let b = g.placeholder(DType::Float32, [4usize, 2], "b");
    /// let line = line!() + 1;
    /// let err = g.try_add_op(AddSame, &[a, b]).unwrap_err();
    /// assert!(matches!(err, Error::Build { .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     format!(
    ///         "AddSame `AddSame` at {}:{line}: specs differ: float32[?, 3] vs float32[4, 2] \
    ///          (inputs: `a` float32[?, 3], `b` float32[4, 2])",
    ///         file!()
    ///     )
    /// );
    /// // Nothing was added, and the name is still free.
    /// assert_eq!(g.len(), 2);
    /// assert_eq!(g.try_add_op(AddSame, &[a, a]).unwrap().name(), "AddSame");
    /// ```
    #[track_caller]
    pub fn try_add_node(
        &self,
        op: impl Op,
        inputs: &[Tensor],
        name: Option<&str>,
    ) -> Result<Operation> {
        self.add_checked(Arc::new(op), inputs, name, Location::caller())
    }

    /// [`Graph::add_op`] that returns construction mistakes as errors.
    ///
    /// # Errors
    /// As [`Graph::try_add_node`].
    #[track_caller]
    pub fn try_add_op(&self, op: impl Op, inputs: &[Tensor]) -> Result<Tensor> {
        self.try_add_node(op, inputs, None).map(|o| o.output(0))
    }

    /// Runs `build`, which builds nodes with the ordinary (panicking) op
    /// functions, and returns the first construction mistake as `Err`
    /// instead of panicking: a fallible version of every op and composite
    /// (layers, losses, `gradients`, `minimize`) without a `try_` variant
    /// of each.
    ///
    /// A mistake in any graph built on this thread inside `build` stops
    /// `build` there. Nodes built before it stay in the graph, as in TF
    /// when a Python op constructor raises; the failed node itself is not
    /// added, and name scopes and control-dependency blocks opened inside
    /// `build` are closed. Other panics inside `build` are not caught;
    /// they propagate unchanged.
    ///
    /// This relies on unwinding: the mistake unwinds from the failed node
    /// to this call (without running the panic hook, so nothing is
    /// printed). Under `panic = "abort"` a mistake aborts, like any panic.
    /// Other threads are not affected: there, mistakes panic as usual.
    ///
    /// # Errors
    /// The first [`Error::Build`] or [`Error::GraphFrozen`] raised inside
    /// `build` (or [`Error::InvalidArgument`] from an op function's own
    /// check of a fixed argument, such as dropout's keep probability).
    ///
    /// ```
    /// use tensorgraph::{nn, DType, Error, Graph};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(784)], "x");
    /// let w1 = g.variable(g.zeros([784usize, 200], DType::Float32), "W1");
    /// let w2 = g.variable(g.zeros([100usize, 10], DType::Float32), "W2");
    /// let line = line!() + 4;
    /// let err = g
    ///     .try_build(|| {
    ///         let _layer = g.name_scope("layer");
    ///         nn::relu(x.matmul(w1)).matmul(w2) // 200 columns meet 100 rows
    ///     })
    ///     .unwrap_err();
    /// assert!(matches!(err, Error::Build { .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     format!(
    ///         "MatMul `layer/MatMul_1` at {}:{line}: inner dimensions differ (200 vs 100) \
    ///          in matmul of [?, 200] and [100, 10] (inputs: `layer/Relu` float32[?, 200], \
    ///          `W2` float32[100, 10])",
    ///         file!()
    ///     )
    /// );
    /// assert_eq!(g.current_scope(), "", "the scope was closed");
    /// // The nodes built before the mistake stay; the failed one is not there.
    /// assert!(g.tensor_by_name("layer/Relu").is_some());
    /// assert!(g.tensor_by_name("layer/MatMul_1").is_none());
    /// ```
    pub fn try_build<R>(&self, build: impl FnOnce() -> R) -> Result<R> {
        let _inside = TryBuildScope::enter();
        // Only build errors are caught, and they are raised with the graph
        // consistent (the failed node not added, no lock held); what
        // `build` did up to there stays done, as after an early `?`.
        match panic::catch_unwind(AssertUnwindSafe(build)) {
            Ok(r) => Ok(r),
            Err(payload) => match payload.downcast::<BuildFailure>() {
                Ok(failure) => Err(failure.0),
                Err(other) => panic::resume_unwind(other),
            },
        }
    }

    /// The checks of a node and, when they pass, its registration;
    /// `caller` is the user's line.
    fn add_checked(
        &self,
        op: Arc<dyn Op>,
        inputs: &[Tensor],
        name: Option<&str>,
        caller: &'static Location<'static>,
    ) -> Result<Operation> {
        if self.shared.sessions.load(Ordering::SeqCst) > 0 {
            return Err(Error::GraphFrozen {
                op: op.kind(),
                site: caller,
            });
        }
        if let Some(i) = inputs.iter().position(|t| t.graph_id() != self.id()) {
            return Err(self.foreign_input(&*op, inputs, i, name, caller));
        }
        let mut st = self.write();
        let site = st.site_override.unwrap_or(caller);
        let name = st.next_name(name.unwrap_or(op.kind().name));
        let specs: Vec<_> = inputs
            .iter()
            .map(|t| st.nodes[t.node()].outputs[t.index()].clone())
            .collect();
        let outputs = match op.infer(&specs) {
            Ok(o) => o,
            Err(message) => {
                let inputs = describe_inputs(
                    inputs
                        .iter()
                        .zip(&specs)
                        .map(|(&t, spec)| format!("`{}` {spec}", st.tensor_name(t))),
                );
                let node = NodeInfo {
                    name: name.name,
                    op: op.kind(),
                    site,
                };
                return Err(Error::Build {
                    node,
                    inputs,
                    message,
                });
            }
        };
        let name = st.claim(name);
        let control_inputs = st.control_scopes.iter().flatten().copied().collect();
        let random = op.randomness() != Randomness::None;
        let idx = st.nodes.add_node(Node {
            op,
            inputs: inputs.to_vec(),
            control_inputs,
            name: name.clone(),
            outputs,
            site,
        });
        for (slot, t) in inputs.iter().enumerate() {
            st.nodes.add_edge(t.node(), idx, slot);
        }
        st.names.insert(name, idx);
        if random {
            st.random_nodes.push(idx);
        }
        Ok(Operation::new(self.id(), idx))
    }

    /// The error for input `i` of a node belonging to another graph. Each
    /// input is described from its own graph, one lock at a time.
    fn foreign_input(
        &self,
        op: &dyn Op,
        inputs: &[Tensor],
        i: usize,
        name: Option<&str>,
        caller: &'static Location<'static>,
    ) -> Error {
        let describe = |t: Tensor| format!("`{}` {}", t.name(), t.spec());
        let (name, site) = {
            let st = self.read();
            let name = st.next_name(name.unwrap_or(op.kind().name)).name;
            (name, st.site_override.unwrap_or(caller))
        };
        let t = inputs[i];
        Error::Build {
            node: NodeInfo {
                name,
                op: op.kind(),
                site,
            },
            inputs: describe_inputs(inputs.iter().map(|&t| describe(t))),
            message: format!(
                "input {i} `{}` belongs to another graph (graph {}; this node's is graph {})",
                t.name(),
                t.graph_id(),
                self.id()
            ),
        }
    }

    /// Runs `f` with every node built inside attributed to `site`.
    pub(crate) fn with_site<R>(
        &self,
        site: &'static Location<'static>,
        f: impl FnOnce() -> R,
    ) -> R {
        /// Restores the previous attribution, also when `f` unwinds.
        struct Restore<'g> {
            graph: &'g Graph,
            prev: Option<&'static Location<'static>>,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.graph.write().site_override = self.prev;
            }
        }
        let prev = self.write().site_override.replace(site);
        let _restore = Restore { graph: self, prev };
        f()
    }
}

/// The inputs part of a build error: `` `a` float32[?, 3], `b` float32[4, 2] ``,
/// or `none`.
fn describe_inputs(inputs: impl Iterator<Item = String>) -> String {
    let list: Vec<String> = inputs.collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
