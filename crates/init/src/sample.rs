//! Sampling code shared by all random initializers.
//!
//! Values are drawn and transformed in `f64` and rounded once to `f32`; elements are visited
//! in logical row-major order (`iter_mut`), whatever the memory layout of the view.

use std::f64::consts::PI;

use ndarray::ArrayViewMutD;
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::{FanMode, Fans, InitError};

/// One uniform draw from `[low, high)` (up to the final rounding): `low + (high − low)·u`.
fn uniform(rng: &mut dyn RngCore, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// One standard normal draw.
pub(crate) fn standard_normal(rng: &mut dyn RngCore) -> f64 {
    StandardNormal.sample(rng)
}

/// Fill `out` with U(low, high).
pub(crate) fn fill_uniform(
    out: ArrayViewMutD<'_, f32>,
    low: f64,
    high: f64,
    rng: &mut dyn RngCore,
) {
    for x in out {
        *x = uniform(rng, low, high) as f32;
    }
}

/// Fill `out` with N(mean, std²).
pub(crate) fn fill_normal(out: ArrayViewMutD<'_, f32>, mean: f64, std: f64, rng: &mut dyn RngCore) {
    for x in out {
        *x = (mean + std * standard_normal(rng)) as f32;
    }
}

/// How a fan-scaled initializer spreads zero-mean values of a given standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spread {
    /// U(−√3·std, √3·std), whose standard deviation is std.
    Uniform,
    /// N(0, std²).
    Normal,
}

/// The fan a scaled initializer divides by, with the name its error message uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fan {
    pub(crate) name: &'static str,
    pub(crate) value: f64,
}

impl Fan {
    /// fan_in or fan_out, as `mode` selects.
    pub(crate) fn of_mode(mode: FanMode, fans: Fans) -> Fan {
        Fan {
            name: mode.name(),
            value: mode.select(fans) as f64,
        }
    }

    /// (fan_in + fan_out) / 2, Glorot's compromise between the two.
    pub(crate) fn average(fans: Fans) -> Fan {
        Fan {
            name: "fan_in + fan_out",
            value: (fans.fan_in as f64 + fans.fan_out as f64) / 2.0,
        }
    }
}

/// Fill `out` with zero-mean values of standard deviation `std = scale / √fan`, spread as
/// `spread` says. This is the whole of Glorot, He, LeCun and the fan-in uniform heuristic;
/// they differ only in `scale` and `fan`.
///
/// A zero-element `out` is left alone (PyTorch treats it as a no-op); otherwise a zero fan
/// is [`InitError::ZeroFan`].
pub(crate) fn fill_fan_scaled(
    out: ArrayViewMutD<'_, f32>,
    rng: &mut dyn RngCore,
    initializer: &'static str,
    spread: Spread,
    scale: f64,
    fan: Fan,
) -> Result<(), InitError> {
    if out.is_empty() {
        return Ok(());
    }
    if fan.value == 0.0 {
        return Err(InitError::ZeroFan {
            initializer,
            fan: fan.name,
        });
    }
    let std = scale / fan.value.sqrt();
    match spread {
        Spread::Uniform => {
            let bound = 3f64.sqrt() * std;
            fill_uniform(out, -bound, bound, rng);
        }
        Spread::Normal => fill_normal(out, 0.0, std, rng),
    }
    Ok(())
}

/// Fill `out` with N(mean, std²) truncated to `[a, b]` (`std > 0`, `a < b`, bounds may be
/// infinite), then clamped to `[a, b]` against rounding, as PyTorch does.
pub(crate) fn fill_truncated_normal(
    out: ArrayViewMutD<'_, f32>,
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    rng: &mut dyn RngCore,
) {
    let sampler = TruncatedStandardNormal::new((a - mean) / std, (b - mean) / std);
    for x in out {
        *x = (mean + std * sampler.sample(rng)).clamp(a, b) as f32;
    }
}

/// Exact sampler for the standard normal restricted to `[alpha, beta]`.
///
/// It picks, once per interval, the most efficient of four rejection samplers (Robert 1995,
/// "Simulation of truncated normal variables", with the thresholds of Geweke 1991 as used by
/// R's `truncnorm`): normal, half-normal, uniform or translated-exponential proposals. Every
/// one of them is exact, and unlike the inverse-CDF method of PyTorch's `trunc_normal_` it
/// stays accurate when `[alpha, beta]` lies far in a tail. Intervals entirely below zero are
/// sampled as the mirror image of the interval above zero.
#[derive(Debug, Clone, Copy)]
struct TruncatedStandardNormal {
    /// Interval actually sampled (after mirroring).
    lo: f64,
    hi: f64,
    /// Negate the result (the interval was mirrored).
    mirrored: bool,
    method: Method,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Draw N(0, 1) until it lands in the interval.
    Normal,
    /// Draw |N(0, 1)| until it lands in the interval (`0 < lo`).
    HalfNormal,
    /// Draw U(lo, hi), accept with probability φ(z) / max φ on the interval.
    Uniform,
    /// Draw lo + Exp(lo), accept with probability exp(−(z − lo)²/2) (`0 < lo`).
    Exponential,
}

/// Below this density at an end of an interval containing 0, normal proposals beat uniform.
const T1: f64 = 0.15;
/// Below this ratio φ(lo)/φ(hi), uniform proposals are used for a one-sided interval.
const T2: f64 = 2.18;
/// Below this lower bound, half-normal proposals beat exponential ones.
const T3: f64 = 0.725;

/// Standard normal density.
fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

impl TruncatedStandardNormal {
    fn new(alpha: f64, beta: f64) -> Self {
        if alpha <= 0.0 && 0.0 <= beta {
            let method = if phi(alpha) <= T1 || phi(beta) <= T1 {
                Method::Normal
            } else {
                Method::Uniform
            };
            return TruncatedStandardNormal {
                lo: alpha,
                hi: beta,
                mirrored: false,
                method,
            };
        }
        let (lo, hi, mirrored) = if alpha > 0.0 {
            (alpha, beta, false)
        } else {
            (-beta, -alpha, true)
        };
        // ln(φ(lo)/φ(hi)) = (hi² − lo²)/2, computed without under- or overflowing φ.
        let log_density_ratio = 0.5 * (hi - lo) * (hi + lo);
        let method = if log_density_ratio <= T2.ln() {
            Method::Uniform
        } else if lo < T3 {
            Method::HalfNormal
        } else {
            Method::Exponential
        };
        TruncatedStandardNormal {
            lo,
            hi,
            mirrored,
            method,
        }
    }

    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        let (lo, hi) = (self.lo, self.hi);
        let inside = |z: f64| lo <= z && z <= hi;
        let z = match self.method {
            Method::Normal => loop {
                let z = standard_normal(rng);
                if inside(z) {
                    break z;
                }
            },
            Method::HalfNormal => loop {
                let z = standard_normal(rng).abs();
                if inside(z) {
                    break z;
                }
            },
            Method::Uniform => {
                // The density peaks at 0 if the interval holds it, else at lo (> 0).
                let peak = if lo <= 0.0 { 0.0 } else { lo };
                loop {
                    let z = uniform(rng, lo, hi);
                    if rng.random::<f64>() <= (0.5 * (peak - z) * (peak + z)).exp() {
                        break z;
                    }
                }
            }
            Method::Exponential => loop {
                let e: f64 = Exp1.sample(rng);
                let z = lo + e / lo;
                if z <= hi && rng.random::<f64>() <= (-0.5 * (z - lo) * (z - lo)).exp() {
                    break z;
                }
            },
        };
        if self.mirrored {
            -z
        } else {
            z
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_sampler_picks_the_documented_method() {
        let method = |a, b| TruncatedStandardNormal::new(a, b).method;
        assert_eq!(method(-2.0, 2.0), Method::Normal);
        assert_eq!(method(-0.5, 0.5), Method::Uniform);
        assert_eq!(method(0.1, 5.0), Method::HalfNormal);
        assert_eq!(method(3.0, f64::INFINITY), Method::Exponential);
        assert_eq!(method(3.0, 3.1), Method::Uniform);
        let mirrored = TruncatedStandardNormal::new(-5.0, -3.0);
        assert!(mirrored.mirrored);
        assert_eq!((mirrored.lo, mirrored.hi), (3.0, 5.0));
    }

    #[test]
    fn every_method_stays_inside_its_interval() {
        let mut rng = crate::stream(0, "truncated");
        for (a, b) in [
            (-2.0, 2.0),
            (-0.5, 0.5),
            (0.1, 5.0),
            (3.0, f64::INFINITY),
            (3.0, 3.1),
            (-5.0, -3.0),
            (-1e6, -999_999.0),
            (f64::NEG_INFINITY, f64::INFINITY),
        ] {
            let sampler = TruncatedStandardNormal::new(a, b);
            for _ in 0..2_000 {
                let z = sampler.sample(&mut rng);
                assert!(a <= z && z <= b, "{z} outside [{a}, {b}]");
            }
        }
    }
}
