//! Decay at given milestones (PyTorch's `MultiStepLR`).

use super::Schedule;
use crate::validate::{finite, non_negative};
use crate::OptimError;

/// `v(t) = v₀ · γ^k` with `k` the number of milestones `<= t`.
///
/// Milestones are sorted at construction; a repeated milestone counts twice, as in PyTorch.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStep {
    initial: f64,
    milestones: Vec<usize>,
    gamma: f64,
}

impl MultiStep {
    /// Errors unless `initial` is finite and `gamma >= 0` is finite.
    pub fn new(initial: f64, milestones: &[usize], gamma: f64) -> Result<Self, OptimError> {
        finite("multistep", "initial", initial)?;
        non_negative("multistep", "gamma", gamma)?;
        let mut milestones = milestones.to_vec();
        milestones.sort_unstable();
        Ok(Self {
            initial,
            milestones,
            gamma,
        })
    }
}

impl Schedule for MultiStep {
    fn value(&self, t: usize) -> f64 {
        let passed = self.milestones.partition_point(|&m| m <= t);
        self.initial * self.gamma.powf(passed as f64)
    }
}
