//! Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.

use crate::real::cast;
use crate::validate::{non_negative, unit_closed};
use crate::{Engine, Hyper, OptimError, Real, UpdateRule};

/// SGD as PyTorch's `torch.optim.SGD`: an [`Engine`] driving [`SgdConfig`].
pub type Sgd<F> = Engine<F, SgdConfig>;

/// SGD's hyper-parameters; also its [`UpdateRule`].
///
/// With `g` the gradient, `p` the parameter, `b` the momentum buffer, `μ` the momentum,
/// `τ` the dampening, `λ` the weight decay and `t` the step:
///
/// ```text
/// g ← g + λ·p                               (if λ ≠ 0)
/// b ← g                 if t = 1            (if μ ≠ 0)
/// b ← μ·b + (1 − τ)·g   otherwise
/// g ← g + μ·b  if nesterov, else g ← b      (if μ ≠ 0)
/// p ← p − lr·g
/// ```
///
/// State: `momentum_buffer` when `momentum ≠ 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (`>= 0`). Default 1e-3.
    pub lr: f64,
    /// Momentum factor μ (`>= 0`). Default 0.
    pub momentum: f64,
    /// Dampening τ for momentum (in `[0, 1]`). Default 0.
    pub dampening: f64,
    /// L2 penalty λ (`>= 0`). Default 0.
    pub weight_decay: f64,
    /// Nesterov momentum; requires `momentum > 0` and `dampening = 0`. Default `false`.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    /// PyTorch's defaults.
    fn default() -> Self {
        Self {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl UpdateRule for SgdConfig {
    const NAME: &'static str = "sgd";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    fn validate(&self) -> Result<(), OptimError> {
        non_negative(Self::NAME, "momentum", self.momentum)?;
        unit_closed(Self::NAME, "dampening", self.dampening)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::Nesterov {
                who: Self::NAME,
                momentum: self.momentum,
                dampening: self.dampening,
            });
        }
        Ok(())
    }

    fn buffers(&self) -> Vec<&'static str> {
        if self.momentum != 0.0 {
            vec!["momentum_buffer"]
        } else {
            vec![]
        }
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
        let lr: F = cast(hyper.lr);
        let wd: F = cast(hyper.weight_decay);
        let decay = hyper.weight_decay != 0.0;
        let decayed = |g: F, p: F| if decay { g + wd * p } else { g };
        if self.momentum == 0.0 {
            for (p, &g) in param.iter_mut().zip(grad) {
                *p = *p - lr * decayed(g, *p);
            }
            return;
        }
        let mu: F = cast(self.momentum);
        let keep: F = cast(1.0 - self.dampening);
        let first = step == 1;
        let nesterov = self.nesterov;
        for ((p, &g), b) in param.iter_mut().zip(grad).zip(state.iter_mut()) {
            let g = decayed(g, *p);
            *b = if first { g } else { mu * *b + keep * g };
            let d = if nesterov { g + mu * *b } else { *b };
            *p = *p - lr * d;
        }
    }
}
