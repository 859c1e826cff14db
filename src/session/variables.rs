//! Reading and writing variable values directly, outside any run: what
//! checkpoints ([`crate::train::Saver`]) are built on.

use super::Session;
use crate::error::{Error, Result};
use crate::graph::Tensor;
use crate::ops::Variable;
use crate::value::Value;

impl Session<'_> {
    /// The id of the variable `var` reads, or an error naming what it is.
    fn variable_slot(&self, var: Tensor) -> Result<usize> {
        if var.graph_id() != self.graph.id() {
            return Err(super::foreign(
                "variable".into(),
                super::Fetch::Tensor(var),
                self.graph,
            ));
        }
        self.graph.with_node(var.node(), |n| {
            n.op.as_any()
                .downcast_ref::<Variable>()
                .map(|v| v.id)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "`{}` ({}) is not a variable",
                        n.name,
                        n.kind().name
                    ))
                })
        })
    }

    /// The current value of variable `var`.
    ///
    /// # Errors
    /// When `var` is not a variable of this session's graph, or has not
    /// been initialised.
    ///
    /// ```
    /// use tensorgraph::{feed, DType, Graph, Session};
    /// let g = Graph::new();
    /// let w = g.variable(g.ones([2usize], DType::Float32), "w");
    /// let init = g.global_variables_initializer();
    /// let mut s = Session::new(&g);
    /// assert!(s.variable_value(w).is_err());
    /// s.run(init, &feed! {}).unwrap();
    /// assert_eq!(s.variable_value(w).unwrap().shape(), &[2]);
    /// ```
    pub fn variable_value(&self, var: Tensor) -> Result<Value> {
        let id = self.variable_slot(var)?;
        self.vars[id]
            .clone()
            .ok_or_else(|| Error::UninitializedVariable {
                var: self.var_infos[id].clone(),
                reader: self.var_infos[id].clone(),
            })
    }

    /// Sets variable `var` to `value` (which then counts as initialised).
    ///
    /// # Errors
    /// When `var` is not a variable of this graph, or `value`'s dtype or
    /// shape does not fit the variable's.
    pub fn set_variable(&mut self, var: Tensor, value: Value) -> Result<()> {
        let id = self.variable_slot(var)?;
        let spec = var.spec();
        if value.dtype() != spec.dtype {
            return Err(Error::InvalidArgument(format!(
                "cannot set variable {} of dtype {} to a {} value",
                self.var_infos[id],
                spec.dtype,
                value.dtype()
            )));
        }
        if !spec.shape.is_compatible_with(value.shape()) {
            return Err(Error::InvalidArgument(format!(
                "cannot set variable {} of shape {} to a value of shape {}",
                self.var_infos[id],
                spec.shape,
                crate::dtype::fmt_dims(value.shape())
            )));
        }
        self.vars[id] = Some(value);
        Ok(())
    }
}
