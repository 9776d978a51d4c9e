//! Sharing across space: the parameters of a network's convolutions, which reuse one kernel
//! at every position of the image, against the same layers without sharing (a locally
//! connected layer: its own kernel and bias at every output position).

use crate::program;
use crate::StudyError;
use knit_tensor::{Graph, NodeKind};
use std::path::Path;

/// The convolutions' parameters of a graph, shared and unshared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaceSharing {
    /// Parameters of the convolutions as they are (kernels and biases).
    pub shared: usize,
    /// Parameters of the same layers with their own kernel and bias at each output position:
    /// Σ over convolutions of (kernel + bias) · OH · OW.
    pub unshared: usize,
    /// Parameters of the whole network.
    pub total: usize,
}

/// Counts the convolutions' parameters of `graph`: every `conv2d` node's parameter inputs,
/// once as they are and once per position of its `[out, OH, OW]` output.
pub fn count(graph: &Graph) -> SpaceSharing {
    let nodes = graph.nodes();
    let (mut shared, mut unshared) = (0, 0);
    for node in nodes {
        let NodeKind::Op { op, inputs, .. } = &node.kind else {
            continue;
        };
        if op.kind() != "conv2d" {
            continue;
        }
        let params: usize = inputs
            .iter()
            .map(|id| &nodes[id.index()])
            .filter(|n| matches!(n.kind, NodeKind::Param { .. }))
            .map(|n| n.shape.size())
            .sum();
        let positions: usize = node.shape.dims.iter().skip(1).product();
        shared += params;
        unshared += params * positions;
    }
    SpaceSharing {
        shared,
        unshared,
        total: graph.param_count(),
    }
}

/// Compiles `file` (in `dir`) and counts its convolutions' parameters.
pub fn of_file(dir: &Path, file: &str) -> Result<SpaceSharing, StudyError> {
    let plan = program::compile(&dir.join(file), 0)?;
    Ok(count(&plan.graph))
}
