//! Division by a number that stays the same across a whole parameter, without a divide
//! instruction, and with the same bits as the division.
//!
//! Adam divides every `√v` by `√(1 − β₂ᵗ)`, a constant of the step. A vector division or
//! square root occupies the CPU's one divider for many cycles (about 16 per 16-lane
//! AVX-512 `f32` vector), and Adam's element loop has a square root and two divisions, so
//! when the moments are in cache the divider is what the loop waits on. Replacing this
//! division by a multiplication and two fused multiply-adds took Adam's step from about
//! 180 µs to 150 µs on the 235,146 parameters of `dsl-examples/bench_mlp.net` (1 thread).
//!
//! The replacement is exact. With `y = RN(1/c)` computed once, for each `x`:
//!
//! ```text
//! q  = RN(x · y)           within one ulp of x / c
//! r  = RN(x − c · q)       one FMA; exact (the remainder of a quotient within an ulp)
//! q' = RN(q + r · y)       one FMA
//! ```
//!
//! and `q' = RN(x / c)`, the correctly rounded quotient that a division returns (Markstein's
//! theorem: a reciprocal within half an ulp and a quotient within one ulp make this one
//! correction step exact; P. Markstein, "Computation of elementary functions on the IBM
//! RISC System/6000 processor", IBM J. Res. Dev. 34(1), 1990; also J.-M. Muller et al.,
//! *Handbook of Floating-Point Arithmetic*). The theorem assumes that nothing overflows or
//! leaves the normal range on the way, which holds for what Adam divides, `x = √v` of an
//! `f32` `v` (zero, at least 2⁻⁷⁵, infinite or NaN), by `c` in `[2⁻²⁷, 1]` (every
//! `√(1 − β₂ᵗ)` with `β₂ < 1` in `f64`):
//!
//! * `q` is at most `x / c ≤ 2⁶⁴ · 2²⁷`: no overflow (a dividend near the largest `f32`
//!   could round `x · y` up to infinity where `x / c` stays finite);
//! * an infinite `x` would make `r` NaN, so an infinite `q` is returned as it is (`∞ / c`
//!   is `∞`); NaN stays NaN; zero gives zero;
//! * a nonzero `r` is a multiple of `ulp(c) · ulp(q) ≥ 2⁻⁵⁰ · 2⁻⁹⁸ ≥ 2⁻¹⁴⁹`, so it is
//!   representable, if need be as a subnormal. Where subnormals are flushed to zero (as in
//!   training, see knit-tensor's `denormal`), `x ≥ 2⁻⁶³` and a remainder that small means
//!   `q` was within `2⁻¹²⁶ / c` of `x / c`, far less than half its ulp: `q` was already the
//!   rounded quotient, and flushing the correction leaves it so.
//!
//! Dividends outside that range (near `2⁻¹²⁶`, or near the largest `f32`; never square
//! roots of an `f32`) can round differently, so this is not a general replacement for
//! division.
//!
//! The tests check the bits against the division on every binade of square roots for the
//! divisors of Adam's first thousands of steps, on random square roots, and in `f64`; an
//! ignored test (`cargo test --release -p knit-optim divisor -- --ignored`, two minutes)
//! checks every `f32` from 2⁻⁷⁵ to 2⁶⁴ for the divisors of the first steps.

use crate::Real;

/// A divisor `c` with its rounded reciprocal, for exact division by multiplication.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Divisor<F> {
    value: F,
    reciprocal: F,
}

impl<F: Real> Divisor<F> {
    /// Prepares division by `c`, for `c` in `[2⁻²⁷, 1]` (Adam's `√(1 − β₂ᵗ)` is in
    /// `[√(1 − β₂), 1]`).
    pub(crate) fn new(c: F) -> Divisor<F> {
        Divisor {
            value: c,
            reciprocal: F::one() / c,
        }
    }

    /// The divisor `c`.
    #[inline(always)]
    pub(crate) fn value(self) -> F {
        self.value
    }

    /// `x / c`, rounded as the division rounds it, for `x` zero, infinite, NaN or at least
    /// `2⁻⁷⁵` (every square root of an `f32`), by multiplication and the correction step
    /// described in the module documentation.
    ///
    /// `mul_add` must be an instruction, not a library call, for this to be fast: call it
    /// only in code compiled with FMA (see [`knit_simd::fma_is_native`]).
    #[inline(always)]
    pub(crate) fn divide(self, x: F) -> F {
        let q = x * self.reciprocal;
        let remainder = (-q).mul_add(self.value, x);
        let corrected = remainder.mul_add(self.reciprocal, q);
        if q.is_infinite() {
            q
        } else {
            corrected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Adam's `√(1 − β₂ᵗ)` in `f32`, computed as the optimizer computes it.
    fn bias_correction_sqrt(beta2: f64, step: u64) -> f32 {
        (1.0 - beta2.powf(step as f64)).sqrt() as f32
    }

    /// The divisors Adam meets: the common β₂ values over their first steps, and 1.
    fn adam_divisors() -> Vec<f32> {
        // 1 and the smallest: β₂ = 1 − 2⁻⁵³, the largest f64 below 1, at its first step.
        let mut cs = vec![1.0, bias_correction_sqrt(1.0 - f64::EPSILON / 2.0, 1)];
        for beta2 in [0.999, 0.99, 0.98, 0.95, 0.9, 0.9999, 0.5, 0.0] {
            for step in (1..=3000).chain([5000, 10_000, 20_000, 100_000]) {
                cs.push(bias_correction_sqrt(beta2, step));
            }
        }
        cs.sort_by(f32::total_cmp);
        cs.dedup();
        cs
    }

    /// The biased exponent of 2⁻⁷⁵, below every nonzero square root of an `f32`.
    const SMALLEST_ROOT_EXPONENT: u32 = 127 - 75;

    /// The biased exponent of 2⁶⁴, above every finite square root of an `f32`.
    const LARGEST_ROOT_EXPONENT: u32 = 127 + 64;

    /// The same bits as `x / c`, NaN matching NaN.
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn matches_the_division_on_every_binade_for_adams_divisors() {
        let divisors = adam_divisors();
        assert!(divisors.len() > 5_000, "{} divisors", divisors.len());
        // Every exponent of a square root of an f32 (from 2⁻⁷⁵, below the root of the
        // smallest subnormal, to 2⁶⁴, above the root of the largest value), each with a
        // spread of significands, plus zero and infinity.
        let mut xs = vec![0.0, f32::INFINITY];
        for exponent in SMALLEST_ROOT_EXPONENT..LARGEST_ROOT_EXPONENT {
            for mantissa in [0u32, 1, 0x7f_ffff, 0x40_0000, 0x12_3456, 0x6d_b6db] {
                xs.push(f32::from_bits(exponent << 23 | mantissa));
            }
        }
        for &c in &divisors {
            let d = Divisor::new(c);
            for &x in &xs {
                assert!(same(d.divide(x), x / c), "{x:e} / {c:e}");
            }
        }
    }

    #[test]
    fn nan_stays_nan() {
        assert!(Divisor::new(0.5f32).divide(f32::NAN).is_nan());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Square roots of second moments (any non-negative f32 whose square root is
        /// taken) divided by any of Adam's divisors.
        #[test]
        fn matches_the_division_on_square_roots(v_bits in 0u32..0x7f80_0000, pick in any::<prop::sample::Index>()) {
            let divisors = adam_divisors();
            let c = divisors[pick.index(divisors.len())];
            let x = f32::from_bits(v_bits).sqrt();
            prop_assert!(same(Divisor::new(c).divide(x), x / c), "{x:e} / {c:e}");
        }

        /// Any positive divisor and dividend whose quotient stays normal, in f64 too.
        #[test]
        fn matches_the_division_in_f64(x in 1e-200f64..1e200, c in 1e-3f64..1e3) {
            let q = Divisor::new(c).divide(x);
            prop_assert_eq!(q.to_bits(), (x / c).to_bits(), "{} / {}", x, c);
        }
    }

    /// Every `f32` from 2⁻⁷⁵ to 2⁶⁴ (every square root of an `f32`), zero and infinity,
    /// against the division by the divisors of Adam's
    /// first steps at β₂ = 0.999 and 0.9999 and at a few later steps.
    #[test]
    #[ignore = "exhaustive: run with --release -- --ignored"]
    fn matches_the_division_on_every_positive_f32() {
        let mut cs: Vec<f32> = (1..=10).map(|t| bias_correction_sqrt(0.999, t)).collect();
        cs.extend([100, 1000, 5000].map(|t| bias_correction_sqrt(0.999, t)));
        cs.extend([1, 2, 10].map(|t| bias_correction_sqrt(0.9999, t)));
        for c in cs {
            let d = Divisor::new(c);
            let roots = SMALLEST_ROOT_EXPONENT << 23..LARGEST_ROOT_EXPONENT << 23;
            let mismatches = roots
                .chain([0, f32::INFINITY.to_bits()])
                .map(f32::from_bits)
                .filter(|&x| !same(d.divide(x), x / c))
                .count();
            assert_eq!(mismatches, 0, "divisor {c:e}");
        }
    }
}
