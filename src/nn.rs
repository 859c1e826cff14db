//! The `tf.nn` namespace: neural-network ops under the names TF1 code
//! uses (`nn::relu`, `nn::dropout`, `nn::softmax_cross_entropy_with_logits`,
//! `nn::conv2d`, ...). The ops themselves live in [`crate::ops`]; this
//! module only gathers them where a porter looks for them.
//!
//! ```
//! use tensorgraph::{nn, DType, Graph};
//! let g = Graph::new();
//! let x = g.placeholder(DType::Float32, [None, Some(784)], "X");
//! let keep_prob = g.placeholder(DType::Float32, [0usize; 0], "keep_prob");
//! let w = g.variable(g.truncated_normal([784, 10], 0.1), "W");
//! let logits = nn::dropout(nn::relu(x.matmul(w)), keep_prob);
//! let probs = nn::softmax(logits, -1);
//! assert_eq!(probs.shape().to_string(), "[?, 10]");
//! ```

pub use crate::ops::{
    avg_pool, batch_normalization, bias_add, conv2d, conv2d_backprop_filter, conv2d_backprop_input,
    dropout, dropout_rate, dropout_rate_with, dropout_with, elu, embedding_lookup, l2_loss,
    leaky_relu, log_softmax, max_pool, moments, relu, relu6, sigmoid,
    sigmoid_cross_entropy_with_logits, softmax, softmax_cross_entropy_with_logits, softplus,
    sparse_softmax_cross_entropy_with_logits, tanh, DropoutOptions, Padding,
};

/// `tf.nn.softmax_cross_entropy_with_logits_v2`: the same op as
/// [`softmax_cross_entropy_with_logits`] (tensorgraph's has v2's semantics:
/// the gradient also reaches the labels).
pub use crate::ops::softmax_cross_entropy_with_logits as softmax_cross_entropy_with_logits_v2;
