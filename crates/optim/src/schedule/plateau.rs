//! Reduce on plateau (PyTorch's `ReduceLROnPlateau`).

use super::Schedule;
use crate::state::match_entries;
use crate::validate::{finite, non_negative, require};
use crate::OptimError;

/// Whether a lower or a higher metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How `threshold` defines a significant improvement over the best metric `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThresholdMode {
    /// `a < b·(1 − threshold)` in `Min` mode, `a > b·(1 + threshold)` in `Max` mode.
    #[default]
    Rel,
    /// `a < b − threshold` in `Min` mode, `a > b + threshold` in `Max` mode.
    Abs,
}

/// [`ReduceOnPlateau`]'s settings; `Default` is PyTorch's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateauConfig {
    /// Lower or higher is better. Default `Min`.
    pub mode: PlateauMode,
    /// Multiplier applied on a plateau (in `[0, 1)`). Default 0.1.
    pub factor: f64,
    /// Number of non-improving observations tolerated; the value drops on the next one.
    /// Default 10.
    pub patience: usize,
    /// Minimum significant improvement (`>= 0`). Default 1e-4.
    pub threshold: f64,
    /// Relative or absolute threshold. Default `Rel`.
    pub threshold_mode: ThresholdMode,
    /// Observations ignored after a reduction. Default 0.
    pub cooldown: usize,
    /// The value never drops below this (finite). Default 0.
    pub min_value: f64,
    /// A reduction smaller than this is not applied (`>= 0`). Default 1e-8.
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        Self {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_value: 0.0,
            eps: 1e-8,
        }
    }
}

/// Multiplies the value by `factor` when the observed metric stops improving.
///
/// On each [`observe`](Schedule::observe)`(a)`, as PyTorch's `step(metric)`:
///
/// ```text
/// if a is better than best (by threshold): best ← a, bad ← 0   else bad ← bad + 1
/// if cooldown_counter > 0:                 cooldown_counter ← cooldown_counter − 1, bad ← 0
/// if bad > patience:  v' = max(v·factor, min_value);  v ← v' if v − v' > eps;
///                     cooldown_counter ← cooldown, bad ← 0
/// ```
///
/// `value(t)` ignores `t` and returns the current value. State: `value`, `best`,
/// `num_bad_epochs`, `cooldown_counter`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceOnPlateau {
    config: PlateauConfig,
    value: f64,
    best: f64,
    num_bad_epochs: usize,
    cooldown_counter: usize,
}

const WHO: &str = "plateau";
const KEYS: [&str; 4] = ["value", "best", "num_bad_epochs", "cooldown_counter"];

impl ReduceOnPlateau {
    /// Starts at `initial`. Errors on a non-finite `initial` or `min_value`, a `factor`
    /// outside `[0, 1)`, or a negative or non-finite `threshold` or `eps`.
    pub fn new(initial: f64, config: PlateauConfig) -> Result<Self, OptimError> {
        finite(WHO, "initial", initial)?;
        require(
            WHO,
            "factor",
            config.factor,
            (0.0..1.0).contains(&config.factor),
            "in [0, 1)",
        )?;
        non_negative(WHO, "threshold", config.threshold)?;
        finite(WHO, "min_value", config.min_value)?;
        non_negative(WHO, "eps", config.eps)?;
        let best = match config.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        Ok(Self {
            config,
            value: initial,
            best,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        })
    }

    /// The best metric seen so far (±∞ before any).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Observations since the last significant improvement (reset by a reduction or cooldown).
    pub fn num_bad_epochs(&self) -> usize {
        self.num_bad_epochs
    }

    fn is_better(&self, a: f64) -> bool {
        let (best, thr) = (self.best, self.config.threshold);
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - thr),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - thr,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (1.0 + thr),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + thr,
        }
    }
}

impl Schedule for ReduceOnPlateau {
    fn value(&self, _t: usize) -> f64 {
        self.value
    }

    fn observe(&mut self, metric: f64) {
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.config.patience {
            let reduced = (self.value * self.config.factor).max(self.config.min_value);
            if self.value - reduced > self.config.eps {
                self.value = reduced;
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
    }

    fn state(&self) -> Vec<(String, f64)> {
        let values = [
            self.value,
            self.best,
            self.num_bad_epochs as f64,
            self.cooldown_counter as f64,
        ];
        KEYS.iter()
            .zip(values)
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn load_state(&mut self, s: &[(String, f64)]) -> Result<(), OptimError> {
        let keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        let v = match_entries(WHO, &keys, s)?;
        let bad = |i: usize, requirement| OptimError::StateValue {
            who: WHO,
            key: keys[i].clone(),
            requirement,
            value: *v[i],
        };
        if !v[0].is_finite() {
            return Err(bad(0, "finite"));
        }
        if v[1].is_nan() {
            return Err(bad(1, "a number"));
        }
        for i in [2, 3] {
            if !(*v[i] >= 0.0 && v[i].fract() == 0.0) {
                return Err(bad(i, "a non-negative integer"));
            }
        }
        self.value = *v[0];
        self.best = *v[1];
        self.num_bad_epochs = *v[2] as usize;
        self.cooldown_counter = *v[3] as usize;
        Ok(())
    }
}
