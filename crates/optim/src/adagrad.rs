//! AdaGrad: per-element learning rates from the running sum of squared gradients.

use crate::real::cast;
use crate::validate::non_negative;
use crate::{Engine, Hyper, OptimError, Real, UpdateRule};

/// AdaGrad as PyTorch's `torch.optim.Adagrad`: an [`Engine`] driving [`AdagradConfig`].
pub type Adagrad<F> = Engine<F, AdagradConfig>;

/// AdaGrad's hyper-parameters; also its [`UpdateRule`].
///
/// With `s` the accumulator (starting at `initial_accumulator_value`), `η_d` the learning
/// rate decay, `λ` the weight decay and `t` the step:
///
/// ```text
/// g   ← g + λ·p                    (if λ ≠ 0)
/// clr = lr / (1 + (t − 1)·η_d)
/// s   ← s + g²
/// p   ← p − clr · g / (√s + eps)
/// ```
///
/// State: `sum`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (`>= 0`). Default 1e-2.
    pub lr: f64,
    /// Learning-rate decay η_d (`>= 0`). Default 0.
    pub lr_decay: f64,
    /// L2 penalty λ (`>= 0`). Default 0.
    pub weight_decay: f64,
    /// Starting value of the accumulator (`>= 0`). Default 0.
    pub initial_accumulator_value: f64,
    /// Added to the denominator (`>= 0`). Default 1e-10.
    pub eps: f64,
}

impl Default for AdagradConfig {
    /// PyTorch's defaults.
    fn default() -> Self {
        Self {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

impl UpdateRule for AdagradConfig {
    const NAME: &'static str = "adagrad";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    fn validate(&self) -> Result<(), OptimError> {
        non_negative(Self::NAME, "lr_decay", self.lr_decay)?;
        non_negative(
            Self::NAME,
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        non_negative(Self::NAME, "eps", self.eps)
    }

    fn buffers(&self) -> Vec<&'static str> {
        vec!["sum"]
    }

    fn initial_value(&self, _buffer: &str) -> f64 {
        self.initial_accumulator_value
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
        let clr: F = cast(hyper.lr / (1.0 + (step - 1) as f64 * self.lr_decay));
        let wd: F = cast(hyper.weight_decay);
        let decay = hyper.weight_decay != 0.0;
        let eps: F = cast(self.eps);
        for ((p, &g), s) in param.iter_mut().zip(grad).zip(state.iter_mut()) {
            let g = if decay { g + wd * *p } else { g };
            *s = *s + g * g;
            *p = *p - clr * (g / (s.sqrt() + eps));
        }
    }
}
