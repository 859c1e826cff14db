//! The crate's error type. Everything that depends on data at run time
//! (feeds, variable state, files) is reported here, never by a panic; so
//! are construction mistakes when a graph is built fallibly
//! ([`Graph::try_add_node`](crate::Graph::try_add_node),
//! [`Graph::try_build`](crate::Graph::try_build)). Each variant that
//! concerns a node carries a [`NodeInfo`]: its name, op kind and the line
//! of user code that built it; the others name the tensor, value or graph
//! they concern.

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

/// Everything that can go wrong at run time, and construction mistakes
/// caught by the fallible builders.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node could not be built: its op rejected its inputs' static
    /// dtypes or shapes, or an input belongs to another graph. The message
    /// is the one the panicking builders panic with:
    /// ``MatMul `MatMul` at examples/mnist.rs:31: inner dimensions differ (3 vs 4) in matmul of [?, 3] and [4, 2] (inputs: `a` float32[?, 3], `b` float32[4, 2])``.
    #[error(
        "{} `{}` at {}:{}: {message} (inputs: {inputs})",
        node.op.name,
        node.name,
        node.site.file(),
        node.site.line()
    )]
    Build {
        /// The node as it would have been: the name it would have had, its
        /// op kind and the user's line that tried to build it.
        node: NodeInfo,
        /// Each input's name and static spec (`` `a` float32[?, 3] ``), or
        /// `none`.
        inputs: String,
        /// What the op (or the graph) objected to.
        message: String,
    },

    /// A node was to be added while a session on the graph is alive.
    #[error(
        "cannot add a {} node at {}:{}: the graph is frozen while a Session uses it; \
         build every op (gradients, optimizers, initializers) before Session::new, \
         as building ops inside a training loop would grow the graph at every step",
        op.name,
        site.file(),
        site.line()
    )]
    GraphFrozen {
        /// The kind of the node.
        op: &'static OpKind,
        /// The user's line that tried to build it.
        site: &'static Location<'static>,
    },

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

    /// A value had a different dtype from the one asked for.
    #[error("{what} has dtype {got}, not {expected}")]
    FetchType {
        /// What was read: `` fetch `loss` (Mean, built at src/main.rs:9) ``
        /// from [`Session::run_scalar`](crate::Session::run_scalar) and
        /// [`Session::run_array`](crate::Session::run_array), `the value of
        /// shape [2, 3]` from the [`Value`](crate::Value) methods, which do
        /// not know which tensor they were fetched for.
        what: String,
        /// The dtype asked for.
        expected: DType,
        /// The dtype of the value.
        got: DType,
    },

    /// A value had a different shape from the one asked for.
    #[error("{what} has shape {got}, expected {expected}")]
    FetchShape {
        /// What was read, as in [`Error::FetchType`]
        /// (`the float32 value` from the [`Value`](crate::Value) methods).
        what: String,
        /// What was asked for.
        expected: String,
        /// The value's shape.
        got: String,
    },

    /// A fetch, feed or variable given to a session is a tensor (or
    /// operation) of another graph.
    #[error(
        "{what} `{name}` belongs to graph {graph}, not to this session's graph {session_graph}"
    )]
    ForeignTensor {
        /// Which argument: `fetch 0`, `feed 1`, `variable`.
        what: String,
        /// The tensor's (or operation's) name in its own graph.
        name: String,
        /// Its graph's number (graphs are numbered from 0 in the order
        /// they are created in the process).
        graph: u32,
        /// The number of the session's graph.
        session_graph: u32,
    },

    /// Any other invalid argument given at run time, or, inside
    /// [`Graph::try_build`](crate::Graph::try_build), to an op function
    /// that checks a fixed argument itself (dropout's keep probability).
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

impl Error {
    /// This error with the `what` of an [`Error::FetchType`] or
    /// [`Error::FetchShape`] replaced by `what()`: how a caller that knows
    /// which fetch a value came from names it. Other errors are unchanged.
    pub(crate) fn concerning(self, what: impl FnOnce() -> String) -> Error {
        match self {
            Error::FetchType { expected, got, .. } => Error::FetchType {
                what: what(),
                expected,
                got,
            },
            Error::FetchShape { expected, got, .. } => Error::FetchShape {
                what: what(),
                expected,
                got,
            },
            other => other,
        }
    }
}
