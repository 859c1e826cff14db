//! The crate's error type. Everything that depends on data at run time
//! (feeds, variable state, files) is reported here, never by a panic.
//! Each variant that concerns a node carries a [`NodeInfo`]: its name, op
//! kind and the line of user code that built it.

use crate::dtype::DType;
use crate::op::OpKind;
use std::fmt;
use std::panic::Location;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Identifies a node in error messages: `` `layer1/MatMul` (MatMul, built at examples/mnist.rs:31:10) ``.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's unique name.
    pub name: String,
    /// The op kind (`MatMul`, `Placeholder`, ...).
    pub op: &'static OpKind,
    /// Where user code built the node.
    pub site: &'static Location<'static>,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ({}, built at {}:{})",
            self.name,
            self.op.name,
            self.site.file(),
            self.site.line()
        )
    }
}

/// A placeholder that a run needed but was not fed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingFeed {
    /// The placeholder.
    pub node: NodeInfo,
    /// Its dtype.
    pub dtype: DType,
    /// Its static shape, as TF prints it (`[?, 784]`).
    pub shape: String,
    /// The chain of node names from the fetch that needed it down to the
    /// placeholder, e.g. `accuracy <- ArgMax <- Softmax <- ... <- X`.
    pub needed_by: String,
}

impl fmt::Display for MissingFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  placeholder {} expects {} of shape {}; needed by {}",
            self.node, self.dtype, self.shape, self.needed_by
        )
    }
}

fn list_missing(m: &[MissingFeed]) -> String {
    m.iter().map(|x| format!("\n{x}")).collect()
}

/// Everything that can go wrong at run time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Placeholders the fetches need were not fed (all of them are listed).
    #[error("you must feed a value for {} placeholder(s):{}", .0.len(), list_missing(.0))]
    UnfedPlaceholders(Vec<MissingFeed>),

    /// A fed value has the wrong dtype.
    #[error("cannot feed a {got} value to {node}, which has dtype {expected}")]
    FeedDType {
        /// The fed node.
        node: NodeInfo,
        /// The node's dtype.
        expected: DType,
        /// The fed value's dtype.
        got: DType,
    },

    /// A fed value has a shape the node's static shape does not allow.
    #[error("cannot feed a value of shape {got} to {node}, which has shape {expected}")]
    FeedShape {
        /// The fed node.
        node: NodeInfo,
        /// The node's static shape.
        expected: String,
        /// The fed value's shape.
        got: String,
    },

    /// The same tensor was fed twice, or a feed belongs to another graph.
    #[error("invalid feed for {node}: {reason}")]
    InvalidFeed {
        /// The fed node.
        node: NodeInfo,
        /// What is wrong.
        reason: String,
    },

    /// An op failed at run time, typically on shapes only known then.
    #[error("{node} failed with inputs {input_shapes}: {message}")]
    Runtime {
        /// The node whose kernel failed.
        node: NodeInfo,
        /// The concrete shapes (and dtypes) of its inputs.
        input_shapes: String,
        /// What the kernel reported.
        message: String,
    },

    /// A variable was read before it was given a value.
    #[error("attempting to use uninitialized variable {var} (read by {reader}); run `global_variables_initializer()` (or the variable's `initializer()`) first")]
    UninitializedVariable {
        /// The variable.
        var: NodeInfo,
        /// The node that read it.
        reader: NodeInfo,
    },

    /// `check_numerics` found a NaN or an infinity.
    #[error("check_numerics {node}: {message}: tensor had {what} values")]
    CheckNumerics {
        /// The check_numerics node.
        node: NodeInfo,
        /// The user's message.
        message: String,
        /// `NaN`, `Inf` or `NaN and Inf`.
        what: &'static str,
    },

    /// A fetched value had a different dtype from the one asked for.
    #[error("fetched a {got} tensor as {expected}")]
    FetchType {
        /// The dtype asked for.
        expected: DType,
        /// The dtype of the value.
        got: DType,
    },

    /// A fetched value had a different shape from the one asked for.
    #[error("fetched a value of shape {got}, expected {expected}")]
    FetchShape {
        /// What was asked for.
        expected: String,
        /// The value's shape.
        got: String,
    },

    /// A fetch or feed refers to a tensor of another graph.
    #[error("{what} belongs to another graph than this session's")]
    ForeignTensor {
        /// Which argument.
        what: String,
    },

    /// Any other invalid argument given at run time.
    #[error("{0}")]
    InvalidArgument(String),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A file was read but its contents are not what they should be.
    #[error("{path}: {reason}")]
    BadFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}
