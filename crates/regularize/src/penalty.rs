//! Parameter norm penalties, added to the loss through the graph.

use crate::RegularizeError;
use knit_tensor::{Graph, NodeId};

/// A penalty on the size of parameters, in Keras's convention (the strength multiplies the
/// plain sum, without a factor ½).
///
/// * `L1(λ)`: `λ · Σ |w|` — drives weights to exactly zero (sparsity);
/// * `L2(λ)`: `λ · Σ w²` — shrinks weights towards zero; its gradient `2λ·w` equals SGD
///   weight decay `wd = 2λ`;
/// * `ElasticNet { l1, l2 }`: `l1 · Σ |w| + l2 · Σ w²`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Penalty {
    /// `λ · Σ |w|`.
    L1(f64),
    /// `λ · Σ w²`.
    L2(f64),
    /// `l1 · Σ |w| + l2 · Σ w²`.
    ElasticNet {
        /// Strength of the L1 part.
        l1: f64,
        /// Strength of the L2 part.
        l2: f64,
    },
}

impl Penalty {
    /// Checks that the strengths are finite and non-negative.
    pub fn validate(self) -> Result<Self, RegularizeError> {
        let (l1, l2) = self.strengths();
        for (what, v) in [("l1", l1), ("l2", l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(RegularizeError::InvalidStrength { what, value: v });
            }
        }
        Ok(self)
    }

    /// The (L1, L2) strengths.
    pub fn strengths(self) -> (f64, f64) {
        match self {
            Penalty::L1(l1) => (l1, 0.0),
            Penalty::L2(l2) => (0.0, l2),
            Penalty::ElasticNet { l1, l2 } => (l1, l2),
        }
    }
}

/// Adds `penalty` over `params` to the graph and returns the scalar penalty node, named
/// `name`. Add it to the data loss to train with it; report it on its own to see its share.
pub fn add_penalty(
    graph: &mut Graph,
    name: &str,
    params: &[NodeId],
    penalty: Penalty,
) -> Result<NodeId, RegularizeError> {
    let first_new = graph.len();
    let (l1, l2) = penalty.validate()?.strengths();
    if params.is_empty() {
        return Err(RegularizeError::NothingSelected {
            name: name.to_string(),
        });
    }
    let mut terms = Vec::new();
    if l1 > 0.0 {
        terms.push(weighted_norm(graph, params, l1, Norm::L1)?);
    }
    if l2 > 0.0 || terms.is_empty() {
        terms.push(weighted_norm(graph, params, l2, Norm::L2)?);
    }
    let total = sum_all(graph, &terms)?;
    // A named identity (scale by one) so the penalty can be found and reported by name.
    let node = graph.op(
        Some(name),
        knit_tensor::ops::Pointwise::Scale(1.0),
        &[total],
    )?;
    graph.name_generated(first_new, name);
    Ok(node)
}

/// Which norm [`weighted_norm`] sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Norm {
    L1,
    L2,
}

/// `strength · Σ_p Σ |p|` or `strength · Σ_p Σ p²` over the given nodes.
pub(crate) fn weighted_norm(
    graph: &mut Graph,
    nodes: &[NodeId],
    strength: f64,
    norm: Norm,
) -> Result<NodeId, RegularizeError> {
    let mut sums = Vec::with_capacity(nodes.len());
    for &p in nodes {
        let elementwise = match norm {
            Norm::L1 => graph.pointwise(knit_tensor::ops::Pointwise::Abs, p)?,
            Norm::L2 => graph.mul(p, p)?,
        };
        sums.push(graph.sum(elementwise, None)?);
    }
    let total = sum_all(graph, &sums)?;
    Ok(graph.scale(total, strength)?)
}

/// The sum of scalar nodes.
pub(crate) fn sum_all(graph: &mut Graph, nodes: &[NodeId]) -> Result<NodeId, RegularizeError> {
    let (&first, rest) = nodes.split_first().expect("at least one term");
    let mut total = first;
    for &n in rest {
        total = graph.add(total, n)?;
    }
    Ok(total)
}
