//! Compiling a run: prune the graph to what the fetches need (a fed tensor
//! cuts it), order the nodes (reads of variables before updates of them),
//! give every tensor a buffer slot, and record everything the executor and
//! its error messages need, so that a run never looks at the graph again.
//! Chains of nodes that one kernel can compute are fused (see `fuse`).

use super::feed::Fetch;
use crate::error::{Error, MissingFeed, NodeInfo, Result};
use crate::graph::{Graph, GraphState, Tensor, TensorSpec};
use crate::op::Op;
use crate::ops::{Const, Placeholder, Variable};
use crate::value::Value;
use petgraph::graph::NodeIndex;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

/// Where a kernel input comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Src {
    /// A buffer of the plan (an op's output or a feed).
    Slot(usize),
    /// A variable in the session's store.
    Var(usize),
    /// A constant held by the plan.
    Const(usize),
}

/// One kernel invocation.
#[derive(Debug)]
pub(crate) struct Step {
    pub op: Arc<dyn Op>,
    pub node: NodeIndex,
    pub info: NodeInfo,
    pub inputs: Vec<Src>,
    pub outputs: Vec<usize>,
    /// Per output: whether a later step or a fetch reads it.
    pub needed: Vec<bool>,
    pub updates: Vec<usize>,
    pub rng: Option<usize>,
}

/// A compiled (fetches, feeds) signature, with its buffers.
#[derive(Debug)]
pub(crate) struct Plan {
    pub fetches: Vec<Fetch>,
    /// Whether node chains run as fused kernels (not in traced runs,
    /// which show every node).
    pub fused: bool,
    pub feeds: Vec<Tensor>,
    pub feed_checks: Vec<(TensorSpec, NodeInfo)>,
    pub feed_slots: Vec<usize>,
    pub steps: Vec<Step>,
    pub consts: Vec<Value>,
    /// Per fetch: where its value is (None for ops).
    pub fetch_srcs: Vec<Option<Src>>,
    /// Buffers, kept between runs so kernels can reuse their storage.
    pub bufs: Vec<Value>,
}

/// Compiles the plan for `fetches` given that `feeds` are fed.
pub(crate) fn compile(
    graph: &Graph,
    fetches: &[Fetch],
    feeds: &[Tensor],
    rng_slots: &HashMap<NodeIndex, usize>,
    fuse: bool,
) -> Result<Plan> {
    let gid = graph.id();
    // Before taking this graph's lock: naming a foreign tensor locks its graph.
    for (i, &t) in feeds.iter().enumerate() {
        if t.graph_id() != gid {
            return Err(super::foreign(format!("feed {i}"), Fetch::Tensor(t), graph));
        }
    }
    for (i, &f) in fetches.iter().enumerate() {
        let g = match f {
            Fetch::Tensor(t) => t.graph_id(),
            Fetch::Op(o) => o.graph_id(),
        };
        if g != gid {
            return Err(super::foreign(format!("fetch {i}"), f, graph));
        }
    }
    let st = graph.read();
    let mut fed: HashMap<Tensor, usize> = HashMap::new();
    for (i, &t) in feeds.iter().enumerate() {
        if fed.insert(t, i).is_some() {
            return Err(Error::InvalidFeed {
                node: st.nodes[t.node()].info(),
                reason: "the tensor is fed twice".into(),
            });
        }
    }

    let needed = prune(&st, fetches, &fed)?;
    let order = schedule(&st, &needed, &fed);
    let chains = if fuse {
        super::fuse::chains(&st, gid, &order, &fed, fetches)
    } else {
        HashMap::new()
    };
    let absorbed: Vec<NodeIndex> = chains
        .values()
        .flat_map(|c| c.absorbed.iter().copied())
        .collect();

    let mut slots: HashMap<Tensor, usize> = HashMap::new();
    let mut nslots = 0;
    let mut feed_slots = Vec::with_capacity(feeds.len());
    for &t in feeds {
        slots.insert(t, nslots);
        feed_slots.push(nslots);
        nslots += 1;
    }
    let mut consts = Vec::new();
    let mut srcs: HashMap<Tensor, Src> = HashMap::new();
    let mut steps = Vec::with_capacity(order.len());
    for node in order {
        let n = &st.nodes[node];
        let t0 = Tensor::new(gid, node, 0);
        if let Some(v) = n.op.as_any().downcast_ref::<Variable>() {
            srcs.insert(t0, Src::Var(v.id));
            continue;
        }
        if let Some(c) = n.op.as_any().downcast_ref::<Const>() {
            srcs.insert(t0, Src::Const(consts.len()));
            consts.push(c.value.clone());
            continue;
        }
        if absorbed.contains(&node) {
            continue;
        }
        let src_of = |t: &Tensor| match fed.get(t) {
            Some(&i) => Src::Slot(feed_slots[i]),
            None => srcs[t],
        };
        let chain = chains.get(&node);
        let (op, info, inputs): (Arc<dyn Op>, _, Vec<Src>) = match chain {
            None => (
                n.op.clone(),
                n.info(),
                n.inputs.iter().map(src_of).collect(),
            ),
            Some(c) => (
                c.kernel.clone(),
                st.nodes[c.head].info(),
                c.inputs.iter().map(src_of).collect(),
            ),
        };
        let mut outputs = Vec::with_capacity(n.outputs.len());
        for k in 0..n.outputs.len() {
            let t = Tensor::new(gid, node, k);
            let s = *slots.entry(t).or_insert_with(|| {
                nslots += 1;
                nslots - 1
            });
            srcs.insert(t, Src::Slot(s));
            outputs.push(s);
        }
        steps.push(Step {
            op,
            node: chain.map_or(node, |c| c.head),
            info,
            inputs,
            outputs,
            needed: Vec::new(),
            updates: n.op.updates().to_vec(),
            rng: rng_slots.get(&node).copied(),
        });
    }
    let fetch_srcs: Vec<Option<Src>> = fetches
        .iter()
        .map(|f| match f {
            Fetch::Tensor(t) => Some(match fed.get(t) {
                Some(&i) => Src::Slot(feed_slots[i]),
                None => srcs[t],
            }),
            Fetch::Op(_) => None,
        })
        .collect();
    let mut read = vec![false; nslots];
    let sources = steps
        .iter()
        .flat_map(|s| &s.inputs)
        .chain(fetch_srcs.iter().flatten());
    for src in sources {
        if let Src::Slot(i) = *src {
            read[i] = true;
        }
    }
    for step in &mut steps {
        step.needed = step.outputs.iter().map(|&i| read[i]).collect();
    }
    let feed_checks = feeds
        .iter()
        .map(|t| {
            let n = &st.nodes[t.node()];
            (n.outputs[t.index()].clone(), n.info())
        })
        .collect();
    Ok(Plan {
        fetches: fetches.to_vec(),
        fused: fuse,
        feeds: feeds.to_vec(),
        feed_checks,
        feed_slots,
        steps,
        consts,
        fetch_srcs,
        bufs: (0..nslots).map(|_| Value::default()).collect(),
    })
}

/// The nodes the fetches need, as a bitmap over node indices. Reports
/// every unfed placeholder at once, each with the path that needed it.
fn prune(st: &GraphState, fetches: &[Fetch], fed: &HashMap<Tensor, usize>) -> Result<Vec<bool>> {
    let n = st.nodes.node_count();
    let mut needed = vec![false; n];
    let mut parent: Vec<Option<NodeIndex>> = vec![None; n];
    let mut root: Vec<usize> = vec![0; n];
    let mut stack: Vec<NodeIndex> = Vec::new();
    for (i, f) in fetches.iter().enumerate() {
        let node = match f {
            Fetch::Tensor(t) if fed.contains_key(t) => continue,
            Fetch::Tensor(t) => t.node(),
            Fetch::Op(o) => o.node(),
        };
        if !needed[node.index()] {
            needed[node.index()] = true;
            root[node.index()] = i;
            stack.push(node);
        }
    }
    let mut missing = Vec::new();
    while let Some(node) = stack.pop() {
        let nd = &st.nodes[node];
        if let Some(p) = nd.op.as_any().downcast_ref::<Placeholder>() {
            missing.push(MissingFeed {
                node: nd.info(),
                dtype: p.spec.dtype,
                shape: p.spec.shape.to_string(),
                needed_by: path(st, node, &parent),
            });
            continue;
        }
        let deps = nd
            .inputs
            .iter()
            .filter(|t| !fed.contains_key(t))
            .map(|t| t.node())
            .chain(nd.control_inputs.iter().map(|o| o.node()));
        for d in deps {
            if !needed[d.index()] {
                needed[d.index()] = true;
                parent[d.index()] = Some(node);
                root[d.index()] = root[node.index()];
                stack.push(d);
            }
        }
    }
    if missing.is_empty() {
        Ok(needed)
    } else {
        missing.sort_by(|a, b| a.node.name.cmp(&b.node.name));
        Err(Error::UnfedPlaceholders(missing))
    }
}

/// `fetch <- ... <- node`, the chain of names that made `node` needed.
fn path(st: &GraphState, node: NodeIndex, parent: &[Option<NodeIndex>]) -> String {
    let mut names = vec![st.nodes[node].name.clone()];
    let mut cur = node;
    while let Some(p) = parent[cur.index()] {
        names.push(st.nodes[p].name.clone());
        cur = p;
    }
    names.reverse();
    names.join(" <- ")
}

/// A topological order of the needed nodes in which every node that
/// updates a variable runs as late as its dependents allow, so that reads
/// in the same run see the value from before the run's updates.
fn schedule(st: &GraphState, needed: &[bool], fed: &HashMap<Tensor, usize>) -> Vec<NodeIndex> {
    let deps_of = |i: usize| {
        let nd = &st.nodes[NodeIndex::new(i)];
        let mut d: Vec<usize> = nd
            .inputs
            .iter()
            .filter(|t| !fed.contains_key(t))
            .map(|t| t.node().index())
            .chain(nd.control_inputs.iter().map(|o| o.node().index()))
            .collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    let mut indegree = vec![0usize; needed.len()];
    let mut users: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in (0..needed.len()).filter(|&i| needed[i]) {
        let d = deps_of(i);
        indegree[i] = d.len();
        for j in d {
            users.entry(j).or_default().push(i);
        }
    }
    let updates = |i: usize| !st.nodes[NodeIndex::new(i)].op.updates().is_empty();
    let mut ready: BinaryHeap<Reverse<(bool, usize)>> = (0..needed.len())
        .filter(|&i| needed[i] && indegree[i] == 0)
        .map(|i| Reverse((updates(i), i)))
        .collect();
    let mut order = Vec::new();
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(NodeIndex::new(i));
        for &u in users.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.push(Reverse((updates(u), u)));
            }
        }
    }
    order
}
