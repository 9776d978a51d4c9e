//! Cosine annealing with warm restarts (SGDR; PyTorch's `CosineAnnealingWarmRestarts`).

use super::cosine::cosine_value;
use super::Schedule;
use crate::validate::{at_least_one, finite};
use crate::OptimError;

/// `v(t) = η_min + (v₀ − η_min) · (1 + cos(π·T_cur/T_i)) / 2`, restarting at `v₀` after each
/// period: the first period lasts `T_0` steps, each next one `T_mult` times longer, and
/// `T_cur` counts the steps since the last restart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineWarmRestarts {
    initial: f64,
    t_0: usize,
    t_mult: usize,
    eta_min: f64,
}

impl CosineWarmRestarts {
    /// Errors unless `initial`, `eta_min` are finite, `t_0 >= 1` and `t_mult >= 1`.
    pub fn new(initial: f64, t_0: usize, t_mult: usize, eta_min: f64) -> Result<Self, OptimError> {
        finite("warm_restarts", "initial", initial)?;
        at_least_one("warm_restarts", "t_0", t_0)?;
        at_least_one("warm_restarts", "t_mult", t_mult)?;
        finite("warm_restarts", "eta_min", eta_min)?;
        Ok(Self {
            initial,
            t_0,
            t_mult,
            eta_min,
        })
    }

    /// `(T_cur, T_i)` at step `t`, in exact integer arithmetic.
    fn position(&self, t: usize) -> (usize, usize) {
        if self.t_mult == 1 {
            return (t % self.t_0, self.t_0);
        }
        let (mut start, mut len) = (0usize, self.t_0);
        // Periods grow geometrically, so this runs O(log t) times; saturation ends it on overflow.
        while t - start >= len {
            start += len;
            len = len.saturating_mul(self.t_mult);
        }
        (t - start, len)
    }
}

impl Schedule for CosineWarmRestarts {
    fn value(&self, t: usize) -> f64 {
        let (t_cur, t_i) = self.position(t);
        cosine_value(self.initial, self.eta_min, t_cur as f64, t_i as f64)
    }
}
