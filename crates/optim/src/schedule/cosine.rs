//! Cosine annealing (PyTorch's `CosineAnnealingLR`, closed form).

use super::Schedule;
use crate::validate::{at_least_one, finite};
use crate::OptimError;
use std::f64::consts::PI;

/// `v(t) = η_min + (v₀ − η_min) · (1 + cos(π·t/T_max)) / 2`.
///
/// Reaches `η_min` at `t = T_max`; like PyTorch's closed form it then rises again (period
/// `2·T_max`), so set `T_max` to the length of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineAnnealing {
    initial: f64,
    t_max: usize,
    eta_min: f64,
}

impl CosineAnnealing {
    /// Errors unless `initial`, `eta_min` are finite and `t_max >= 1`.
    pub fn new(initial: f64, t_max: usize, eta_min: f64) -> Result<Self, OptimError> {
        finite("cosine", "initial", initial)?;
        at_least_one("cosine", "t_max", t_max)?;
        finite("cosine", "eta_min", eta_min)?;
        Ok(Self {
            initial,
            t_max,
            eta_min,
        })
    }
}

/// `η_min + (v₀ − η_min)·(1 + cos(π·t_cur/t_i))/2`, shared with the warm-restart schedule.
pub(crate) fn cosine_value(initial: f64, eta_min: f64, t_cur: f64, t_i: f64) -> f64 {
    eta_min + (initial - eta_min) * (1.0 + (PI * t_cur / t_i).cos()) / 2.0
}

impl Schedule for CosineAnnealing {
    fn value(&self, t: usize) -> f64 {
        cosine_value(self.initial, self.eta_min, t as f64, self.t_max as f64)
    }
}
