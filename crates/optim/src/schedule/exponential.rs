//! Exponential decay (PyTorch's `ExponentialLR`).

use super::Schedule;
use crate::validate::{finite, non_negative};
use crate::OptimError;

/// `v(t) = v₀ · γ^t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exponential {
    initial: f64,
    gamma: f64,
}

impl Exponential {
    /// Errors unless `initial` is finite and `gamma >= 0` is finite.
    pub fn new(initial: f64, gamma: f64) -> Result<Self, OptimError> {
        finite("exponential", "initial", initial)?;
        non_negative("exponential", "gamma", gamma)?;
        Ok(Self { initial, gamma })
    }
}

impl Schedule for Exponential {
    fn value(&self, t: usize) -> f64 {
        self.initial * self.gamma.powf(t as f64)
    }
}
