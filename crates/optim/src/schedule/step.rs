//! Step decay (PyTorch's `StepLR`).

use super::Schedule;
use crate::validate::{at_least_one, finite, non_negative};
use crate::OptimError;

/// `v(t) = v₀ · γ^⌊t / every⌋`: multiplied by `γ` every `every` steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepDecay {
    initial: f64,
    every: usize,
    gamma: f64,
}

impl StepDecay {
    /// Errors unless `initial` is finite, `every >= 1` and `gamma >= 0` is finite.
    pub fn new(initial: f64, every: usize, gamma: f64) -> Result<Self, OptimError> {
        finite("step", "initial", initial)?;
        at_least_one("step", "every", every)?;
        non_negative("step", "gamma", gamma)?;
        Ok(Self {
            initial,
            every,
            gamma,
        })
    }
}

impl Schedule for StepDecay {
    fn value(&self, t: usize) -> f64 {
        self.initial * self.gamma.powf((t / self.every) as f64)
    }
}
