//! Schedules: values that change over training, such as the learning rate, a pruning ratio or
//! a dropout ratio.
//!
//! Every schedule is a closed form `value(t)` of the step (or epoch) `t`, with `t = 0` the
//! start, as PyTorch documents its `lr_scheduler` classes; [`ReduceOnPlateau`] instead reacts
//! to the metrics fed to [`Schedule::observe`]. Drive an optimizer with
//! `opt.set_lr(schedule.value(t))` before each step.
//!
//! ```
//! use knit_optim::schedule::{CosineAnnealing, LinearWarmup, Schedule, WarmupMode};
//!
//! // 5 steps of linear warmup from 0.1·lr, then cosine annealing from 0.1 to 0 over 100 steps.
//! let cosine = CosineAnnealing::new(0.1, 100, 0.0)?;
//! let schedule = LinearWarmup::new(Box::new(cosine), 0.1, 5, WarmupMode::Sequential)?;
//! assert!((schedule.value(0) - 0.01).abs() < 1e-12);
//! assert!((schedule.value(5) - 0.1).abs() < 1e-12);
//! assert!((schedule.value(105) - 0.0).abs() < 1e-12);
//! # Ok::<(), knit_optim::OptimError>(())
//! ```

mod constant;
mod cosine;
mod exponential;
mod inv;
mod inverse_time;
mod multistep;
mod plateau;
mod polynomial;
mod step;
mod warm_restarts;
mod warmup;

pub use constant::Constant;
pub use cosine::CosineAnnealing;
pub use exponential::Exponential;
pub use inv::Inv;
pub use inverse_time::InverseTime;
pub use multistep::MultiStep;
pub use plateau::{PlateauConfig, PlateauMode, ReduceOnPlateau, ThresholdMode};
pub use polynomial::Polynomial;
pub use step::StepDecay;
pub use warm_restarts::CosineWarmRestarts;
pub use warmup::{LinearWarmup, WarmupMode};

use crate::OptimError;

/// A value that changes over training.
///
/// Object safe: a trainer holds a `Box<dyn Schedule>` per scheduled quantity.
pub trait Schedule: Send + std::fmt::Debug {
    /// The value for step/epoch `t` (t = 0 is the start).
    fn value(&self, t: usize) -> f64;

    /// Feeds a monitored metric (only [`ReduceOnPlateau`] uses it; default no-op).
    fn observe(&mut self, _metric: f64) {}

    /// The schedule's mutable state as named scalars (empty for closed-form schedules).
    fn state(&self) -> Vec<(String, f64)> {
        vec![]
    }

    /// Restores a state saved by [`state`](Self::state). A stateless schedule accepts only an
    /// empty list; any entry is an [`OptimError::UnexpectedState`].
    fn load_state(&mut self, s: &[(String, f64)]) -> Result<(), OptimError> {
        match s.first() {
            Some((key, _)) => Err(OptimError::UnexpectedState {
                who: "schedule",
                key: key.clone(),
            }),
            None => Ok(()),
        }
    }
}
