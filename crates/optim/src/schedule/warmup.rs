//! Linear warmup in front of (or on top of) any other schedule.

use super::Schedule;
use crate::validate::{at_least_one, unit_closed};
use crate::OptimError;

/// How [`LinearWarmup`] combines its ramp with the wrapped schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WarmupMode {
    /// The wrapped schedule starts after the warmup, at its own `t = 0`:
    /// `v(t) = f(t)·inner(0)` for `t < W`, `inner(t − W)` after. Equals PyTorch's
    /// `SequentialLR([LinearLR(start_factor, total_iters=W), inner], milestones=[W])`.
    #[default]
    Sequential,
    /// The ramp multiplies the wrapped schedule from `t = 0`: `v(t) = f(t)·inner(t)`. Equals
    /// PyTorch's `ChainedScheduler([LinearLR(start_factor, total_iters=W), inner])`.
    Chained,
}

/// Linear warmup with PyTorch's `LinearLR` factor
/// `f(t) = s + (1 − s)·min(t, W)/W`, rising from `start_factor` `s` at `t = 0` to 1 at `t = W`,
/// combined with a wrapped schedule as [`WarmupMode`] says.
///
/// `observe`, `state` and `load_state` are forwarded to the wrapped schedule.
#[derive(Debug)]
pub struct LinearWarmup {
    inner: Box<dyn Schedule>,
    start_factor: f64,
    steps: usize,
    mode: WarmupMode,
}

impl LinearWarmup {
    /// Errors unless `start_factor` is in `[0, 1]` and `steps >= 1`.
    pub fn new(
        inner: Box<dyn Schedule>,
        start_factor: f64,
        steps: usize,
        mode: WarmupMode,
    ) -> Result<Self, OptimError> {
        unit_closed("warmup", "start_factor", start_factor)?;
        at_least_one("warmup", "steps", steps)?;
        Ok(Self {
            inner,
            start_factor,
            steps,
            mode,
        })
    }

    /// The ramp factor `f(t)`.
    fn factor(&self, t: usize) -> f64 {
        self.start_factor + (1.0 - self.start_factor) * t.min(self.steps) as f64 / self.steps as f64
    }
}

impl Schedule for LinearWarmup {
    fn value(&self, t: usize) -> f64 {
        match self.mode {
            WarmupMode::Sequential if t < self.steps => self.factor(t) * self.inner.value(0),
            WarmupMode::Sequential => self.inner.value(t - self.steps),
            WarmupMode::Chained => self.factor(t) * self.inner.value(t),
        }
    }

    fn observe(&mut self, metric: f64) {
        self.inner.observe(metric);
    }

    fn state(&self) -> Vec<(String, f64)> {
        self.inner.state()
    }

    fn load_state(&mut self, s: &[(String, f64)]) -> Result<(), OptimError> {
        self.inner.load_state(s)
    }
}
