//! The `tf.nn` namespace: neural-network ops under the names TF1 code
//! uses (`nn::dropout`, ...). The ops themselves live in [`crate::ops`].

pub use crate::ops::{
    dropout, dropout_rate, dropout_rate_with, dropout_with, DropoutOptions, Probability,
};
