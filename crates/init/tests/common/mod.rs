//! Statistics shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Kurtosis μ₄/σ⁴ of a normal distribution.
pub const NORMAL_KURTOSIS: f64 = 3.0;
/// Kurtosis μ₄/σ⁴ of a uniform distribution.
pub const UNIFORM_KURTOSIS: f64 = 9.0 / 5.0;

/// Sample mean and unbiased sample variance.
pub fn mean_var<'a>(values: impl IntoIterator<Item = &'a f32>) -> (f64, f64, usize) {
    let values: Vec<f64> = values.into_iter().map(|&v| f64::from(v)).collect();
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    (mean, var, n)
}

/// Checks that the sample mean and variance of `values` match a distribution with the given
/// mean, standard deviation and kurtosis, within 6 standard errors:
///
/// * |mean − μ| ≤ 6·σ/√n,
/// * |s² − σ²| ≤ 6·√Var(s²), with Var(s²) = σ⁴·(κ − (n−3)/(n−1))/n, which is
///   2σ⁴/(n−1) for a normal distribution and ≈ (μ₄ − σ⁴)/n in general.
pub fn check_moments<'a>(
    label: &str,
    values: impl IntoIterator<Item = &'a f32>,
    mean: f64,
    std: f64,
    kurtosis: f64,
) -> Result<(), TestCaseError> {
    let (sample_mean, sample_var, n) = mean_var(values);
    prop_assert!(n >= 16, "{label}: too few samples ({n})");
    let nf = n as f64;
    let mean_tol = 6.0 * std / nf.sqrt();
    prop_assert!(
        (sample_mean - mean).abs() <= mean_tol,
        "{label}: mean {sample_mean} vs {mean} (tolerance {mean_tol}, n = {n})"
    );
    let var = std * std;
    let var_of_var = var * var * (kurtosis - (nf - 3.0) / (nf - 1.0)) / nf;
    let var_tol = 6.0 * var_of_var.sqrt();
    prop_assert!(
        (sample_var - var).abs() <= var_tol,
        "{label}: variance {sample_var} vs {var} (tolerance {var_tol}, n = {n})"
    );
    Ok(())
}

/// Standard normal density.
pub fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// ∫ f over [lo, hi] by composite Simpson's rule.
pub fn simpson(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const INTERVALS: usize = 20_000;
    let h = (hi - lo) / INTERVALS as f64;
    let inner: f64 = (1..INTERVALS)
        .map(|i| {
            let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
            weight * f(lo + i as f64 * h)
        })
        .sum();
    (f(lo) + inner + f(hi)) * h / 3.0
}

/// Moments of N(mean, std²) truncated to [a, b].
#[derive(Debug, Clone, Copy)]
pub struct TruncatedMoments {
    pub mean: f64,
    pub std: f64,
    pub kurtosis: f64,
}

/// Mean and variance from the closed-form truncated-normal formulas (with α, β the
/// standardized bounds and Z = Φ(β) − Φ(α)):
///
/// mean = μ + σ·(φ(α) − φ(β))/Z,
/// var  = σ²·[1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²];
///
/// Z itself and the fourth moment (only used for the tolerance) by numerical integration.
pub fn truncated_normal_moments(mean: f64, std: f64, a: f64, b: f64) -> TruncatedMoments {
    // Beyond ±40 the density is 0 in f64: infinite bounds can be cut there.
    let alpha = ((a - mean) / std).max(-40.0);
    let beta = ((b - mean) / std).min(40.0);
    let z = simpson(phi, alpha, beta);
    let shift = (phi(alpha) - phi(beta)) / z;
    let var = 1.0 + (alpha * phi(alpha) - beta * phi(beta)) / z - shift * shift;
    let mu4 = simpson(|x| (x - shift).powi(4) * phi(x), alpha, beta) / z;
    TruncatedMoments {
        mean: mean + std * shift,
        std: std * var.sqrt(),
        kurtosis: mu4 / (var * var),
    }
}
