//! Graph state: variables, the ops that assign them and their
//! initializers, plus `no_op`/`group` to bundle effects. Variable values
//! live in the session, never in the graph: a variable node only names its
//! slot in the session's store, and an op that writes one says so
//! (`Op::updates`), which the plan's schedule relies on.

use crate::error::Error;
use crate::graph::{raise, Graph, Operation, Tensor, TensorSpec, VariableMeta};
use crate::op::{op_kinds, ComputeCtx, KernelError, Op, OpKind};
use crate::value::Value;

op_kinds! {
    VARIABLE = not_differentiable("VariableV2", "variable");
    ASSIGN = not_differentiable("Assign", "assign");
    ASSIGN_ADD = not_differentiable("AssignAdd", "assign_add");
    ASSIGN_SUB = not_differentiable("AssignSub", "assign_sub");
    NO_OP = not_differentiable("NoOp", "no_op");
}

/// A variable: its value lives in each session's variable store.
#[derive(Debug)]
pub(crate) struct Variable {
    /// Index in the session's variable store.
    pub(crate) id: usize,
    spec: TensorSpec,
}

impl Op for Variable {
    fn kind(&self) -> &'static OpKind {
        &VARIABLE
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![self.spec.clone()])
    }
    fn compute(&self, _: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        // Plans read variables straight from the store; see session::plan.
        Err("variables are read from the session's store".into())
    }
}

/// How an assign op combines the variable and its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AssignMode {
    Set,
    Add,
    Sub,
}

/// `var = value`, `var += value` or `var -= value`.
#[derive(Debug)]
struct Assign {
    var: [usize; 1],
    spec: TensorSpec,
    mode: AssignMode,
}

impl Op for Assign {
    fn kind(&self) -> &'static OpKind {
        match self.mode {
            AssignMode::Set => &ASSIGN,
            AssignMode::Add => &ASSIGN_ADD,
            AssignMode::Sub => &ASSIGN_SUB,
        }
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let v = &inputs[0];
        if v.dtype != self.spec.dtype {
            return Err(format!(
                "cannot assign a {} value to a {} variable",
                v.dtype, self.spec.dtype
            ));
        }
        if self.spec.shape.merge(&v.shape).is_none() {
            return Err(format!(
                "cannot assign a value of shape {} to a variable of shape {}",
                v.shape, self.spec.shape
            ));
        }
        Ok(vec![])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let value = k.input(0);
        let spec_ok = self.spec.shape.is_compatible_with(value.shape());
        let slot = &mut k.state()[0];
        if self.mode == AssignMode::Set {
            if !spec_ok {
                return Err(format!(
                    "value of shape {:?} does not fit the variable",
                    value.shape()
                )
                .into());
            }
            match slot {
                Some(old) if old.dtype() == value.dtype() && old.shape() == value.shape() => {
                    crate::with_array!(old, a => a.assign(value.as_array().expect("same dtype")))
                }
                _ => *slot = Some(value.clone()),
            }
            return Ok(());
        }
        let Some(old) = slot.as_mut() else {
            return Err(KernelError::Uninitialized(0));
        };
        if old.shape() != value.shape() {
            return Err(format!(
                "variable has shape {:?} but the update has shape {:?}",
                old.shape(),
                value.shape()
            )
            .into());
        }
        let sub = self.mode == AssignMode::Sub;
        match (old, value) {
            (Value::F32(a), Value::F32(b)) if sub => *a -= b,
            (Value::F32(a), Value::F32(b)) => *a += b,
            (Value::F64(a), Value::F64(b)) if sub => *a -= b,
            (Value::F64(a), Value::F64(b)) => *a += b,
            (Value::I32(a), Value::I32(b)) if sub => *a -= b,
            (Value::I32(a), Value::I32(b)) => *a += b,
            (Value::I64(a), Value::I64(b)) if sub => *a -= b,
            (Value::I64(a), Value::I64(b)) => *a += b,
            _ => {
                return Err(
                    "assign_add/assign_sub need numeric values of the variable's dtype".into(),
                )
            }
        }
        Ok(())
    }
    fn updates(&self) -> &[usize] {
        &self.var
    }
}

/// Does nothing; with control inputs it groups effects (`tf.group`).
#[derive(Debug)]
pub(crate) struct NoOp;

impl Op for NoOp {
    fn kind(&self) -> &'static OpKind {
        &NO_OP
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![])
    }
    fn compute(&self, _: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        Ok(())
    }
}

/// The variable id of a variable tensor.
///
/// # Panics
/// When `t` is not a variable (a graph-construction mistake).
#[track_caller]
pub(crate) fn variable_id(t: Tensor) -> usize {
    let g = t.graph();
    let found = g.with_node(t.node(), |node| match node.op.downcast::<Variable>() {
        Some(v) => Ok(v.id),
        None => Err(format!(
            "`{}` ({}) is not a variable; only variables can be assigned",
            node.name,
            node.kind().name
        )),
    });
    found.unwrap_or_else(|message| raise(Error::InvalidArgument(message)))
}

#[track_caller]
fn assign_op(var: Tensor, value: Tensor, mode: AssignMode, name: &str) -> Operation {
    let id = variable_id(var);
    let spec = var.spec();
    let g = var.graph();
    let base = format!("{}/{name}", var.name());
    g.add_node(
        Assign {
            var: [id],
            spec,
            mode,
        },
        &[value],
        Some(&base),
    )
}

/// `tf.assign(var, value)`: an op that sets the variable.
#[track_caller]
pub fn assign(var: Tensor, value: Tensor) -> Operation {
    assign_op(var, value, AssignMode::Set, "Assign")
}

/// `tf.assign_add(var, delta)`.
#[track_caller]
pub fn assign_add(var: Tensor, delta: Tensor) -> Operation {
    assign_op(var, delta, AssignMode::Add, "AssignAdd")
}

/// `tf.assign_sub(var, delta)`.
#[track_caller]
pub fn assign_sub(var: Tensor, delta: Tensor) -> Operation {
    assign_op(var, delta, AssignMode::Sub, "AssignSub")
}

/// `tf.group(ops)`: one op that runs all of `ops`.
#[track_caller]
pub fn group(ops: &[Operation]) -> Operation {
    let g = ops.first().expect("group needs at least one op").graph();
    let _c = g.control_dependencies(ops);
    g.add_node(NoOp, &[], Some("group_deps"))
}

impl Graph {
    /// `tf.Variable(initial_value, name=name)`: a variable whose value lives
    /// in each session, initialised by `initial_value` when the
    /// [`Graph::global_variables_initializer`] op (or the variable's own
    /// initializer) runs. Its static shape and dtype are the initial
    /// value's. Returns the tensor that reads the variable.
    ///
    /// # Panics
    /// When a variable of that name already exists.
    ///
    /// ```
    /// use tensorgraph::{Graph, Session, feed};
    /// let g = Graph::new();
    /// let w = g.variable(g.zeros([2usize, 3], tensorgraph::DType::Float32), "W");
    /// let init = g.global_variables_initializer();
    /// let mut s = Session::new(&g);
    /// s.run(init, &feed!{}).unwrap();
    /// assert_eq!(s.run(w, &feed!{}).unwrap().shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn variable(&self, initial_value: Tensor, name: &str) -> Tensor {
        self.variable_with(initial_value, name, true)
    }

    /// A variable that optimizers leave alone (`trainable=False`), such as
    /// `global_step` or optimizer slots.
    #[track_caller]
    pub fn variable_untrainable(&self, initial_value: Tensor, name: &str) -> Tensor {
        self.variable_with(initial_value, name, false)
    }

    #[track_caller]
    fn variable_with(&self, init: Tensor, name: &str, trainable: bool) -> Tensor {
        let full = {
            let st = self.read();
            let scoped = if st.scopes.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", st.scopes.join("/"))
            };
            match st.names.get(&scoped) {
                Some(&other) => Err(format!(
                    "variable `{scoped}` already exists (built at {}:{}); give each variable its own name",
                    st.nodes[other].site.file(),
                    st.nodes[other].site.line()
                )),
                None => Ok(scoped),
            }
        }
        .unwrap_or_else(|message| raise(Error::InvalidArgument(message)));
        let id = self.read().variables.len();
        let spec = init.spec();
        let v = self.add_node(Variable { id, spec }, &[], Some(name));
        debug_assert_eq!(v.name(), full);
        {
            let mut st = self.write();
            st.variables.push(v.node());
            st.var_meta.push(VariableMeta {
                initializer: None,
                trainable,
            });
        }
        let var = v.output(0);
        let init_op = assign(var, init);
        self.write().var_meta[id].initializer = Some(init_op);
        var
    }

    /// The op that initialises one variable.
    ///
    /// # Panics
    /// When `var` is not a variable.
    #[track_caller]
    pub fn initializer(&self, var: Tensor) -> Operation {
        let id = variable_id(var);
        self.read().var_meta[id]
            .initializer
            .expect("set at creation")
    }

    /// `tf.global_variables_initializer()`: one op that initialises every
    /// variable built so far.
    #[track_caller]
    pub fn global_variables_initializer(&self) -> Operation {
        let inits: Vec<Operation> = self
            .read()
            .var_meta
            .iter()
            .filter_map(|m| m.initializer)
            .collect();
        let _c = self.control_dependencies(&inits);
        self.add_node(NoOp, &[], Some("init"))
    }

    /// `tf.global_variables()`: every variable, in creation order.
    pub fn global_variables(&self) -> Vec<Tensor> {
        let st = self.read();
        st.variables
            .iter()
            .map(|&n| Tensor::new(self.id(), n, 0))
            .collect()
    }

    /// `tf.trainable_variables()`: the variables optimizers update by default.
    pub fn trainable_variables(&self) -> Vec<Tensor> {
        let st = self.read();
        st.variables
            .iter()
            .zip(&st.var_meta)
            .filter(|(_, m)| m.trainable)
            .map(|(&n, _)| Tensor::new(self.id(), n, 0))
            .collect()
    }

    /// `tf.no_op()`.
    #[track_caller]
    pub fn no_op(&self) -> Operation {
        self.add_node(NoOp, &[], None)
    }
}
