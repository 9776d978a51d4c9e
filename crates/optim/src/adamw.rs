//! AdamW: Adam with decoupled weight decay.

use crate::adam::{core_buffers, validate_core, Core};
use crate::{Engine, Hyper, OptimError, Real, UpdateRule};

/// AdamW as PyTorch's `torch.optim.AdamW`: an [`Engine`] driving [`AdamWConfig`].
pub type AdamW<F> = Engine<F, AdamWConfig>;

/// AdamW's hyper-parameters; also its [`UpdateRule`].
///
/// The weight decay `λ` shrinks the parameter directly instead of entering the gradient,
/// then the [`AdamConfig`](crate::AdamConfig) update runs without L2:
///
/// ```text
/// p ← p·(1 − lr·λ)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// v_max ← max(v_max, v)                     (amsgrad; then v_max replaces v below)
/// p ← p − lr · m̂ / (√v̂ + eps),   m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
/// ```
///
/// State: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (`>= 0`). Default 1e-3.
    pub lr: f64,
    /// (β₁, β₂), each in `[0, 1)`. Default (0.9, 0.999).
    pub betas: (f64, f64),
    /// Added to the denominator (`>= 0`). Default 1e-8.
    pub eps: f64,
    /// Decoupled weight decay λ (`>= 0`). Default 1e-2.
    pub weight_decay: f64,
    /// Use the running maximum of `v` (AMSGrad). Default `false`.
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    /// PyTorch's defaults (note `weight_decay = 1e-2`, unlike Adam).
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }
}

impl UpdateRule for AdamWConfig {
    const NAME: &'static str = "adamw";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    fn validate(&self) -> Result<(), OptimError> {
        validate_core(Self::NAME, self.betas, self.eps)
    }

    fn buffers(&self) -> Vec<&'static str> {
        core_buffers(self.amsgrad)
    }

    #[inline(always)]
    fn update<F: Real>(
        &self,
        hyper: &Hyper,
        step: u64,
        state: &mut [F],
        param: &mut [F],
        grad: &[F],
    ) {
        let core = Core {
            betas: self.betas,
            eps: self.eps,
            amsgrad: self.amsgrad,
        };
        core.update(hyper.lr, 0.0, hyper.weight_decay, step, state, param, grad);
    }
}
