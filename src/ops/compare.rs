//! Comparisons and logic with NumPy broadcasting (bool outputs, no
//! gradients, as in TF) and TF1's `tf.where(condition, x, y)` selection.

use super::element::numeric_dispatch;
use super::element::zip_broadcast;
use super::math::infer_broadcast;
use super::zeros_like;
use crate::dtype::DType;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::{Element, Value};
use ndarray::{ArrayD, IxDyn, Zip};

op_kinds! {
    EQUAL = not_differentiable("Equal", "equal");
    NOT_EQUAL = not_differentiable("NotEqual", "not_equal");
    LESS = not_differentiable("Less", "less");
    LESS_EQUAL = not_differentiable("LessEqual", "less_equal");
    GREATER = not_differentiable("Greater", "greater");
    GREATER_EQUAL = not_differentiable("GreaterEqual", "greater_equal");
    LOGICAL_AND = not_differentiable("LogicalAnd", "logical_and");
    LOGICAL_OR = not_differentiable("LogicalOr", "logical_or");
    LOGICAL_NOT = not_differentiable("LogicalNot", "logical_not");
    SELECT = differentiable("Select", "where");
}

/// A broadcasting comparison of two tensors of one dtype.
#[derive(Debug, Clone, Copy)]
enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl Comparison {
    fn test<T: PartialOrd>(self, x: T, y: T) -> bool {
        match self {
            Comparison::Equal => x == y,
            Comparison::NotEqual => x != y,
            Comparison::Less => x < y,
            Comparison::LessEqual => x <= y,
            Comparison::Greater => x > y,
            Comparison::GreaterEqual => x >= y,
        }
    }

    fn apply<T: Element + PartialOrd>(
        self,
        a: &Value,
        b: &Value,
    ) -> Result<ArrayD<bool>, KernelError> {
        let a = T::from_value(a).ok_or("dtypes differ")?;
        let b = T::from_value(b).ok_or("dtypes differ")?;
        Ok(zip_broadcast(a, b, |x, y| self.test(x, y))?)
    }
}

#[derive(Debug)]
struct Compare(Comparison);

impl Op for Compare {
    fn kind(&self) -> &'static OpKind {
        match self.0 {
            Comparison::Equal => &EQUAL,
            Comparison::NotEqual => &NOT_EQUAL,
            Comparison::Less => &LESS,
            Comparison::LessEqual => &LESS_EQUAL,
            Comparison::Greater => &GREATER,
            Comparison::GreaterEqual => &GREATER_EQUAL,
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let ordered = !matches!(self.0, Comparison::Equal | Comparison::NotEqual);
        if ordered && i[0].dtype == DType::Bool {
            return Err(format!("{} of bool tensors", self.kind().name));
        }
        infer_broadcast(i, Some(DType::Bool))
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let (a, b) = (k.input(0), k.input(1));
        let r = match a.dtype() {
            DType::Bool => self.0.apply::<bool>(a, b)?,
            _ => numeric_dispatch!(a, T => self.0.apply::<T>(a, b))?,
        };
        k.set(0, r);
        Ok(())
    }
}

/// `tf.equal(x, y)`: elementwise `x == y` as bool, with broadcasting.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::{equal, less}};
/// let g = Graph::new();
/// let x = g.constant(vec![1.0f32, 2.0, 3.0]);
/// let two = g.constant(2.0f32);
/// let (eq, lt) = (equal(x, two), less(x, two));
/// let mut s = Session::new(&g);
/// let (e, l) = s.run((eq, lt), &feed!{}).unwrap();
/// assert_eq!(e.into_array::<bool>().unwrap().as_slice().unwrap(), &[false, true, false]);
/// assert_eq!(l.into_array::<bool>().unwrap().as_slice().unwrap(), &[true, false, false]);
/// ```
#[track_caller]
pub fn equal(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Compare(Comparison::Equal), &[x, y])
}

/// `tf.not_equal(x, y)`: elementwise `x != y` as bool, with broadcasting.
#[track_caller]
pub fn not_equal(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Compare(Comparison::NotEqual), &[x, y])
}

/// `tf.less(x, y)`: elementwise `x < y` as bool, with broadcasting.
#[track_caller]
pub fn less(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Compare(Comparison::Less), &[x, y])
}

/// `tf.less_equal(x, y)`: elementwise `x <= y` as bool, with broadcasting.
#[track_caller]
pub fn less_equal(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Compare(Comparison::LessEqual), &[x, y])
}

/// `tf.greater(x, y)`: elementwise `x > y` as bool, with broadcasting.
#[track_caller]
pub fn greater(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Compare(Comparison::Greater), &[x, y])
}

/// `tf.greater_equal(x, y)`: elementwise `x >= y` as bool, with broadcasting.
#[track_caller]
pub fn greater_equal(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Compare(Comparison::GreaterEqual), &[x, y])
}

/// `logical_and`, `logical_or` (broadcasting) and `logical_not`.
#[derive(Debug, Clone, Copy)]
enum Logic {
    And,
    Or,
    Not,
}

#[derive(Debug)]
struct Logical(Logic);

impl Op for Logical {
    fn kind(&self) -> &'static OpKind {
        match self.0 {
            Logic::And => &LOGICAL_AND,
            Logic::Or => &LOGICAL_OR,
            Logic::Not => &LOGICAL_NOT,
        }
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        if let Some(s) = i.iter().find(|s| s.dtype != DType::Bool) {
            return Err(format!(
                "{} needs bool tensors, got {}",
                self.kind().name,
                s.dtype
            ));
        }
        match self.0 {
            Logic::Not => Ok(vec![i[0].clone()]),
            Logic::And | Logic::Or => infer_broadcast(i, None),
        }
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let bools = |i: usize| bool::from_value(k.input(i)).ok_or("expected a bool tensor");
        let r = match self.0 {
            Logic::Not => bools(0)?.mapv(|v| !v),
            Logic::And => zip_broadcast(bools(0)?, bools(1)?, |x, y| x && y)?,
            Logic::Or => zip_broadcast(bools(0)?, bools(1)?, |x, y| x || y)?,
        };
        k.set(0, r);
        Ok(())
    }
}

/// `tf.logical_and(x, y)` of bool tensors, with broadcasting.
#[track_caller]
pub fn logical_and(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Logical(Logic::And), &[x, y])
}

/// `tf.logical_or(x, y)` of bool tensors, with broadcasting.
#[track_caller]
pub fn logical_or(x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Logical(Logic::Or), &[x, y])
}

/// `tf.logical_not(x)` of a bool tensor.
#[track_caller]
pub fn logical_not(x: Tensor) -> Tensor {
    x.graph().add_op(Logical(Logic::Not), &[x])
}

/// TF1's `Select`: `x` where `condition`, else `y`.
#[derive(Debug)]
struct Select;

/// `x` where `cond`, else `y`; `cond` has `x`'s shape, or is a vector
/// over `x`'s first axis.
fn select<T: Element>(
    cond: &ArrayD<bool>,
    x: &ArrayD<T>,
    y: &ArrayD<T>,
) -> Result<ArrayD<T>, String> {
    if x.shape() != y.shape() {
        return Err(format!(
            "where needs x and y of one shape, got {:?} and {:?}",
            x.shape(),
            y.shape()
        ));
    }
    let shape: Vec<usize> = if cond.shape() == x.shape() {
        x.shape().to_vec()
    } else if cond.ndim() == 1 && x.ndim() > 1 && cond.len() == x.shape()[0] {
        let mut lead = vec![1; x.ndim()];
        lead[0] = cond.len();
        lead
    } else {
        return Err(format!(
            "where needs a condition of x's shape {:?} (or a vector over its first axis), got {:?}",
            x.shape(),
            cond.shape()
        ));
    };
    let cond = cond
        .view()
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())?;
    let cond = cond
        .broadcast(x.raw_dim())
        .ok_or("cannot broadcast the condition")?;
    Ok(Zip::from(&cond)
        .and(x)
        .and(y)
        .map_collect(|&c, &a, &b| if c { a } else { b }))
}

impl Op for Select {
    fn kind(&self) -> &'static OpKind {
        &SELECT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        let (c, x, y) = (&i[0], &i[1], &i[2]);
        if c.dtype != DType::Bool {
            return Err(format!("where needs a bool condition, got {}", c.dtype));
        }
        if x.dtype != y.dtype {
            return Err(format!(
                "dtypes of x and y differ: {} vs {}",
                x.dtype, y.dtype
            ));
        }
        let shape = x.shape.merge(&y.shape).ok_or_else(|| {
            format!(
                "where needs x and y of one shape, got {} and {}",
                x.shape, y.shape
            )
        })?;
        let vector_cond = c.shape.rank() == Some(1) && shape.rank().is_some_and(|r| r > 1);
        let fits = if vector_cond {
            c.shape.merge(&[shape.dim(0)].into()).is_some()
        } else {
            c.shape.merge(&shape).is_some()
        };
        if !fits {
            return Err(format!(
                "where needs a condition of shape {shape} (or a vector over its first axis), got {}",
                c.shape
            ));
        }
        Ok(vec![TensorSpec::new(x.dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let cond = bool::from_value(k.input(0)).ok_or("where needs a bool condition")?;
        let (x, y) = (k.input(1), k.input(2));
        let r: Value = match x.dtype() {
            DType::Bool => {
                let y = bool::from_value(y).ok_or("dtypes of x and y differ")?;
                select(cond, bool::from_value(x).expect("dispatched"), y)?.into()
            }
            _ => numeric_dispatch!(x, T => {
                let y = T::from_value(y).ok_or("dtypes of x and y differ")?;
                Ok(Value::from(select(cond, T::from_value(x).expect("dispatched"), y)?))
            })?,
        };
        k.set(0, r);
        Ok(())
    }
    /// d where(c, x, y) = (none, dy where c, dy where !c).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (cond, dy) = (c.x(0), c.dy(0));
        let zeros = zeros_like(dy);
        vec![
            None,
            Some(where_(cond, dy, zeros)),
            Some(where_(cond, zeros, dy)),
        ]
    }
}

/// TF1's `tf.where(condition, x, y)`: `x` where `condition` is true, else
/// `y`, elementwise. `x` and `y` have one shape; `condition` has that shape
/// too, or is a vector that picks whole rows along the first axis. (Named
/// `where_` because `where` is a Rust keyword; TF2's broadcasting `where_v2`
/// and the one-argument index form are not this op.)
///
/// The gradient goes to `x` where `condition` holds and to `y` elsewhere.
///
/// ```
/// use tensorgraph::{Graph, Session, feed, ops::{greater, where_}};
/// let g = Graph::new();
/// let x = g.constant(vec![1.0f32, -2.0, 3.0]);
/// let y = g.constant(vec![0.0f32, 0.0, 0.0]);
/// let relu = where_(greater(x, y), x, y);
/// let mut s = Session::new(&g);
/// let r = s.run(relu, &feed!{}).unwrap();
/// assert_eq!(r.into_array::<f32>().unwrap().as_slice().unwrap(), &[1.0, 0.0, 3.0]);
/// ```
#[track_caller]
pub fn where_(condition: Tensor, x: Tensor, y: Tensor) -> Tensor {
    x.graph().add_op(Select, &[condition, x, y])
}
