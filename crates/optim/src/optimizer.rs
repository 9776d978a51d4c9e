//! The object-safe optimizer interface.

use crate::{OptimError, Real, Slot};
use ndarray::ArrayD;

/// A first-order optimizer over a fixed list of parameters.
///
/// Object safe and generic over the element type, so a trainer can hold a
/// `Box<dyn Optimizer<f32>>` chosen at run time. Every implementation in this crate is an
/// [`Engine`](crate::Engine) driving an [`UpdateRule`](crate::UpdateRule), which allocates all
/// state at construction: `step` allocates nothing.
pub trait Optimizer<F: Real>: Send {
    /// One update of every slot; `slots[i]` is the parameter of `specs[i]`. Frozen groups are
    /// skipped.
    ///
    /// All slots are checked before any is touched: a wrong slot count, a misshapen parameter
    /// or gradient (the error names it), or an invalid learning rate set by
    /// [`set_lr`](Self::set_lr) leaves every parameter and all state unchanged.
    fn step(&mut self, slots: &mut [Slot<'_, F>]) -> Result<(), OptimError>;

    /// The base learning rate (before a group's `lr_mult`).
    fn lr(&self) -> f64;

    /// Sets the base learning rate, typically from a [`Schedule`](crate::schedule::Schedule)
    /// each step or epoch. An invalid value (negative, NaN, infinite) makes the next `step`
    /// fail with a typed error instead of corrupting the parameters.
    fn set_lr(&mut self, lr: f64);

    /// The optimizer's state as named arrays, in spec order: for each parameter
    /// `"{name}.step"` (a 0-d array holding the number of updates it received) followed by
    /// its per-element buffers under PyTorch's state keys (`momentum_buffer`, `sum`,
    /// `square_avg`, `grad_avg`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`), each shaped like
    /// the parameter. The set of keys depends only on the specs and the configuration, so the
    /// state fits a safetensors file. The learning rate is not state: a schedule sets it.
    /// Step counts are stored in `F`, like PyTorch's float32 `step` tensors: in `f32` they are
    /// exact up to 2²⁴ ≈ 1.7·10⁷ steps.
    fn state(&self) -> Vec<(String, ArrayD<F>)>;

    /// Restores a state saved by [`state`](Self::state) for an exact resume.
    ///
    /// Every key the configuration requires must be present exactly once, with the right
    /// shape, and no other key may be present; step counts must be non-negative integers.
    /// Violations are typed errors ([`OptimError::MissingState`],
    /// [`OptimError::UnexpectedState`], [`OptimError::DuplicateState`],
    /// [`OptimError::StateShape`], [`OptimError::StateValue`]), and on error nothing is
    /// changed.
    fn load_state(&mut self, state: &[(String, ArrayD<F>)]) -> Result<(), OptimError>;

    /// Each parameter's number of updates, in spec order, exactly (the `"{name}.step"`
    /// entries of [`state`](Self::state) hold them in `F`, which for `f32` is exact only up
    /// to 2²⁴).
    fn step_counts(&self) -> Vec<u64>;

    /// Sets each parameter's number of updates, in spec order (after
    /// [`load_state`](Self::load_state), to restore counts beyond what `F` holds exactly).
    /// A list of the wrong length is [`OptimError::SlotCount`], and changes nothing.
    fn set_step_counts(&mut self, steps: &[u64]) -> Result<(), OptimError>;
}
