//! Symbolic reverse mode: `gradients(ys, xs)` walks the graph backwards
//! from `ys`, asks each op on a path to an `x` for its gradient (built as
//! ordinary nodes under the `gradients/` scope) and sums the contributions
//! reaching each tensor. Nothing here touches arrays.

use crate::graph::{Graph, Tensor};
use crate::op::{GradCtx, Op};
use crate::ops::ones_like;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::Arc;

/// `tf.gradients(ys, xs)`: the gradient of `sum(ys)` with respect to each
/// of `xs`, as new nodes of the same graph. An entry is `None` when that
/// `x` does not reach any `y` through differentiable ops, as in TF;
/// [`Graph::explain_gradient`] says why.
///
/// ```
/// use tensorgraph::{Graph, DType, Session, feed, gradients};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float64, [0usize; 0], "x");
/// let y = x * x * x;
/// let dy = gradients(&[y], &[x])[0].unwrap();
/// let d2y = gradients(&[dy], &[x])[0].unwrap();
/// let mut s = Session::new(&g);
/// let (a, b) = s.run((dy, d2y), &feed! { x => 2.0f64 }).unwrap();
/// assert_eq!(a.scalar::<f64>().unwrap(), 12.0);
/// assert_eq!(b.scalar::<f64>().unwrap(), 12.0);
/// ```
#[track_caller]
pub fn gradients(ys: &[Tensor], xs: &[Tensor]) -> Vec<Option<Tensor>> {
    gradients_with_grad_ys(ys, xs, &[])
}

/// `tf.gradients(ys, xs, grad_ys)`: like [`gradients`], with the upstream
/// gradient of each `y` given (`None` or a missing entry means ones).
///
/// # Panics
/// When `ys` is empty, tensors of different graphs are mixed, or a
/// `grad_ys` entry's dtype differs from its `y`'s.
#[track_caller]
pub fn gradients_with_grad_ys(
    ys: &[Tensor],
    xs: &[Tensor],
    grad_ys: &[Option<Tensor>],
) -> Vec<Option<Tensor>> {
    let site = Location::caller();
    let graph = ys.first().expect("gradients needs at least one y").graph();
    for t in ys.iter().chain(xs).chain(grad_ys.iter().flatten()) {
        assert!(
            t.graph_id() == graph.id(),
            "gradients at {}:{}: tensors of different graphs are mixed",
            site.file(),
            site.line()
        );
    }
    graph.with_site(site, || {
        let _scope = graph.name_scope("gradients");
        Builder::new(&graph, xs).run(ys, xs, grad_ys)
    })
}

/// A snapshot of one node, taken so no lock is held while gradient
/// functions build new nodes.
struct NodeView {
    op: Arc<dyn Op>,
    name: String,
    inputs: Vec<Tensor>,
    outputs: Vec<Tensor>,
    differentiable: bool,
}

struct Builder<'g> {
    graph: &'g Graph,
    /// Nodes from which some x is reachable going forward, i.e. that depend on an x.
    depends_on_x: Vec<bool>,
}

impl<'g> Builder<'g> {
    fn new(graph: &'g Graph, xs: &[Tensor]) -> Builder<'g> {
        let st = graph.read();
        let n = st.nodes.node_count();
        let mut depends_on_x = vec![false; n];
        for x in xs {
            depends_on_x[x.node().index()] = true;
        }
        // Creation order is topological, so one forward sweep suffices.
        for i in 0..n {
            if !depends_on_x[i] {
                let node = &st.nodes[NodeIndex::new(i)];
                depends_on_x[i] = node.inputs.iter().any(|t| depends_on_x[t.node().index()]);
            }
        }
        Builder {
            graph,
            depends_on_x,
        }
    }

    fn view(&self, node: NodeIndex) -> NodeView {
        let st = self.graph.read();
        let n = &st.nodes[node];
        NodeView {
            op: n.op.clone(),
            name: n.name.clone(),
            inputs: n.inputs.clone(),
            outputs: (0..n.outputs.len())
                .map(|k| Tensor::new(self.graph.id(), node, k))
                .collect(),
            differentiable: n.kind().differentiable,
        }
    }

    fn run(&self, ys: &[Tensor], xs: &[Tensor], grad_ys: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        let mut pending: HashMap<Tensor, Vec<Tensor>> = HashMap::new();
        for (i, &y) in ys.iter().enumerate() {
            if !self.depends_on_x[y.node().index()] || !y.dtype().is_float() {
                continue;
            }
            let g = match grad_ys.get(i).copied().flatten() {
                Some(g) => {
                    assert_eq!(g.dtype(), y.dtype(), "grad_ys[{i}] must have y's dtype");
                    g
                }
                None => ones_like(y),
            };
            pending.entry(y).or_default().push(g);
        }
        let top = ys.iter().map(|y| y.node().index()).max().unwrap_or(0);
        let mut done: HashMap<Tensor, Tensor> = HashMap::new();
        for i in (0..=top).rev() {
            if !self.depends_on_x[i] {
                continue;
            }
            let node = NodeIndex::new(i);
            let v = self.view(node);
            let mut out_grads = Vec::with_capacity(v.outputs.len());
            for &o in &v.outputs {
                out_grads.push(
                    pending
                        .remove(&o)
                        .map(|parts| self.sum(o, parts, &mut done)),
                );
            }
            if out_grads.iter().all(Option::is_none) || !v.differentiable || v.inputs.is_empty() {
                continue;
            }
            let needs: Vec<bool> = v
                .inputs
                .iter()
                .map(|t| self.depends_on_x[t.node().index()] && t.dtype().is_float())
                .collect();
            if !needs.contains(&true) {
                continue;
            }
            let grads = {
                let _s = self.graph.name_scope(&format!("{}_grad", leaf(&v.name)));
                v.op.grad(&GradCtx {
                    inputs: &v.inputs,
                    outputs: &v.outputs,
                    grads: &out_grads,
                })
            };
            debug_assert_eq!(grads.len(), v.inputs.len(), "{} grad arity", v.name);
            for ((t, g), need) in v.inputs.iter().zip(grads).zip(needs) {
                if let (Some(g), true) = (g, need) {
                    pending.entry(*t).or_default().push(g);
                }
            }
        }
        xs.iter()
            .map(|x| {
                done.get(x)
                    .copied()
                    .or_else(|| pending.remove(x).map(|p| self.sum(*x, p, &mut done)))
            })
            .collect()
    }

    /// Adds up the gradient contributions reaching `t` (once).
    fn sum(&self, t: Tensor, parts: Vec<Tensor>, done: &mut HashMap<Tensor, Tensor>) -> Tensor {
        let g = crate::ops::math::sum_contributions(&parts).expect("at least one contribution");
        done.insert(t, g);
        self.graph.write().grad_of.insert(t, g);
        g
    }
}

fn leaf(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}
