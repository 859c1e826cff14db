//! Convolutional ops over NHWC images, one family laid out as tract's
//! `ops/cnn`: `conv2d` and its two backprop ops, max and average pooling
//! and their gradients, and the session's fused kernels that extend them.
//! Conv and pool share only the window geometry (`window`): pooling never
//! depends on convolution, while the fused convolution pools its output
//! tiles with pooling's kernel.
//!
//! - `window`: padding rules, window sizes and strides, where windows fall;
//! - `im2col`: a convolution's patches matrix and its adjoint;
//! - `conv_kernels`, `pool_kernels`: the kernels over flat slices, tiled
//!   and split over threads;
//! - `conv`, `pool`: the op types (shape rules, gradients) and builders.

mod conv;
mod conv_kernels;
mod im2col;
mod pool;
mod pool_kernels;
mod window;

pub(crate) use conv::fused_conv2d;
pub use conv::{conv2d, conv2d_backprop_filter, conv2d_backprop_input};
pub(crate) use pool::fused_max_pool_relu_grad;
pub use pool::{avg_pool, max_pool};
pub use window::{Padding, Window};

use crate::op::op_kinds;

op_kinds! {
    CONV2D = differentiable("Conv2D", "conv2d");
    CONV2D_BACKPROP_INPUT = differentiable("Conv2DBackpropInput", "conv2d_backprop_input");
    CONV2D_BACKPROP_FILTER = differentiable("Conv2DBackpropFilter", "conv2d_backprop_filter");
    /// The session's fused `[max_pool]([relu](conv2d + bias))` (built by
    /// the session, never a graph node).
    FUSED_CONV2D = not_differentiable("_FusedConv2D", "_fused_conv2d");
    MAX_POOL = differentiable("MaxPool", "max_pool");
    MAX_POOL_GRAD = differentiable("MaxPoolGrad", "max_pool_grad");
    MAX_POOL_GRAD_GRAD = differentiable("MaxPoolGradGrad", "max_pool_grad_grad");
    /// The session's fused max-pool + relu gradient (built by the session,
    /// never a graph node).
    FUSED_MAX_POOL_RELU_GRAD = not_differentiable("_FusedMaxPoolReluGrad", "_fused_max_pool_relu_grad");
    AVG_POOL = differentiable("AvgPool", "avg_pool");
    AVG_POOL_GRAD = differentiable("AvgPoolGrad", "avg_pool_grad");
}
