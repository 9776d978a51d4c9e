//! Gradient clipping by value and by global norm, as PyTorch's `torch.nn.utils`.

use crate::real::{cast, widen};
use crate::validate::require;
use crate::{OptimError, Real};
use ndarray::{ArrayViewD, ArrayViewMutD};

/// Which norm [`clip_grad_norm_with`] and [`grad_norm`] measure.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum NormType {
    /// `(Σ x²)^(1/2)` over every element of every gradient.
    #[default]
    L2,
    /// `max |x|` over every element of every gradient.
    Inf,
    /// `(Σ |x|^p)^(1/p)` for a finite `p > 0`.
    P(f64),
}

/// Clamps every gradient element into `[−clip, clip]` in place (`torch.nn.utils.clip_grad_value_`).
///
/// NaN elements stay NaN. Errors if `clip` is negative or NaN.
pub fn clip_grad_value<F: Real>(
    grads: &mut [ArrayViewMutD<'_, F>],
    clip: F,
) -> Result<(), OptimError> {
    let c = widen(clip);
    require("clip_grad_value", "clip", c, c >= 0.0, ">= 0")?;
    let clamp = |x: &mut F| {
        if *x > clip {
            *x = clip;
        } else if *x < -clip {
            *x = -clip;
        }
    };
    for g in grads.iter_mut() {
        match g.as_slice_memory_order_mut() {
            Some(s) => s.iter_mut().for_each(clamp),
            None => g.iter_mut().for_each(clamp),
        }
    }
    Ok(())
}

/// Rescales the gradients so that their global L2 norm is at most `max_norm`, and returns the
/// norm before clipping (`torch.nn.utils.clip_grad_norm_`). See [`clip_grad_norm_with`].
pub fn clip_grad_norm<F: Real>(
    grads: &mut [ArrayViewMutD<'_, F>],
    max_norm: F,
) -> Result<F, OptimError> {
    clip_grad_norm_with(grads, max_norm, NormType::L2)
}

/// Rescales the gradients so that their global `norm_type` norm is at most `max_norm`, and
/// returns the norm before clipping.
///
/// PyTorch's formula: with `N` the norm over all elements of all gradients,
/// `coef = max_norm / (N + 1e-6)`, and every gradient is multiplied by `coef` only if
/// `coef < 1`. So gradients with `N + 1e-6 <= max_norm` are left bit-identical, no element
/// ever grows in magnitude, and the clipped norm is `N·coef < max_norm`. A non-finite `N` is
/// returned as is (an infinite `N` zeroes finite gradients, as in PyTorch); check the returned
/// value to skip such a step.
///
/// Errors if `max_norm` is negative or NaN, or `P(p)` has `p` non-finite or `<= 0`.
pub fn clip_grad_norm_with<F: Real>(
    grads: &mut [ArrayViewMutD<'_, F>],
    max_norm: F,
    norm_type: NormType,
) -> Result<F, OptimError> {
    let m = widen(max_norm);
    require("clip_grad_norm", "max_norm", m, m >= 0.0, ">= 0")?;
    let total = norm(grads.iter().map(|g| g.view()), norm_type)?;
    let coef = max_norm / (total + cast(1e-6));
    if coef < F::one() {
        for g in grads.iter_mut() {
            match g.as_slice_memory_order_mut() {
                Some(s) => s.iter_mut().for_each(|x| *x = *x * coef),
                None => g.iter_mut().for_each(|x| *x = *x * coef),
            }
        }
    }
    Ok(total)
}

/// The global `norm_type` norm over every element of every gradient (what
/// [`clip_grad_norm_with`] measures), accumulated in `f64`.
///
/// Errors if `P(p)` has `p` non-finite or `<= 0`.
pub fn grad_norm<F: Real>(
    grads: &[ArrayViewD<'_, F>],
    norm_type: NormType,
) -> Result<F, OptimError> {
    norm(grads.iter().map(|g| g.view()), norm_type)
}

fn norm<'a, F: Real>(
    grads: impl Iterator<Item = ArrayViewD<'a, F>>,
    norm_type: NormType,
) -> Result<F, OptimError> {
    if let NormType::P(p) = norm_type {
        require(
            "clip_grad_norm",
            "p",
            p,
            p > 0.0 && p.is_finite(),
            "> 0 and finite",
        )?;
    }
    let mut total = 0.0f64;
    for g in grads {
        let part = match g.as_slice_memory_order() {
            Some(s) => reduce(s.iter().copied(), norm_type),
            None => reduce(g.iter().copied(), norm_type),
        };
        total = match norm_type {
            NormType::Inf => total.max(part),
            _ => total + part,
        };
    }
    let total = match norm_type {
        NormType::L2 => total.sqrt(),
        NormType::Inf => total,
        NormType::P(p) => total.powf(1.0 / p),
    };
    Ok(cast(total))
}

/// `Σ x²`, `max |x|` or `Σ |x|^p` over one gradient, in `f64` (NaN propagates).
fn reduce<F: Real>(xs: impl Iterator<Item = F>, norm_type: NormType) -> f64 {
    match norm_type {
        NormType::L2 => xs.map(widen).map(|x| x * x).sum(),
        NormType::Inf => xs.map(widen).fold(0.0, |m: f64, x| {
            if x.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(x.abs())
            }
        }),
        NormType::P(p) => xs.map(widen).map(|x| x.abs().powf(p)).sum(),
    }
}
