//! Constant padding around each axis (`tf.pad` in `CONSTANT` mode), for
//! every dtype (the constant is cast to the tensor's). Its adjoint is the
//! strided slice that cuts the padding off again, resolved against the
//! run-time shape of the gradient.

use super::element::any_dispatch;
use super::slicing::{strided_slice, TO_END};
use crate::dtype::Dim;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{op_kinds, ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::value::Value;
use ndarray::{ArrayD, IxDyn};

op_kinds! {
    PAD = differentiable("Pad", "pad");
}

/// `paddings[i] = [before, after]` copies of a constant around axis `i`.
#[derive(Debug)]
struct Pad {
    paddings: Vec<[usize; 2]>,
    constant: f64,
}

impl Pad {
    fn check(&self, rank: Option<usize>) -> Result<(), String> {
        match rank {
            Some(r) if r != self.paddings.len() => Err(format!(
                "paddings {:?} do not match rank {r}",
                self.paddings
            )),
            _ => Ok(()),
        }
    }
}

impl Op for Pad {
    fn kind(&self) -> &'static OpKind {
        &PAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.check(i[0].shape.rank())?;
        let dims: Vec<Dim> = self
            .paddings
            .iter()
            .enumerate()
            .map(|(k, [b, a])| i[0].shape.dim(k as isize).map(|d| d + b + a))
            .collect();
        Ok(vec![TensorSpec::new(i[0].dtype, dims)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let x = k.input(0);
        self.check(Some(x.shape().len()))?;
        let out: Vec<usize> = x
            .shape()
            .iter()
            .zip(&self.paddings)
            .map(|(d, [b, a])| d + b + a)
            .collect();
        let fill = Value::from(self.constant).cast(x.dtype());
        any_dispatch!(x, T => {
            let a = T::from_value(x).expect("dispatched");
            let c = T::from_value(&fill).and_then(|f| f.first().copied()).expect("cast to x's dtype");
            let mut r = ArrayD::from_elem(IxDyn(&out), c);
            r.slice_each_axis_mut(|ax| {
                let [before, after] = self.paddings[ax.axis.0];
                ndarray::Slice::from(before..ax.len - after)
            })
            .assign(a);
            k.set(0, r);
            Ok(())
        })
    }
    /// dx = dy without the padding.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let begin: Vec<isize> = self.paddings.iter().map(|p| p[0] as isize).collect();
        let end: Vec<isize> = self
            .paddings
            .iter()
            .map(|p| if p[1] == 0 { TO_END } else { -(p[1] as isize) })
            .collect();
        vec![Some(strided_slice(
            c.dy(0),
            begin,
            end,
            vec![1; self.paddings.len()],
        ))]
    }
    fn attrs(&self) -> String {
        format!(
            "paddings={:?}, constant_values={}",
            self.paddings, self.constant
        )
    }
}

/// `tf.pad(tensor, paddings, constant_values=constant_values)` in
/// `CONSTANT` mode: `paddings[i] = [before, after]` entries of
/// `constant_values` (cast to the tensor's dtype) around axis `i`.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::pad};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(3)], "x");
/// assert_eq!(pad(x, &[[0, 0], [1, 2]], 0.0).shape().to_string(), "[?, 6]");
/// ```
#[track_caller]
pub fn pad(tensor: Tensor, paddings: &[[usize; 2]], constant_values: f64) -> Tensor {
    let op = Pad {
        paddings: paddings.to_vec(),
        constant: constant_values,
    };
    tensor.graph().add_op(op, &[tensor])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{feed, Graph, Session};

    #[test]
    fn pads_any_dtype() {
        let g = Graph::new();
        let b = g.constant(ndarray::array![[true]].into_dyn());
        let padded = pad(b, &[[1, 0], [0, 1]], 0.0);
        let mut s = Session::new(&g);
        let p = s
            .run(padded, &feed! {})
            .unwrap()
            .into_array::<bool>()
            .unwrap();
        assert_eq!(p.as_slice().unwrap(), &[false, false, true, false]);
    }
}
