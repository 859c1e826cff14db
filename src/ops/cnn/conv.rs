//! 2-D convolution over NHWC images: `conv2d` and its two gradients, the
//! backprop ops. conv2d and those two are each other's adjoints, so every
//! gradient here is built from the ops of this file again and second
//! derivatives work. The session's fused `[max_pool]([relu](conv2d +
//! bias))` is here too, beside the op it extends.

use super::conv_kernels::{conv_backprop_filter, conv_backprop_input, conv_forward};
use super::pool::{MaxPool, PoolAttrs};
use super::window::{check_shape, dims4, flat, same_float, static_out, Geometry, Padding, Window};
use super::{CONV2D, CONV2D_BACKPROP_FILTER, CONV2D_BACKPROP_INPUT, FUSED_CONV2D};
use crate::dtype::Shape;
use crate::graph::{Tensor, TensorSpec};
use crate::op::{ComputeCtx, GradCtx, KernelError, Op, OpKind};
use crate::ops::element::float_dispatch;
use crate::ops::fused::{bias_row, in_fused, not_a_graph_node};
use crate::ops::Float;
use ndarray::ArrayD;
use std::borrow::Cow;
use std::sync::Arc;

/// Convolution attributes shared by conv2d and its two backprop ops.
#[derive(Clone, Copy, Debug)]
struct ConvAttrs {
    strides: Window,
    padding: Padding,
}

impl ConvAttrs {
    /// Geometry and output channels from input and filter shapes.
    fn geometry(&self, input: &[usize], filter: &[usize]) -> Result<(Geometry, usize), String> {
        let &[kh, kw, ci, co] = filter else {
            return Err(format!(
                "filter must have rank 4 (HWIO), got shape {filter:?}"
            ));
        };
        let g = Geometry::new(input, (kh, kw), self.strides, self.padding)?;
        if ci != g.c {
            return Err(format!(
                "filter {filter:?} expects {ci} input channels, input {input:?} has {}",
                g.c
            ));
        }
        Ok((g, co))
    }

    /// Static output shape of conv2d.
    fn infer_output(&self, input: &Shape, filter: &Shape) -> Result<Shape, String> {
        let [n, h, w, c] = dims4(input, "input")?;
        let [kh, kw, ci, co] = dims4(filter, "filter")?;
        if let (Some(c), Some(ci)) = (c, ci) {
            if c != ci {
                return Err(format!(
                    "filter {filter} expects {ci} input channels, input {input} has {c}"
                ));
            }
        }
        let (sh, sw) = self.strides.spatial("strides")?;
        let oh = static_out(h, kh, sh, self.padding)?;
        let ow = static_out(w, kw, sw, self.padding)?;
        Ok(Shape::from(vec![n, oh, ow, co]))
    }

    fn attrs(&self) -> String {
        format!("strides={:?}, padding={:?}", self.strides.0, self.padding)
    }
}

/// An `[n, oh, ow, o]` gradient, checked against the geometry.
fn out_rows<'a, T: Float>(
    dy: &'a ArrayD<T>,
    g: &Geometry,
    o: usize,
) -> Result<Cow<'a, [T]>, String> {
    check_shape("the output gradient", dy.shape(), &g.out_shape(o))?;
    Ok(flat(dy))
}

/// conv2d's kernel: inputs `[x, filter]` into output 0, then `bias` (one
/// value per output channel) added and relu, and max pooling with `pool`'s
/// attributes, as the fused kernel asks.
fn conv2d_kernel<T: Float>(
    k: &mut ComputeCtx<'_>,
    attrs: &ConvAttrs,
    bias: Option<&ArrayD<T>>,
    relu: bool,
    pool: Option<&PoolAttrs>,
) -> Result<(), KernelError> {
    let threads = k.threads();
    let (x, f) = (k.input_as::<T>(0)?, k.input_as::<T>(1)?);
    let (g, o) = attrs.geometry(x.shape(), f.shape())?;
    let bias = bias_row(bias, o, || {
        format!("a convolution with {o} output channels")
    })?;
    let pooled = pool.map(|p| p.geometry(&g.out_shape(o))).transpose()?;
    let (xs, fs) = (flat(x), flat(f));
    let shape = pooled.map_or(g.out_shape(o), |p| p.out_shape(o));
    let y = k.stale_output::<T>(0, &shape);
    let y = y.as_slice_mut().expect("standard layout");
    conv_forward(&xs, &fs, &g, o, threads, y, (bias, relu, pooled.as_ref()));
    Ok(())
}

/// `conv2d(input, filter)`.
#[derive(Debug)]
struct Conv2D(ConvAttrs);

impl Op for Conv2D {
    fn kind(&self) -> &'static OpKind {
        &CONV2D
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let shape = self.0.infer_output(&i[0].shape, &i[1].shape)?;
        Ok(vec![TensorSpec::new(i[0].dtype, shape)])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => conv2d_kernel::<T>(k, &self.0, None, false, None))
    }
    /// y = x (*) w: dx = backprop_input(x, w, dy), dw = backprop_filter(x, w, dy).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, w, dy) = (c.x(0), c.x(1), c.dy(0));
        let ConvAttrs { strides, padding } = self.0;
        vec![
            Some(conv2d_backprop_input(x, w, dy, strides, padding)),
            Some(conv2d_backprop_filter(x, w, dy, strides, padding)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `conv2d(x, w) + bias`, then relu when `relu` and max pooling when
/// `pool`: the session's fused kernel for such chains (inputs `[x, w,
/// bias]`), never a graph node.
#[derive(Debug)]
struct FusedConv2D {
    attrs: ConvAttrs,
    relu: bool,
    pool: Option<PoolAttrs>,
    /// The fused add (relu and pool) nodes' names, for messages.
    fused: String,
}

impl Op for FusedConv2D {
    fn kind(&self) -> &'static OpKind {
        &FUSED_CONV2D
    }
    fn infer(&self, _: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        not_a_graph_node()
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        float_dispatch!(k.input(0), T => {
            let bias = k.input_as::<T>(2)?;
            conv2d_kernel(k, &self.attrs, Some(bias), self.relu, self.pool.as_ref())
                .map_err(|e| in_fused(e, &self.fused))
        })
    }
    fn attrs(&self) -> String {
        let pool = self.pool.map(|p| format!(", max_pool({})", p.attrs()));
        format!(
            "{}, relu={}{}, fuses {}",
            self.attrs.attrs(),
            self.relu,
            pool.unwrap_or_default(),
            self.fused
        )
    }
}

/// The fused kernel of `[max_pool]([relu](conv + bias))` where `conv` is
/// a Conv2D node's op and `pool` a MaxPool node's; `fused` names the add
/// (relu and pool) nodes it stands for.
pub(crate) fn fused_conv2d(
    conv: &dyn Op,
    relu: bool,
    pool: Option<&dyn Op>,
    fused: String,
) -> Arc<dyn Op> {
    let conv = conv.downcast::<Conv2D>().expect("a Conv2D op");
    let pool = pool.map(|p| p.downcast::<MaxPool>().expect("a MaxPool op").0);
    Arc::new(FusedConv2D {
        attrs: conv.0,
        relu,
        pool,
        fused,
    })
}

/// `tf.nn.conv2d(input, filter, strides, padding)`: 2-D convolution
/// (cross-correlation, as TF) of an NHWC `input` `[N, H, W, C]` with an
/// HWIO `filter` `[KH, KW, C, O]`, giving `[N, OH, OW, O]`. `strides` is
/// `[1, sh, sw, 1]`, `(sh, sw)` or one number; `padding` is TF's.
///
/// ```
/// use tensorgraph::{Graph, DType, ops::{conv2d, Padding}};
/// let g = Graph::new();
/// let x = g.placeholder(DType::Float32, [None, Some(28), Some(28), Some(1)], "x");
/// let w = g.placeholder(DType::Float32, [5usize, 5, 1, 32], "w");
/// assert_eq!(conv2d(x, w, [1, 1, 1, 1], Padding::Same).shape().to_string(), "[?, 28, 28, 32]");
/// assert_eq!(conv2d(x, w, (2, 2), Padding::Valid).shape().to_string(), "[?, 12, 12, 32]");
/// ```
#[track_caller]
pub fn conv2d(
    input: Tensor,
    filter: Tensor,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = Conv2D(ConvAttrs {
        strides: strides.into(),
        padding,
    });
    input.graph().add_op(op, &[input, filter])
}

/// The gradient of conv2d with respect to its input.
#[derive(Debug)]
struct Conv2DBackpropInput(ConvAttrs);

impl Op for Conv2DBackpropInput {
    fn kind(&self) -> &'static OpKind {
        &CONV2D_BACKPROP_INPUT
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let out = self.0.infer_output(&i[0].shape, &i[1].shape)?;
        out.merge(&i[2].shape)
            .ok_or_else(|| format!("out_backprop has shape {}, conv2d gives {out}", i[2].shape))?;
        Ok(vec![i[0].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        float_dispatch!(k.input(1), T => {
            let shape = k.input(0).shape();
            let (f, dy) = (k.input_as::<T>(1)?, k.input_as::<T>(2)?);
            let (g, o) = self.0.geometry(shape, f.shape())?;
            let (fs, dys) = (flat(f), out_rows(dy, &g, o)?);
            let dx = k.stale_output::<T>(0, shape);
            let dx = dx.as_slice_mut().expect("standard layout");
            conv_backprop_input(&fs, &dys, &g, o, threads, dx);
            Ok(())
        })
    }
    /// dx = B(w, g), linear in w and g: d w = backprop_filter(h, w, g), d g = conv2d(h, w).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (w, g, h) = (c.x(1), c.x(2), c.dy(0));
        let ConvAttrs { strides, padding } = self.0;
        vec![
            None,
            Some(conv2d_backprop_filter(h, w, g, strides, padding)),
            Some(conv2d(h, w, strides, padding)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.conv2d_backprop_input`: the gradient of [`conv2d`] with respect
/// to its input, given `out_backprop` (the gradient of its output). TF
/// takes the input's sizes; here `input_like` is any tensor of the input's
/// shape (only its shape is read).
#[track_caller]
pub fn conv2d_backprop_input(
    input_like: Tensor,
    filter: Tensor,
    out_backprop: Tensor,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = Conv2DBackpropInput(ConvAttrs {
        strides: strides.into(),
        padding,
    });
    filter
        .graph()
        .add_op(op, &[input_like, filter, out_backprop])
}

/// The gradient of conv2d with respect to its filter.
#[derive(Debug)]
struct Conv2DBackpropFilter(ConvAttrs);

impl Op for Conv2DBackpropFilter {
    fn kind(&self) -> &'static OpKind {
        &CONV2D_BACKPROP_FILTER
    }
    fn infer(&self, i: &[TensorSpec]) -> Result<Vec<TensorSpec>, String> {
        same_float(i)?;
        let out = self.0.infer_output(&i[0].shape, &i[1].shape)?;
        out.merge(&i[2].shape)
            .ok_or_else(|| format!("out_backprop has shape {}, conv2d gives {out}", i[2].shape))?;
        Ok(vec![i[1].clone()])
    }
    fn compute(&self, k: &mut ComputeCtx<'_>) -> Result<(), KernelError> {
        let threads = k.threads();
        float_dispatch!(k.input(0), T => {
            let shape = k.input(1).shape();
            let (x, dy) = (k.input_as::<T>(0)?, k.input_as::<T>(2)?);
            let (g, o) = self.0.geometry(x.shape(), shape)?;
            let (xs, dys) = (flat(x), out_rows(dy, &g, o)?);
            let dw = k.stale_output::<T>(0, shape);
            let dw = dw.as_slice_mut().expect("standard layout");
            conv_backprop_filter(&xs, &dys, &g, o, threads, dw);
            Ok(())
        })
    }
    /// dw = B(x, g), linear in x and g: d x = backprop_input(x, h, g), d g = conv2d(x, h).
    fn grad(&self, c: &GradCtx<'_>) -> Vec<Option<Tensor>> {
        let (x, g, h) = (c.x(0), c.x(2), c.dy(0));
        let ConvAttrs { strides, padding } = self.0;
        vec![
            Some(conv2d_backprop_input(x, h, g, strides, padding)),
            None,
            Some(conv2d(x, h, strides, padding)),
        ]
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// `tf.nn.conv2d_backprop_filter`: the gradient of [`conv2d`] with respect
/// to its filter, given `out_backprop`. TF takes the filter's sizes; here
/// `filter_like` is any tensor of the filter's shape (only its shape is
/// read).
#[track_caller]
pub fn conv2d_backprop_filter(
    input: Tensor,
    filter_like: Tensor,
    out_backprop: Tensor,
    strides: impl Into<Window>,
    padding: Padding,
) -> Tensor {
    let op = Conv2DBackpropFilter(ConvAttrs {
        strides: strides.into(),
        padding,
    });
    input
        .graph()
        .add_op(op, &[input, filter_like, out_backprop])
}
