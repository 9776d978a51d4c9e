//! Inverse-time decay.

use super::Schedule;
use crate::validate::{finite, non_negative};
use crate::OptimError;

/// `v(t) = v₀ / (1 + k·t)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InverseTime {
    initial: f64,
    k: f64,
}

impl InverseTime {
    /// Errors unless `initial` is finite and `k >= 0` is finite.
    pub fn new(initial: f64, k: f64) -> Result<Self, OptimError> {
        finite("inverse_time", "initial", initial)?;
        non_negative("inverse_time", "k", k)?;
        Ok(Self { initial, k })
    }
}

impl Schedule for InverseTime {
    fn value(&self, t: usize) -> f64 {
        self.initial / (1.0 + self.k * t as f64)
    }
}
