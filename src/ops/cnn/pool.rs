//! Max and average pooling over NHWC images, with the window geometry
//! and padding rules of `window` (conv2d's). Their gradients are ops in
//! adjoint pairs (`MaxPoolGrad` scatters to each window's first maximum
//! and `MaxPoolGradGrad` gathers from it; `AvgPoolGrad` is `AvgPool`'s
//! adjoint), so second derivatives work. The session's fused max-pool +
//! relu gradient is here too, beside the op it extends.

use super::pool_kernels::{
    by_images, max_pool_grad_grad_images, max_pool_grad_images, max_pool_images,
};
use super::window::{check_shape, dims4, flat, same_float, static_out, Geometry, Padding, Window};
use super::{
    AVG_POOL, AVG_POOL_GRAD, FUSED_MAX_POOL_RELU_GRAD, MAX_POOL, MAX_POOL_GRAD, MAX_POOL_GRAD_GRAD,
};
use crate::dtype::Shape;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::ops::element::float_dispatch;
use crate::ops::fused::not_a_graph_node;
use crate::ops::{zeros_like, Float};
use ndarray::{ArrayD, IxDyn};
use std::sync::Arc;

/// Pooling attributes shared by the pooling ops and their gradients.
#[derive(Clone, Copy, Debug)]
pub(super) struct PoolAttrs {
    ksize: Window,
    strides: Window,
    padding: Padding,
}

impl PoolAttrs {
    fn new(ksize: impl Into<Window>, strides: impl Into<Window>, padding: Padding) -> PoolAttrs {
        PoolAttrs {
            ksize: ksize.into(),
            strides: strides.into(),
            padding,
        }
    }

    pub(super) fn geometry(&self, input: &[usize]) -> Result<Geometry, String> {
        Geometry::new(
            input,
            self.ksize.spatial("ksize")?,
            self.strides,
            self.padding,
        )
    }

    /// Static pooled shape of `input`.
    fn infer_output(&self, input: &Shape) -> Result<Shape, String> {
        let [n, h, w, c] = dims4(input, "value")?;
        let (kh, kw) = self.ksize.spatial("ksize")?;
        let (sh, sw) = self.strides.spatial("strides")?;
        let oh = static_out(h, Some(kh), sh, self.padding)?;
        let ow = static_out(w, Some(kw), sw, self.padding)?;
        Ok(Shape::from(vec![n, oh, ow, c]))
    }

    /// Static rule of a pooling gradient op `(input, g)`: `g` must have
    /// the pooled shape; the result has `input`'s spec or the pooled one.
    fn infer_grad(&self, i: &[TensorSpec], pooled: bool) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let out = self.infer_output(&i[0].shape)?;
        if pooled {
            i[1].shape.merge(&i[0].shape).ok_or_else(|| {
                format!(
                    "gradient has shape {}, the input {}",
                    i[1].shape, i[0].shape
                )
            })?;
            return Ok(vec![TensorSpec::new(i[0].dtype, out)]);
        }
        out.merge(&i[1].shape)
            .ok_or_else(|| format!("gradient has shape {}, pooling gives {out}", i[1].shape))?;
        Ok(vec![i[0].clone()])
    }

    pub(super) fn attrs(&self) -> String {
        format!(
            "ksize={:?}, strides={:?}, padding={:?}",
            self.ksize.0, self.strides.0, self.padding
        )
    }
}

/// `max_pool(x)`.
#[derive(Debug)]
pub(super) struct MaxPool(pub(super) PoolAttrs);

impl Op for MaxPool {
    fn kind(&self) -> &'static OpKind {
        &MAX_POOL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            self.0.infer_output(&i[0].shape)?,
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let x = k.input_as::<T>(0)?;
            let g = self.0.geometry(x.shape())?;
            let (xs, threads) = (flat(x), k.threads());
            let (in_len, out_len) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
            let y = k.stale_output::<T>(0, &g.out_shape(g.c));
            let y = y.as_slice_mut().expect("standard layout");
            by_images(&g, threads, y, out_len, |g, images, y| {
                max_pool_images(&xs[images.start * in_len..images.end * in_len], g, y);
            });
            Ok(())
        })
    }
    /// dx = dy routed to the first maximum of each window.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(max_pool_grad(c.x(0), c.dy(0), self.0))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.max_pool(value, ksize, strides, padding)` over NHWC `value`:
/// the maximum of each window (padding never wins). The gradient goes to
/// the first maximum of each window, as TF's.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::{max_pool, Padding}};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(28), Some(28), Some(32)], "x");
/// let y = max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same);
/// assert_eq!(y.shape().to_string(), "[?, 14, 14, 32]");
/// ```
#[track_caller]
pub fn max_pool(
    value: Tensor,
    ksize: impl Into<Window>,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = MaxPool(PoolAttrs::new(ksize, strides, padding));
    value.graph().add_op(op, &[value])
}

/// Scatters a pooled gradient onto the argmax of each window of `x`.
#[derive(Debug)]
struct MaxPoolGrad(PoolAttrs);

/// MaxPoolGrad's kernel: `dx` from `x` (input 0) and the pooled gradient
/// `dy` (input 1). With `relu`, also relu's gradient at `x` taken as
/// relu's output (`dx` kept where `x > 0`), in the same pass: the fused
/// kernel of `relu_grad(max_pool_grad(y, dy), y)`, bitwise the same.
fn max_pool_grad_into<T: Float>(
    k: &mut ComputeCtx<'_>,
    attrs: &PoolAttrs,
    relu: bool,
) -> Result<(), KernelError> {
    let (x, dy) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
    let g = attrs.geometry(x.shape())?;
    check_shape("the pooled gradient", dy.shape(), &g.out_shape(g.c))?;
    let (xs, ds, threads) = (flat(x), flat(dy), k.threads());
    let (in_len, out_len) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
    let dx = k.stale_output::<T>(0, x.shape());
    let dx = dx.as_slice_mut().expect("standard layout");
    by_images(&g, threads, dx, in_len, |g, images, dx| {
        let xs = &xs[images.start * in_len..images.end * in_len];
        let ds = &ds[images.start * out_len..images.end * out_len];
        max_pool_grad_images(xs, ds, g, dx, relu);
    });
    Ok(())
}

/// The session's fused `relu_grad(max_pool_grad(y, dy), y)` (inputs
/// `[y, dy]`), never a graph node.
#[derive(Debug)]
struct FusedMaxPoolReluGrad(PoolAttrs);

impl Op for FusedMaxPoolReluGrad {
    fn kind(&self) -> &'static OpKind {
        &FUSED_MAX_POOL_RELU_GRAD
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => max_pool_grad_into::<T>(k, &self.0, true))
    }
    fn attrs(&self) -> String {
        format!("{}, fuses ReluGrad", self.0.attrs())
    }
}

/// The fused kernel of `relu_grad(max_pool_grad(y, dy), y)` where
/// `pool_grad` is a MaxPoolGrad node's op.
pub(crate) fn fused_max_pool_relu_grad(pool_grad: &dyn Op) -> Arc<dyn Op> {
    let grad = pool_grad
        .downcast::<MaxPoolGrad>()
        .expect("a MaxPoolGrad op");
    Arc::new(FusedMaxPoolReluGrad(grad.0))
}

impl Op for MaxPoolGrad {
    fn kind(&self) -> &'static OpKind {
        &MAX_POOL_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.0.infer_grad(i, false)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => max_pool_grad_into::<T>(k, &self.0, false))
    }
    /// Piecewise constant in x (zero gradient); linear in dy: d dy = h gathered at the argmaxes.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let x = c.x(0);
        vec![
            Some(zeros_like(x)),
            Some(max_pool_grad_grad(x, c.dy(0), self.0)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

#[track_caller]
fn max_pool_grad(x: Tensor, dy: Tensor, attrs: PoolAttrs) -> Tensor {
    x.graph().add_op(MaxPoolGrad(attrs), &[x, dy])
}

/// Gathers an input-shaped tensor at the argmax of each window of `x`.
#[derive(Debug)]
struct MaxPoolGradGrad(PoolAttrs);

impl Op for MaxPoolGradGrad {
    fn kind(&self) -> &'static OpKind {
        &MAX_POOL_GRAD_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.0.infer_grad(i, true)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let (x, h) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
            let g = self.0.geometry(x.shape())?;
            check_shape("the gathered tensor", h.shape(), x.shape())?;
            let (xs, hs, threads) = (flat(x), flat(h), k.threads());
            let (in_len, out_len) = (g.h * g.w * g.c, g.oh * g.ow * g.c);
            let y = k.stale_output::<T>(0, &g.out_shape(g.c));
            let y = y.as_slice_mut().expect("standard layout");
            by_images(&g, threads, y, out_len, |g, images, y| {
                let xs = &xs[images.start * in_len..images.end * in_len];
                let hs = &hs[images.start * in_len..images.end * in_len];
                max_pool_grad_grad_images(xs, hs, g, y);
            });
            Ok(())
        })
    }
    /// Piecewise constant in x (zero gradient); linear in h: d h = dy scattered to the argmaxes.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let x = c.x(0);
        vec![Some(zeros_like(x)), Some(max_pool_grad(x, c.dy(0), self.0))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

#[track_caller]
fn max_pool_grad_grad(x: Tensor, h: Tensor, attrs: PoolAttrs) -> Tensor {
    x.graph().add_op(MaxPoolGradGrad(attrs), &[x, h])
}

/// `avg_pool(x)`.
#[derive(Debug)]
struct AvgPool(PoolAttrs);

impl Op for AvgPool {
    fn kind(&self) -> &'static OpKind {
        &AVG_POOL
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        Ok(vec![TensorSpec::new(
            i[0].dtype,
            self.0.infer_output(&i[0].shape)?,
        )])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let x = k.input_as::<T>(0)?;
            let g = self.0.geometry(x.shape())?;
            let (xs, c) = (flat(x), g.c);
            let mut y = vec![<T as Float>::from_f64(0.0); g.positions() * c];
            g.windows(|pos, taps| {
                let count = <T as Float>::from_f64(taps.len().max(1) as f64);
                for ch in 0..c {
                    let total: T = taps.iter().map(|&t| xs[t + ch]).sum();
                    y[pos * c + ch] = total / count;
                }
            });
            k.set(0, array(&g.out_shape(c), y));
            Ok(())
        })
    }
    /// dx = each dy spread evenly over its window's in-bounds inputs.
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        vec![Some(avg_pool_grad(c.x(0), c.dy(0), self.0))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.avg_pool(value, ksize, strides, padding)` over NHWC `value`:
/// the mean of each window; with `SAME` padding, of its in-bounds
/// elements only.
#[track_caller]
pub fn avg_pool(
    value: Tensor,
    ksize: impl Into<Window>,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = AvgPool(PoolAttrs::new(ksize, strides, padding));
    value.graph().add_op(op, &[value])
}

/// Spreads a pooled gradient evenly over each window of an input shape.
#[derive(Debug)]
struct AvgPoolGrad(PoolAttrs);

impl Op for AvgPoolGrad {
    fn kind(&self) -> &'static OpKind {
        &AVG_POOL_GRAD
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        self.0.infer_grad(i, false)
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(1), T => {
            let shape = k.input(0).shape();
            let dy = k.input_as::<T>(1)?;
            let g = self.0.geometry(shape)?;
            check_shape("the pooled gradient", dy.shape(), &g.out_shape(g.c))?;
            let (ds, c) = (flat(dy), g.c);
            let mut dx = vec![<T as Float>::from_f64(0.0); g.input_len()];
            g.windows(|pos, taps| {
                let count = <T as Float>::from_f64(taps.len().max(1) as f64);
                for ch in 0..c {
                    let share = ds[pos * c + ch] / count;
                    for &t in taps {
                        dx[t + ch] += share;
                    }
                }
            });
            k.set(0, array(shape, dx));
            Ok(())
        })
    }
    /// Linear in dy with avg_pool as its adjoint: d dy = avg_pool(h).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let PoolAttrs {
            ksize,
            strides,
            padding,
        } = self.0;
        vec![None, Some(avg_pool(c.dy(0), ksize, strides, padding))]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `data` as an array of `shape`.
fn array<T: Float>(shape: &[usize], data: Vec<T>) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("sized")
}

#[track_caller]
fn avg_pool_grad(x: Tensor, dy: Tensor, attrs: PoolAttrs) -> Tensor {
    x.graph().add_op(AvgPoolGrad(attrs), &[x, dy])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    /// Max pooling and its gradients split over threads give one thread's
    /// values (each image is pooled on its own).
    #[test]
    fn threads_agree_with_one_thread() {
        let attrs = PoolAttrs::new(3, 2, Padding::Same);
        let x = ArrayD::from_shape_fn(IxDyn(&[12, 28, 28, 32]), |i| {
            ((i[0] * 5 + i[1] * 7 + i[2] * 13 + i[3]) % 17) as f32
        });
        let dy = ArrayD::from_shape_fn(IxDyn(&[12, 14, 14, 32]), |i| (i[1] + i[3]) as f32);
        let run = |op: &dyn Op, inputs: &[&Value], threads| {
            let mut out = [Value::from(ArrayD::<f32>::zeros(IxDyn(&[0])))];
            let mut k = ComputeCtx::new(inputs, &mut out, &mut [], None).with_threads(threads);
            op.compute(&mut k).expect("compute");
            let [v] = out;
            v
        };
        let (x, dy) = (Value::from(x), Value::from(dy));
        let h = x.clone();
        let cases: [(&dyn Op, [&Value; 2]); 3] = [
            (&MaxPool(attrs), [&x, &x]),
            (&MaxPoolGrad(attrs), [&x, &dy]),
            (&MaxPoolGradGrad(attrs), [&x, &h]),
        ];
        for (op, inputs) in cases {
            let inputs = &inputs[..if op.is(&MAX_POOL) { 1 } else { 2 }];
            assert_eq!(run(op, inputs, 1), run(op, inputs, 2), "{}", op.kind().name);
        }
    }
}
