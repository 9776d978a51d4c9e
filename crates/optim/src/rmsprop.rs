//! RMSProp: gradients divided by a running RMS, optionally centered and with momentum.

use crate::real::cast;
use crate::validate::{non_negative, unit_closed};
use crate::{Engine, Hyper, OptimError, Real, UpdateRule};

/// RMSProp as PyTorch's `torch.optim.RMSprop`: an [`Engine`] driving [`RmspropConfig`].
pub type Rmsprop<F> = Engine<F, RmspropConfig>;

/// RMSProp's hyper-parameters; also its [`UpdateRule`].
///
/// With `v` the square average, `ḡ` the gradient average (centered only), `b` the momentum
/// buffer, `α` the smoothing constant, `μ` the momentum and `λ` the weight decay:
///
/// ```text
/// g ← g + λ·p                          (if λ ≠ 0)
/// v ← α·v + (1 − α)·g²
/// ḡ ← α·ḡ + (1 − α)·g,  ṽ = v − ḡ²     (if centered; else ṽ = v)
/// d = √ṽ + eps
/// b ← μ·b + g/d,  p ← p − lr·b         (if μ > 0)
/// p ← p − lr·g/d                       (otherwise)
/// ```
///
/// State: `square_avg`, then `momentum_buffer` when `momentum > 0`, then `grad_avg` when
/// centered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropConfig {
    /// Learning rate (`>= 0`). Default 1e-2.
    pub lr: f64,
    /// Smoothing constant α (in `[0, 1]`). Default 0.99.
    pub alpha: f64,
    /// Added to the denominator (`>= 0`). Default 1e-8.
    pub eps: f64,
    /// L2 penalty λ (`>= 0`). Default 0.
    pub weight_decay: f64,
    /// Momentum factor μ (`>= 0`). Default 0.
    pub momentum: f64,
    /// Normalize by the estimated variance instead of the raw second moment. Default `false`.
    pub centered: bool,
}

impl Default for RmspropConfig {
    /// PyTorch's defaults.
    fn default() -> Self {
        Self {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl UpdateRule for RmspropConfig {
    const NAME: &'static str = "rmsprop";

    fn lr(&self) -> f64 {
        self.lr
    }

    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    fn validate(&self) -> Result<(), OptimError> {
        unit_closed(Self::NAME, "alpha", self.alpha)?;
        non_negative(Self::NAME, "eps", self.eps)?;
        non_negative(Self::NAME, "momentum", self.momentum)
    }

    fn buffers(&self) -> Vec<&'static str> {
        let mut names = vec!["square_avg"];
        if self.momentum > 0.0 {
            names.push("momentum_buffer");
        }
        if self.centered {
            names.push("grad_avg");
        }
        names
    }

    #[inline(always)]
    fn update<F: Real>(
        &self,
        hyper: &Hyper,
        _step: u64,
        state: &mut [F],
        param: &mut [F],
        grad: &[F],
    ) {
        let k = Consts {
            lr: cast(hyper.lr),
            wd: cast(hyper.weight_decay),
            decay: hyper.weight_decay != 0.0,
            alpha: cast(self.alpha),
            one_minus_alpha: cast(1.0 - self.alpha),
            eps: cast(self.eps),
            mu: cast(self.momentum),
        };
        let n = param.len();
        let (square_avg, rest) = state.split_at_mut(n);
        let (momentum_buffer, grad_avg) =
            rest.split_at_mut(if self.momentum > 0.0 { n } else { 0 });
        let run = match (self.momentum > 0.0, self.centered) {
            (false, false) => kernel::<F, false, false>,
            (true, false) => kernel::<F, true, false>,
            (false, true) => kernel::<F, false, true>,
            (true, true) => kernel::<F, true, true>,
        };
        run(&k, param, grad, square_avg, momentum_buffer, grad_avg);
    }
}

/// The per-step constants of the update, already in `F`.
struct Consts<F> {
    lr: F,
    wd: F,
    decay: bool,
    alpha: F,
    one_minus_alpha: F,
    eps: F,
    mu: F,
}

/// The element loop, specialized on the configuration so that it vectorizes; `b` (momentum
/// buffer) and `m` (gradient average) are empty when `MOMENTUM` / `CENTERED` is off.
#[inline(always)]
fn kernel<F: Real, const MOMENTUM: bool, const CENTERED: bool>(
    k: &Consts<F>,
    p: &mut [F],
    g: &[F],
    v: &mut [F],
    b: &mut [F],
    m: &mut [F],
) {
    let n = p.len();
    let (g, v) = (&g[..n], &mut v[..n]);
    let b = if MOMENTUM { &mut b[..n] } else { b };
    let m = if CENTERED { &mut m[..n] } else { m };
    for i in 0..n {
        let gi = if k.decay { g[i] + k.wd * p[i] } else { g[i] };
        v[i] = k.alpha * v[i] + k.one_minus_alpha * (gi * gi);
        let var = if CENTERED {
            m[i] = k.alpha * m[i] + k.one_minus_alpha * gi;
            v[i] - m[i] * m[i]
        } else {
            v[i]
        };
        let d = var.sqrt() + k.eps;
        p[i] = if MOMENTUM {
            b[i] = k.mu * b[i] + gi / d;
            p[i] - k.lr * b[i]
        } else {
            p[i] - k.lr * (gi / d)
        };
    }
}
