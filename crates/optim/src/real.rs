//! The element type optimizers run on: `f32` for training, `f64` for reference tests.

use std::fmt::Debug;

/// A floating-point element type every optimizer, clip and schedule helper runs on.
///
/// Blanket-implemented for every type with the listed bounds, so `f32` and `f64` both
/// qualify: the same code trains in `f32` and is checked against scalar references in `f64`.
/// Hyper-parameters are `f64`; they are converted to `F` once per parameter per step, as
/// PyTorch converts its Python-float hyper-parameters to the tensor's dtype.
pub trait Real: num_traits::Float + ndarray::ScalarOperand + Debug + Send + Sync + 'static {}

impl<T> Real for T where
    T: num_traits::Float + ndarray::ScalarOperand + Debug + Send + Sync + 'static
{
}

/// Converts an `f64` hyper-parameter to `F` (rounding to nearest; never fails for `f32`/`f64`,
/// and yields NaN for an exotic `F` that cannot represent the value).
#[inline]
pub(crate) fn cast<F: Real>(x: f64) -> F {
    F::from(x).unwrap_or_else(F::nan)
}

/// Widens `x` to `f64` (exact for `f32` and `f64`; NaN for an exotic `F` that cannot).
#[inline]
pub(crate) fn widen<F: Real>(x: F) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}
