//! Parameter tying: a soft penalty pulling pairs of parameters of two models together.

use crate::penalty::{sum_all, weighted_norm, Norm};
use crate::RegularizeError;
use knit_tensor::{Graph, NodeId};

/// How a tied pair's distance is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TieNorm {
    /// `Σ |a − b|`.
    L1,
    /// `Σ (a − b)²`, the squared Euclidean distance.
    L2,
}

/// Adds `strength · Σ_pairs dist(a, b)` to the graph, where `dist` is the chosen norm of the
/// difference of each pair (parameters of two models trained side by side on the same data).
/// The pairs must have equal shapes. Returns the scalar penalty node, named `name`.
pub fn add_tying(
    graph: &mut Graph,
    name: &str,
    pairs: &[(NodeId, NodeId)],
    strength: f64,
    norm: TieNorm,
) -> Result<NodeId, RegularizeError> {
    let first_new = graph.len();
    if !(strength.is_finite() && strength >= 0.0) {
        return Err(RegularizeError::InvalidStrength {
            what: "tie",
            value: strength,
        });
    }
    if pairs.is_empty() {
        return Err(RegularizeError::NothingSelected {
            name: name.to_string(),
        });
    }
    let mut diffs = Vec::with_capacity(pairs.len());
    for &(a, b) in pairs {
        let (na, nb) = (graph.node(a)?, graph.node(b)?);
        if na.shape != nb.shape {
            return Err(RegularizeError::TiedShapes {
                a: na.name.clone(),
                b: nb.name.clone(),
                shape_a: na.shape.to_string(),
                shape_b: nb.shape.to_string(),
            });
        }
        diffs.push(graph.sub(a, b)?);
    }
    let norm = match norm {
        TieNorm::L1 => Norm::L1,
        TieNorm::L2 => Norm::L2,
    };
    let total = weighted_norm(graph, &diffs, strength, norm)?;
    let total = sum_all(graph, &[total])?;
    let node = graph.op(
        Some(name),
        knit_tensor::ops::Pointwise::Scale(1.0),
        &[total],
    )?;
    graph.name_generated(first_new, name);
    Ok(node)
}
