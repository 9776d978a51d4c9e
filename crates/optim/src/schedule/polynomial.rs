//! Polynomial decay to an end value (PyTorch's `PolynomialLR` when `end = 0`).

use super::Schedule;
use crate::validate::{at_least_one, finite, non_negative};
use crate::OptimError;

/// `v(t) = (v₀ − v_end) · (1 − min(t, T)/T)^power + v_end`: reaches `v_end` at `t = T` and
/// stays there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polynomial {
    initial: f64,
    end: f64,
    total: usize,
    power: f64,
}

impl Polynomial {
    /// Errors unless `initial`, `end` are finite, `total >= 1` and `power >= 0` is finite.
    pub fn new(initial: f64, end: f64, total: usize, power: f64) -> Result<Self, OptimError> {
        finite("polynomial", "initial", initial)?;
        finite("polynomial", "end", end)?;
        at_least_one("polynomial", "total", total)?;
        non_negative("polynomial", "power", power)?;
        Ok(Self {
            initial,
            end,
            total,
            power,
        })
    }
}

impl Schedule for Polynomial {
    fn value(&self, t: usize) -> f64 {
        let progress = t.min(self.total) as f64 / self.total as f64;
        (self.initial - self.end) * (1.0 - progress).powf(self.power) + self.end
    }
}
