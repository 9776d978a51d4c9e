//! The element type of a graph's values: `f32` for training, `f64` for gradient checks.

use crate::{Kernel, Op};
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type that every op can run on.
///
/// The graph itself is float-agnostic; an [`Executor`](crate::Executor) runs it in one
/// `Float`. Only `f32` and `f64` implement it: every [`Op`](crate::Op) must provide a
/// [`Kernel`](crate::Kernel) for both, so the same graph trains in `f32` and is checked
/// against finite differences in `f64`.
pub trait Float:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// Converts an `f64` constant (a hyperparameter, a literal) to this type.
    fn lit(v: f64) -> Self;
    /// Widens to `f64` (exact for both implementors).
    fn as_f64(self) -> f64;
    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt (used by the exact GELU).
    fn erf(self) -> Self;
    /// The logistic function `1 / (1 + e^(−x))` in a form that vectorizes: for `f32`
    /// [`knit_simd::math::logistic`] (within 4 ulp), for `f64` the exact formula.
    fn logistic(self) -> Self;
    /// `tanh x` in a form that vectorizes: for `f32` [`knit_simd::math::tanh`] (within
    /// 4 ulp), for `f64` the C library's.
    fn tanh_vectorizable(self) -> Self;
    /// The op's kernel for this float type (every op has one for `f32` and `f64`).
    fn kernel(op: &dyn Op) -> &dyn Kernel<Self>;
}

impl Float for f32 {
    #[inline]
    fn lit(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    #[inline(always)]
    fn logistic(self) -> Self {
        knit_simd::math::logistic(self)
    }
    #[inline(always)]
    fn tanh_vectorizable(self) -> Self {
        knit_simd::math::tanh(self)
    }
    fn kernel(op: &dyn Op) -> &dyn Kernel<Self> {
        op
    }
}

impl Float for f64 {
    #[inline]
    fn lit(v: f64) -> Self {
        v
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline]
    fn logistic(self) -> Self {
        crate::ops::sigmoid(self)
    }
    #[inline]
    fn tanh_vectorizable(self) -> Self {
        self.tanh()
    }
    fn kernel(op: &dyn Op) -> &dyn Kernel<Self> {
        op
    }
}
