//! Adam (and AMSGrad) with L2 weight decay; also home of the Adam core that AdamW shares.

use crate::divisor::Divisor;
use crate::real::cast;
use crate::validate::{non_negative, unit_half_open};
use crate::{Engine, Hyper, OptimError, Real, UpdateRule};
use knit_simd::{fma_is_native, vectorized};

/// Adam as PyTorch's `torch.optim.Adam`: an [`Engine`] driving [`AdamConfig`].
pub type Adam<F> = Engine<F, AdamConfig>;

/// Adam's hyper-parameters; also its [`UpdateRule`].
///
/// With `m`, `v` the first and second moment estimates, `t` the step and `λ` the L2 weight
/// decay (added to the gradient, unlike [`AdamWConfig`](crate::AdamWConfig)):
///
/// ```text
/// g ← g + λ·p                               (if λ ≠ 0)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// v_max ← max(v_max, v)                     (amsgrad; then v_max replaces v below)
/// m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
/// p ← p − lr · m̂ / (√v̂ + eps)
/// ```
///
/// `eps` is added outside the square root and after bias correction, and the update is
/// evaluated in PyTorch's order: `p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)`.
///
/// State: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (`>= 0`). Default 1e-3.
    pub lr: f64,
    /// (β₁, β₂), each in `[0, 1)`. Default (0.9, 0.999).
    pub betas: (f64, f64),
    /// Added to the denominator (`>= 0`). Default 1e-8.
    pub eps: f64,
    /// L2 penalty λ (`>= 0`). Default 0.
    pub weight_decay: f64,
    /// Use the running maximum of `v` (AMSGrad). Default `false`.
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    /// PyTorch's defaults.
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

impl UpdateRule for AdamConfig {
    const NAME: &'static str = "adam";

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
        core.update(hyper.lr, hyper.weight_decay, 0.0, step, state, param, grad);
    }
}

/// Checks the hyper-parameters Adam and AdamW share.
pub(crate) fn validate_core(
    who: &'static str,
    betas: (f64, f64),
    eps: f64,
) -> Result<(), OptimError> {
    unit_half_open(who, "beta1", betas.0)?;
    unit_half_open(who, "beta2", betas.1)?;
    non_negative(who, "eps", eps)
}

/// The state buffers of Adam and AdamW.
pub(crate) fn core_buffers(amsgrad: bool) -> Vec<&'static str> {
    if amsgrad {
        vec!["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    } else {
        vec!["exp_avg", "exp_avg_sq"]
    }
}

/// The Adam update shared by Adam (coupled L2 decay) and AdamW (decoupled decay).
pub(crate) struct Core {
    pub(crate) betas: (f64, f64),
    pub(crate) eps: f64,
    pub(crate) amsgrad: bool,
}

impl Core {
    /// One update: `p ← p·(1 − lr·decoupled)` first, then Adam with `g ← g + l2·p`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn update<F: Real>(
        &self,
        lr: f64,
        l2: f64,
        decoupled: f64,
        step: u64,
        state: &mut [F],
        param: &mut [F],
        grad: &[F],
    ) {
        let (beta1, beta2) = self.betas;
        let t = step as f64;
        let bias_correction1 = 1.0 - beta1.powf(t);
        let bias_correction2 = 1.0 - beta2.powf(t);
        let k = Consts {
            keep: cast(1.0 - lr * decoupled),
            decoupled: decoupled != 0.0,
            l2: cast(l2),
            coupled: l2 != 0.0,
            beta1: cast(beta1),
            one_minus_beta1: cast(1.0 - beta1),
            beta2: cast(beta2),
            one_minus_beta2: cast(1.0 - beta2),
            step_size: cast(lr / bias_correction1),
            bias_correction2_sqrt: Divisor::new(cast(bias_correction2.sqrt())),
            eps: cast(self.eps),
        };
        let n = param.len();
        let (exp_avg, rest) = state.split_at_mut(n);
        let (exp_avg_sq, max_exp_avg_sq) = rest.split_at_mut(n);
        if self.amsgrad {
            split::<F, true>(&k, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);
        } else {
            split::<F, false>(&k, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);
        }
    }
}

/// Runs [`kernel`] on halves of the parameter on two rayon workers, recursively, while the
/// halves have at least [`PARALLEL_MIN_ELEMENTS`] elements and the caller is a worker of a
/// pool with more than one thread (where `join` costs a few µs; from outside a pool it costs
/// tens). Elementwise, so the result does not depend on the split.
fn split<F: Real, const AMSGRAD: bool>(
    k: &Consts<F>,
    p: &mut [F],
    g: &[F],
    m: &mut [F],
    v: &mut [F],
    vmax: &mut [F],
) {
    let n = p.len();
    let parallel = n >= 2 * PARALLEL_MIN_ELEMENTS
        && rayon::current_thread_index().is_some()
        && rayon::current_num_threads() > 1;
    if !parallel {
        return if fma_is_native() {
            vectorized(
                #[inline(always)]
                || kernel::<F, AMSGRAD, true>(k, p, g, m, v, vmax),
            )
        } else {
            vectorized(
                #[inline(always)]
                || kernel::<F, AMSGRAD, false>(k, p, g, m, v, vmax),
            )
        };
    }
    let mid = n / 2;
    let (p0, p1) = p.split_at_mut(mid);
    let (g0, g1) = g.split_at(mid);
    let (m0, m1) = m.split_at_mut(mid);
    let (v0, v1) = v.split_at_mut(mid);
    let (x0, x1) = if AMSGRAD {
        vmax.split_at_mut(mid)
    } else {
        vmax.split_at_mut(0)
    };
    rayon::join(
        || split::<F, AMSGRAD>(k, p0, g0, m0, v0, x0),
        || split::<F, AMSGRAD>(k, p1, g1, m1, v1, x1),
    );
}

/// The smallest half [`split`] hands to another thread: below it the update takes less than
/// the hand-over (32k elements take about 15 µs).
const PARALLEL_MIN_ELEMENTS: usize = 32_768;

/// The per-step constants of the update, already in `F`.
struct Consts<F> {
    keep: F,
    decoupled: bool,
    l2: F,
    coupled: bool,
    beta1: F,
    one_minus_beta1: F,
    beta2: F,
    one_minus_beta2: F,
    step_size: F,
    bias_correction2_sqrt: Divisor<F>,
    eps: F,
}

/// The element loop, specialized on AMSGrad so that it vectorizes (`vmax` is empty without),
/// and on whether the division by `√(1 − β₂ᵗ)` is done by multiplication ([`Divisor`]:
/// the same bits, faster where FMA is an instruction).
#[inline(always)]
fn kernel<F: Real, const AMSGRAD: bool, const BY_MULTIPLICATION: bool>(
    k: &Consts<F>,
    p: &mut [F],
    g: &[F],
    m: &mut [F],
    v: &mut [F],
    vmax: &mut [F],
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let vmax = if AMSGRAD { &mut vmax[..n] } else { vmax };
    for i in 0..n {
        let pi = if k.decoupled { p[i] * k.keep } else { p[i] };
        let gi = if k.coupled { g[i] + k.l2 * pi } else { g[i] };
        m[i] = k.beta1 * m[i] + k.one_minus_beta1 * gi;
        v[i] = k.beta2 * v[i] + k.one_minus_beta2 * (gi * gi);
        let second = if AMSGRAD {
            vmax[i] = vmax[i].max(v[i]);
            vmax[i]
        } else {
            v[i]
        };
        let root = second.sqrt();
        let scaled = if BY_MULTIPLICATION {
            k.bias_correction2_sqrt.divide(root)
        } else {
            root / k.bias_correction2_sqrt.value()
        };
        let denom = scaled + k.eps;
        p[i] = pi - k.step_size * (m[i] / denom);
    }
}
