//! Caffe's "inv" policy.

use super::Schedule;
use crate::validate::{finite, non_negative};
use crate::OptimError;

/// `v(t) = v₀ · (1 + γ·t)^(−p)` (Caffe's `lr_policy: "inv"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inv {
    initial: f64,
    gamma: f64,
    power: f64,
}

impl Inv {
    /// Errors unless `initial` is finite and `gamma >= 0`, `power >= 0` are finite.
    pub fn new(initial: f64, gamma: f64, power: f64) -> Result<Self, OptimError> {
        finite("inv", "initial", initial)?;
        non_negative("inv", "gamma", gamma)?;
        non_negative("inv", "power", power)?;
        Ok(Self {
            initial,
            gamma,
            power,
        })
    }
}

impl Schedule for Inv {
    fn value(&self, t: usize) -> f64 {
        self.initial * (1.0 + self.gamma * t as f64).powf(-self.power)
    }
}
