//! Why a model cannot be exported.

use thiserror::Error;

/// An export failure.
#[derive(Debug, Error)]
pub enum ExportError {
    /// The model uses something ONNX export does not cover.
    #[error("layer `{layer}` cannot be exported to ONNX: {what}")]
    Unsupported {
        /// The knit layer (node) name.
        layer: String,
        /// What it is that cannot be written.
        what: String,
    },
    /// There is nothing to export.
    #[error("the ensemble has no members: there is nothing to export")]
    Empty,
    /// The graph did not hold what it should (a node or value missing).
    #[error(transparent)]
    Graph(#[from] knit_tensor::TensorError),
}
