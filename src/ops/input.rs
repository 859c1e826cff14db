//! Graph inputs: placeholders, whose values come from the feed of each
//! run (or a default), and constants, whose values the graph holds. A
//! plain placeholder never runs: the session reads a fed one from the feed
//! and reports an unfed one before anything runs.

use crate::dtype::{DType, Shape};
use crate::graph::{Graph, Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::Value;

op_kinds! {
    PLACEHOLDER = not_differentiable("Placeholder", "placeholder");
    PLACEHOLDER_WITH_DEFAULT = differentiable("PlaceholderWithDefault", "placeholder_with_default");
    CONST = not_differentiable("Const", "constant");
}

/// A value supplied by the feed of each run.
#[derive(Debug)]
pub(crate) struct Placeholder {
    /// The dtype and static shape fed values must have.
    pub(crate) spec: TensorSpec,
}

impl Op for Placeholder {
    fn kind(&self) -> &'static OpKind {
        &PLACEHOLDER
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![self.spec.clone()])
    }
    fn compute(&self, _: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        // The session never schedules a placeholder: a fed one is read from
        // the feed and an unfed one is reported before anything runs.
        Err("placeholder was not fed".into())
    }
}

/// Passes its default through unless fed.
#[derive(Debug)]
struct PlaceholderWithDefault {
    shape: Shape,
}

impl Op for PlaceholderWithDefault {
    fn kind(&self) -> &'static OpKind {
        &PLACEHOLDER_WITH_DEFAULT
    }
    fn infer(&self, inputs: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if let Some(dims) = inputs[0].shape.to_vec() {
            if !self.shape.is_compatible_with(&dims) {
                return Err(format!(
                    "default of shape {} does not fit shape {}",
                    inputs[0].shape, self.shape
                ));
            }
        }
        Ok(vec![TensorSpec::new(inputs[0].dtype, self.shape.clone())])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let v = k.input(0).clone();
        k.set(0, v);
        Ok(())
    }
    /// d default = dy (TF passes the gradient to the default).
    fn grad(&self, ctx: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(ctx.dy(0))]
    }
}

/// A value baked into the graph.
#[derive(Debug)]
pub(crate) struct Const {
    /// The value.
    pub(crate) value: Value,
}

impl Op for Const {
    fn kind(&self) -> &'static OpKind {
        &CONST
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        Ok(vec![TensorSpec::new(
            self.value.dtype(),
            self.value.shape(),
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        k.set(0, self.value.clone());
        Ok(())
    }
    fn attrs(&self) -> String {
        if self.value.len() == 1 {
            format!("value={}", self.value)
        } else {
            String::new()
        }
    }
}

/// A scalar constant with `t`'s dtype, in `t`'s graph.
#[track_caller]
pub fn scalar_like(x: f64, t: Tensor) -> Tensor {
    t.graph()
        .constant(Value::F64(ndarray::arr0(x).into_dyn()).cast(t.dtype()))
}

impl Graph {
    /// `tf.placeholder(dtype, shape, name)`: a value to be fed at each run.
    /// Unknown dimensions are `None`, as TF's `[None, 784]`.
    ///
    /// ```
    /// use tensorgraph::{Graph, DType};
    /// let g = Graph::new();
    /// let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
    /// assert_eq!(x.shape().to_string(), "[?, 784]");
    /// ```
    #[track_caller]
    pub fn placeholder(&self, dtype: DType, shape: impl Into<Shape>, name: &str) -> Tensor {
        let spec = TensorSpec::new(dtype, shape);
        self.add_node(Placeholder { spec }, &[], Some(name))
            .output(0)
    }

    /// `tf.placeholder_with_default(default, shape)`: `default` unless fed.
    ///
    /// ```
    /// use tensorgraph::{Graph, Session, feed};
    /// let g = Graph::new();
    /// let keep = g.placeholder_with_default(g.constant(1.0f32), [0usize; 0], "keep_prob");
    /// let mut s = Session::new(&g);
    /// assert_eq!(s.run(keep, &feed!{}).unwrap().scalar::<f32>().unwrap(), 1.0);
    /// assert_eq!(s.run(keep, &feed!{keep => 0.5f32}).unwrap().scalar::<f32>().unwrap(), 0.5);
    /// ```
    #[track_caller]
    pub fn placeholder_with_default(
        &self,
        default: Tensor,
        shape: impl Into<Shape>,
        name: &str,
    ) -> Tensor {
        let op = PlaceholderWithDefault {
            shape: shape.into(),
        };
        self.add_node(op, &[default], Some(name)).output(0)
    }

    /// `tf.constant(value)` from a scalar, a `Vec` or an ndarray array.
    ///
    /// ```
    /// use tensorgraph::Graph;
    /// let g = Graph::new();
    /// let c = g.constant(ndarray::array![[1.0f32, 2.0], [3.0, 4.0]].into_dyn());
    /// assert_eq!(c.shape().to_string(), "[2, 2]");
    /// ```
    #[track_caller]
    pub fn constant(&self, value: impl Into<Value>) -> Tensor {
        self.add_node(
            Const {
                value: value.into(),
            },
            &[],
            None,
        )
        .output(0)
    }
}
