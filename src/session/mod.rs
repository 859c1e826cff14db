//! Sessions: variable values and random streams live here; `run` looks up
//! (or compiles once) the plan of its (fetches, feeds) signature and
//! executes it without touching the graph.

mod feed;
mod fuse;
mod plan;
mod stats;
mod variables;

pub use feed::{Feeds, Fetch, Fetches};
pub use stats::{KernelStats, StepStats, Trace, TraceEntry, ValueDesc, ValueSummary};

/// How a session runs (TF1's `ConfigProto`, the part that matters here).
///
/// ```
/// use tensorgraph::{Graph, Session, session::SessionOptions};
/// let g = Graph::new();
/// let s = Session::with_options(&g, SessionOptions { intra_op_threads: 2 });
/// assert_eq!(s.options().intra_op_threads, 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    /// Threads one kernel may use (TF's `intra_op_parallelism_threads`).
    /// Large kernels (matrix products from 4M multiply-adds, convolutions,
    /// pooling and elementwise ops on large tensors, Adam on large
    /// variables) share their work between the calling thread and
    /// `intra_op_threads - 1` worker threads, which are started on first
    /// use, kept for the life of the process, and spin briefly between
    /// kernels; small kernels run on the calling thread whatever this
    /// says. 0 means 1.
    pub intra_op_threads: usize,
}

impl Default for SessionOptions {
    /// One thread.
    fn default() -> Self {
        SessionOptions {
            intra_op_threads: 1,
        }
    }
}

use crate::error::{Error, NodeInfo, Result};
use crate::graph::{Graph, Tensor};
use crate::op::{ComputeCtx, KernelError, Randomness};
use crate::value::{Element, Value};
use plan::{Plan, Src};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// A session runs a graph (TF1's `tf.Session`). It holds the values of
/// the graph's variables and the state of its random ops; the graph is
/// frozen while the session lives.
///
/// ```
/// use tensorgraph::{Graph, DType, Session, feed};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(2)], "x");
/// let w = g.variable(g.ones([2usize, 1], DType::Float32), "w");
/// let y = x.matmul(w);
/// let init = g.global_variables_initializer();
/// let mut sess = Session::new(&g);
/// sess.run(init, &feed!{}).unwrap();
/// let batch = ndarray::array![[1.0f32, 2.0], [3.0, 4.0]];
/// let out = sess.run(y, &feed!{x => &batch}).unwrap().into_array::<f32>().unwrap();
/// assert_eq!(out.as_slice().unwrap(), &[3.0, 7.0]);
/// ```
pub struct Session<'g> {
    graph: &'g Graph,
    vars: Vec<Option<Value>>,
    var_infos: Vec<NodeInfo>,
    rngs: Vec<ChaCha8Rng>,
    rng_slots: HashMap<petgraph::graph::NodeIndex, usize>,
    plans: Vec<Plan>,
    plan_index: HashMap<u64, Vec<usize>>,
    options: SessionOptions,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("variables", &self.vars.len())
            .field("plans", &self.plans.len())
            .finish()
    }
}

impl<'g> Session<'g> {
    /// A session on `graph`, with every variable uninitialised and every
    /// random stream at its start.
    pub fn new(graph: &'g Graph) -> Session<'g> {
        Session::with_options(graph, SessionOptions::default())
    }

    /// A session on `graph` with `options` (thread count).
    pub fn with_options(graph: &'g Graph, options: SessionOptions) -> Session<'g> {
        let st = graph.read();
        let var_infos: Vec<NodeInfo> = st.variables.iter().map(|&n| st.nodes[n].info()).collect();
        let mut rngs = Vec::with_capacity(st.random_nodes.len());
        let mut rng_slots = HashMap::new();
        for (slot, &n) in st.random_nodes.iter().enumerate() {
            let node = &st.nodes[n];
            let seed = match node.op.randomness() {
                Randomness::Random {
                    graph_seed,
                    op_seed,
                } => crate::ops::stream_seed(graph_seed, op_seed, &node.name),
                Randomness::None => None,
            };
            rngs.push(match seed {
                Some(s) => ChaCha8Rng::seed_from_u64(s),
                None => ChaCha8Rng::from_os_rng(),
            });
            rng_slots.insert(n, slot);
        }
        drop(st);
        graph.freeze();
        Session {
            graph,
            vars: vec![None; var_infos.len()],
            var_infos,
            rngs,
            rng_slots,
            plans: Vec::new(),
            plan_index: HashMap::new(),
            options,
        }
    }

    /// The options this session was created with.
    pub fn options(&self) -> SessionOptions {
        self.options
    }

    /// The kernels a [`run`](Session::run) of this (fetches, feeds)
    /// signature executes, in order, each as `kind name`: graph nodes, and
    /// `_FusedMatMul` where the session runs `relu(matmul(a, b) + bias)`
    /// (or `matmul(a, b) + bias`) as one kernel, named after its product.
    /// Compiles the plan (as the first run would) without running it.
    ///
    /// ```
    /// use tensorgraph::{feed, nn, ops, DType, Graph, Session};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
    /// let w = g.constant(vec![1.0f32; 6]).reshape([3, 2]);
    /// let b = g.constant(vec![0.5f32, -0.5]);
    /// let y = nn::relu(ops::matmul(x, w, false, false) + b);
    /// let mut s = Session::new(&g);
    /// let kernels = s.plan_kernels(y, &feed! { x => vec![0f32; 3] }).unwrap();
    /// assert_eq!(kernels.last().unwrap(), "_FusedMatMul MatMul");
    /// ```
    ///
    /// # Errors
    /// As [`run`](Session::run) when the plan cannot be compiled (an unfed
    /// placeholder, a tensor of another graph).
    pub fn plan_kernels<F: Fetches>(
        &mut self,
        fetches: F,
        feeds: &Feeds<'_>,
    ) -> Result<Vec<String>> {
        let mut targets = SmallVec::<[Fetch; 8]>::new();
        fetches.targets(&mut targets);
        let pi = self.plan_for(&targets, feeds, true)?;
        let st = self.graph.read();
        Ok(self.plans[pi]
            .steps
            .iter()
            .map(|s| format!("{} {}", s.op.kind().name, st.nodes[s.node].name))
            .collect())
    }

    /// How many execution plans are compiled: one per distinct (fetches,
    /// feeds) signature run so far. A repeated run reuses its plan.
    pub fn cached_plans(&self) -> usize {
        self.plans.len()
    }

    /// The graph this session runs.
    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// `sess.run(fetches, feed_dict)`: computes what `fetches` need (and
    /// nothing else), returning values in the fetches' structure: a
    /// [`Value`] per tensor, `()` per operation.
    ///
    /// # Errors
    /// Unfed placeholders (all listed), feeds of the wrong dtype or shape,
    /// run-time shape mismatches, uninitialised variables and
    /// `check_numerics` failures; each names the node, its op and the line
    /// that built it.
    pub fn run<F: Fetches>(&mut self, fetches: F, feeds: &Feeds<'_>) -> Result<F::Output> {
        let mut targets = SmallVec::<[Fetch; 8]>::new();
        fetches.targets(&mut targets);
        let pi = self.plan_for(&targets, feeds, true)?;
        let values = self.execute(pi, feeds)?;
        Ok(fetches.extract(&mut values.into_iter()))
    }

    /// Runs `fetch` (as [`Session::run`]) and returns its single element
    /// as `T`.
    ///
    /// # Errors
    /// As [`Session::run`]; [`Error::FetchType`] when the tensor's dtype is
    /// not `T`'s and [`Error::FetchShape`] when it has more than one
    /// element, both naming the fetch:
    ///
    /// ```
    /// use tensorgraph::{feed, DType, Graph, Session};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [2usize], "x");
    /// let loss = (x * x).reduce_sum(None, false);
    /// let mut s = Session::new(&g);
    /// let f = feed! { x => vec![1.0f32, 2.0] };
    /// assert_eq!(s.run_scalar::<f32>(loss, &f).unwrap(), 5.0);
    /// let err = s.run_scalar::<f64>(loss, &f).unwrap_err().to_string();
    /// assert!(err.starts_with("fetch `Sum` (Sum, built at "), "{err}");
    /// assert!(err.ends_with(") has dtype float32, not float64"), "{err}");
    /// ```
    pub fn run_scalar<T: Element>(&mut self, fetch: Tensor, feeds: &Feeds<'_>) -> Result<T> {
        let v = self.run(fetch, feeds)?;
        v.scalar::<T>()
            .map_err(|e| e.concerning(|| self.fetch_name(fetch)))
    }

    /// Runs `fetch` (as [`Session::run`]) and returns its array of `T`.
    ///
    /// # Errors
    /// As [`Session::run`]; [`Error::FetchType`] naming the fetch when the
    /// tensor's dtype is not `T`'s.
    pub fn run_array<T: Element>(
        &mut self,
        fetch: Tensor,
        feeds: &Feeds<'_>,
    ) -> Result<ndarray::ArrayD<T>> {
        let v = self.run(fetch, feeds)?;
        v.into_array::<T>()
            .map_err(|e| e.concerning(|| self.fetch_name(fetch)))
    }

    /// `` fetch `loss` (Mean, built at src/main.rs:9) ``, for errors.
    fn fetch_name(&self, t: Tensor) -> String {
        let st = self.graph.read();
        let n = &st.nodes[t.node()];
        let info = crate::NodeInfo {
            name: st.tensor_name(t),
            ..n.info()
        };
        format!("fetch {info}")
    }

    /// The index of the plan for this signature, compiling it the first time.
    fn plan_for(&mut self, fetches: &[Fetch], feeds: &Feeds<'_>, fuse: bool) -> Result<usize> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        fetches.hash(&mut h);
        fuse.hash(&mut h);
        for (t, _) in &feeds.items {
            t.hash(&mut h);
        }
        let key = h.finish();
        if let Some(candidates) = self.plan_index.get(&key) {
            for &i in candidates {
                let p = &self.plans[i];
                if p.fetches == fetches
                    && p.fused == fuse
                    && p.feeds.len() == feeds.items.len()
                    && p.feeds.iter().zip(&feeds.items).all(|(a, (b, _))| a == b)
                {
                    return Ok(i);
                }
            }
        }
        let feed_tensors: Vec<_> = feeds.items.iter().map(|(t, _)| *t).collect();
        let plan = plan::compile(self.graph, fetches, &feed_tensors, &self.rng_slots, fuse)?;
        self.plans.push(plan);
        let i = self.plans.len() - 1;
        self.plan_index.entry(key).or_default().push(i);
        Ok(i)
    }

    /// Like [`Session::run`], also recording every evaluated node: its
    /// input and output shapes, a summary of its value and its time. See
    /// [`Trace`].
    ///
    /// ```
    /// use tensorgraph::{Graph, DType, Session, feed};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [2usize], "x");
    /// let y = (x * 3.0).reduce_sum(None, false);
    /// let mut s = Session::new(&g);
    /// let (v, trace) = s.run_traced(y, &feed! { x => vec![1.0f32, 2.0] }).unwrap();
    /// assert_eq!(v.scalar::<f32>().unwrap(), 9.0);
    /// // The fed x, then Mul and Sum (the constant 3.0 is not a step).
    /// assert_eq!(trace.entries().len(), 3);
    /// ```
    ///
    /// # Errors
    /// As [`Session::run`].
    pub fn run_traced<F: Fetches>(
        &mut self,
        fetches: F,
        feeds: &Feeds<'_>,
    ) -> Result<(F::Output, Trace)> {
        let mut targets = SmallVec::<[Fetch; 8]>::new();
        fetches.targets(&mut targets);
        let pi = self.plan_for(&targets, feeds, false)?;
        let mut entries = Vec::new();
        let values = self.execute_with(pi, feeds, Record::Trace(&mut entries))?;
        let trace = Trace {
            graph: self.graph.clone(),
            entries,
        };
        Ok((fetches.extract(&mut values.into_iter()), trace))
    }

    /// Like [`Session::run`] (the same compiled plan, fused kernels
    /// included), also timing every kernel: TF1's `RunMetadata`
    /// `step_stats`. Unlike [`Session::run_traced`] it records no values,
    /// so the kernels run as fast as in `run`; the run allocates the
    /// [`StepStats`].
    ///
    /// ```
    /// use tensorgraph::{feed, DType, Graph, Session};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [2usize], "x");
    /// let y = (x * 3.0).reduce_sum(None, false);
    /// let mut s = Session::new(&g);
    /// let (v, stats) = s.run_with_stats(y, &feed! { x => vec![1.0f32, 2.0] }).unwrap();
    /// assert_eq!(v.scalar::<f32>().unwrap(), 9.0);
    /// let kernels: Vec<&str> = stats.kernels().iter().map(|k| k.kernel).collect();
    /// assert_eq!(kernels, ["Mul", "Sum"]);
    /// ```
    ///
    /// # Errors
    /// As [`Session::run`].
    pub fn run_with_stats<F: Fetches>(
        &mut self,
        fetches: F,
        feeds: &Feeds<'_>,
    ) -> Result<(F::Output, StepStats)> {
        let mut targets = SmallVec::<[Fetch; 8]>::new();
        fetches.targets(&mut targets);
        let pi = self.plan_for(&targets, feeds, true)?;
        let mut times = Vec::with_capacity(self.plans[pi].steps.len());
        let values = self.execute_with(pi, feeds, Record::Times(&mut times))?;
        let kernels = self.plans[pi]
            .steps
            .iter()
            .zip(times)
            .map(|(step, time)| KernelStats {
                node: step.info.clone(),
                kernel: step.op.kind().name,
                time,
            })
            .collect();
        Ok((
            fetches.extract(&mut values.into_iter()),
            StepStats { kernels },
        ))
    }

    fn execute(&mut self, pi: usize, feeds: &Feeds<'_>) -> Result<Fetched> {
        self.execute_with(pi, feeds, Record::Nothing)
    }

    fn execute_with(
        &mut self,
        pi: usize,
        feeds: &Feeds<'_>,
        mut record: Record<'_>,
    ) -> Result<Fetched> {
        let Session {
            vars,
            var_infos,
            rngs,
            plans,
            options,
            ..
        } = self;
        let threads = options.intra_op_threads.max(1);
        let plan = &mut plans[pi];
        for ((spec, info), (_, v)) in plan.feed_checks.iter().zip(&feeds.items) {
            if v.dtype() != spec.dtype {
                return Err(Error::FeedDType {
                    node: info.clone(),
                    expected: spec.dtype,
                    got: v.dtype(),
                });
            }
            if !spec.shape.is_compatible_with(v.shape()) {
                return Err(Error::FeedShape {
                    node: info.clone(),
                    expected: spec.shape.to_string(),
                    got: crate::dtype::fmt_dims(v.shape()),
                });
            }
        }
        for (&slot, (_, v)) in plan.feed_slots.iter().zip(&feeds.items) {
            plan.bufs[slot].copy_from_view(v, threads);
        }
        if let Record::Trace(t) = &mut record {
            for ((f, (_, info)), &slot) in plan
                .feeds
                .iter()
                .zip(&plan.feed_checks)
                .zip(&plan.feed_slots)
            {
                let fed = std::slice::from_ref(&plan.bufs[slot]);
                t.push(TraceEntry::record(
                    f.node(),
                    info,
                    &[],
                    fed,
                    Default::default(),
                ));
            }
        }
        let Plan {
            steps,
            bufs,
            consts,
            ..
        } = plan;
        for step in steps.iter() {
            let mut outs: SmallVec<[Value; 4]> = step
                .outputs
                .iter()
                .map(|&s| std::mem::take(&mut bufs[s]))
                .collect();
            let mut state: SmallVec<[Option<Value>; 4]> =
                step.updates.iter().map(|&v| vars[v].take()).collect();
            let started = (!matches!(record, Record::Nothing)).then(std::time::Instant::now);
            // No early return until the taken variables are put back.
            let result = gather_inputs(step, bufs, consts, vars, var_infos).and_then(|inputs| {
                let rng = step.rng.map(|r| &mut rngs[r]);
                let mut k = ComputeCtx::new(&inputs, &mut outs, &mut state, rng)
                    .with_threads(threads)
                    .with_needed(&step.needed);
                let r = step
                    .op
                    .compute(&mut k)
                    .map_err(|e| kernel_error(e, step, &inputs, var_infos));
                match (&mut record, started) {
                    (Record::Trace(t), Some(t0)) => t.push(TraceEntry::record(
                        step.node,
                        &step.info,
                        &inputs,
                        &outs,
                        t0.elapsed(),
                    )),
                    (Record::Times(t), Some(t0)) => t.push(t0.elapsed()),
                    _ => {}
                }
                r
            });
            for (&v, val) in step.updates.iter().zip(state) {
                vars[v] = val;
            }
            for (&s, val) in step.outputs.iter().zip(outs) {
                bufs[s] = val;
            }
            result?;
        }
        let mut out = Fetched::new();
        for src in &plan.fetch_srcs {
            out.push(match *src {
                None => None,
                Some(Src::Slot(s)) => Some(plan.bufs[s].clone()),
                Some(Src::Const(c)) => Some(plan.consts[c].clone()),
                Some(Src::Var(v)) => match &vars[v] {
                    Some(val) => Some(val.clone()),
                    None => {
                        return Err(Error::UninitializedVariable {
                            var: var_infos[v].clone(),
                            reader: var_infos[v].clone(),
                        })
                    }
                },
            });
        }
        Ok(out)
    }
}

/// What a run records besides computing.
enum Record<'r> {
    Nothing,
    /// Every node's shapes, value summary and time (unfused plans).
    Trace(&'r mut Vec<TraceEntry>),
    /// Every kernel's time.
    Times(&'r mut Vec<std::time::Duration>),
}

/// A run's fetched values (None for operations), inline up to 4 fetches
/// so that a run fetching only ops allocates nothing.
type Fetched = SmallVec<[Option<Value>; 4]>;

/// The step's input values, borrowed from buffers, constants and variables
/// (inline up to 8: a fused Adam update has 5).
fn gather_inputs<'v>(
    step: &plan::Step,
    bufs: &'v [Value],
    consts: &'v [Value],
    vars: &'v [Option<Value>],
    var_infos: &[NodeInfo],
) -> Result<SmallVec<[&'v Value; 8]>> {
    let mut inputs = SmallVec::new();
    for src in &step.inputs {
        inputs.push(match *src {
            Src::Slot(s) => &bufs[s],
            Src::Const(c) => &consts[c],
            Src::Var(v) => match &vars[v] {
                Some(val) => val,
                None if step.updates.contains(&v) => {
                    return Err(Error::InvalidArgument(format!(
                    "{} reads and updates variable {} directly; read it through identity() first",
                    step.info, var_infos[v]
                )))
                }
                None => {
                    return Err(Error::UninitializedVariable {
                        var: var_infos[v].clone(),
                        reader: step.info.clone(),
                    })
                }
            },
        });
    }
    Ok(inputs)
}

fn kernel_error(
    e: KernelError,
    step: &plan::Step,
    inputs: &[&Value],
    var_infos: &[NodeInfo],
) -> Error {
    match e {
        KernelError::Message(message) => Error::Runtime {
            node: step.info.clone(),
            input_shapes: describe(inputs),
            message,
        },
        KernelError::Uninitialized(i) => Error::UninitializedVariable {
            var: var_infos[step.updates[i]].clone(),
            reader: step.info.clone(),
        },
        KernelError::NonFinite { message, what } => Error::CheckNumerics {
            node: step.info.clone(),
            message,
            what,
        },
    }
}

/// `float32[128, 784], float32[784, 200]`.
fn describe(inputs: &[&Value]) -> String {
    if inputs.is_empty() {
        return "(none)".into();
    }
    inputs
        .iter()
        .map(|v| format!("{}{}", v.dtype(), crate::dtype::fmt_dims(v.shape())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The error for a fetch, feed or variable of another graph than
/// `session_graph`.
fn foreign(what: String, f: Fetch, session_graph: &Graph) -> Error {
    let (name, graph) = match f {
        Fetch::Tensor(t) => (t.name(), t.graph_id()),
        Fetch::Op(o) => (o.name(), o.graph_id()),
    };
    Error::ForeignTensor {
        what,
        name,
        graph,
        session_graph: session_graph.id(),
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.graph.unfreeze();
    }
}
