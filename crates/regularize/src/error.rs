//! The errors of building regularizers.

use knit_tensor::TensorError;
use thiserror::Error;

/// What can go wrong when adding a regularizer to a graph.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RegularizeError {
    /// A strength that is negative or not finite.
    #[error("{what} strength must be a finite number >= 0, got {value}")]
    InvalidStrength {
        /// Which strength.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A penalty over no parameters.
    #[error("'{name}' applies to no parameter")]
    NothingSelected {
        /// The penalty's name.
        name: String,
    },
    /// A tied pair of parameters with different shapes.
    #[error(
        "cannot tie '{a}' {shape_a} to '{b}' {shape_b}: tied parameters must have the same shape"
    )]
    TiedShapes {
        /// The first parameter.
        a: String,
        /// The second parameter.
        b: String,
        /// Its shape.
        shape_a: String,
        /// Its shape.
        shape_b: String,
    },
    /// An error from the graph.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}
