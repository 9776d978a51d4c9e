//! `exp`, the logistic function and `tanh` in `f32`, written to vectorize.
//!
//! The C library's `expf` and `tanhf` are calls the compiler cannot vectorize; in a recurrent
//! layer they were nearly half of a training step. These versions are straight-line code
//! (clamps, a polynomial, an exponent built from bits, and selects instead of branches), so a
//! loop over a slice compiles to vector instructions, and within [`vectorized`](crate::vectorized)
//! to 16-wide AVX-512 ones.
//!
//! The polynomials are evaluated with fused multiply-adds (`mul_add`): one instruction each
//! inside [`vectorized`](crate::vectorized) on CPUs with FMA, and the C library's correctly
//! rounded `fmaf` elsewhere, so the bits are the same on every path, only slower without
//! FMA.
//!
//! Accuracy (checked against `f64` over the whole range in this module's tests): `exp`
//! within 2 ulp, `logistic` and `tanh` within 4 ulp, or 2e-38 absolutely (results that are
//! flushed or subnormal anyway).
//!
//! - `exp(x) = 2ⁿ · e^r` with `n = round(x / ln 2)` and `r = x − n·ln 2` (ln 2 split in a
//!   high part exact in `f32` and a low part), `e^r` by Cephes' `expf` polynomial; `x` is
//!   clamped to [−87.3, 88.37] so that `2ⁿ` stays a normal number.
//! - `logistic(x) = 1 / (1 + e^(−x))`.
//! - `tanh(x)`: for `|x| < 0.625` Cephes' odd polynomial `x + x³·P(x²)`; above,
//!   `1 − 2 / (e^(2|x|) + 1)` with the sign of `x`; `|x| > 10` gives ±1.

/// `eˣ` for `f32`, within 2 ulp; saturates at `e^88.37` and at `e^−87.3`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.37);
    // Round to nearest by adding and subtracting 1.5·2²³ (exact for |x·log2e| < 2²²); the
    // sum's low mantissa bits are then n in two's complement.
    const SHIFTER: f32 = 12_582_912.0;
    let shifted = x.mul_add(LOG2E, SHIFTER);
    let n = shifted - SHIFTER;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, x));
    let r2 = r * r;
    let p = 1.987_569_1e-4f32
        .mul_add(r, 1.398_199_9e-3)
        .mul_add(r, 8.333_452e-3)
        .mul_add(r, 4.166_579_6e-2)
        .mul_add(r, 1.666_666_5e-1)
        .mul_add(r, 0.5);
    let er = p.mul_add(r2, r) + 1.0;
    // 2ⁿ from its bits (n is within [−126, 127] after the clamp), with integer operations
    // that vectorize, unlike a float-to-integer conversion.
    let n_bits = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    er * scale
}

/// The logistic function `1 / (1 + e^(−x))` (the sigmoid), within 4 ulp.
#[inline(always)]
pub fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x` for `f32`, within 4 ulp.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    // Small |x|: x + x³·P(x²) (Cephes tanhf).
    let z = x * x;
    let small = (-5.704_988_7e-3f32)
        .mul_add(z, 2.063_909e-2)
        .mul_add(z, -5.373_971e-2)
        .mul_add(z, 1.333_148_3e-1)
        .mul_add(z, -3.333_332_3e-1)
        * z;
    let small = small.mul_add(x, x);
    // Large |x|: 1 − 2 / (e^(2|x|) + 1), with the sign of x.
    let large = 1.0 - 2.0 / (exp(2.0 * a.min(10.0)) + 1.0);
    let large = large.copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between `got` and the correctly rounded `want`.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if got == w {
            return 0.0;
        }
        let ulp = (f64::from(w.abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON)).max(1e-45);
        (f64::from(got) - want).abs() / ulp
    }

    /// Every 97th `f32` bit pattern in [lo, hi] (about 40 million of them over the full range).
    fn sweep(lo: f32, hi: f32, mut f: impl FnMut(f32)) {
        for sign in [1.0f32, -1.0] {
            let mut bits = 0u32;
            while bits < 0x7f80_0000 {
                let x = f32::from_bits(bits) * sign;
                if (lo..=hi).contains(&x) {
                    f(x);
                }
                bits += 97;
            }
        }
    }

    #[test]
    fn exp_is_within_two_ulp() {
        let mut worst = 0.0f64;
        sweep(-87.0, 88.3, |x| {
            worst = worst.max(ulps(exp(x), f64::from(x).exp()))
        });
        assert!(worst <= 2.0, "worst {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(1000.0), exp(88.37));
        assert!(exp(1000.0).is_finite());
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
    }

    #[test]
    fn logistic_is_within_four_ulp_or_tiny() {
        let mut worst = 0.0f64;
        sweep(-87.0, 88.5, |x| {
            let want = 1.0 / (1.0 + (-f64::from(x)).exp());
            let got = logistic(x);
            if (f64::from(got) - want).abs() > 2e-38 {
                worst = worst.max(ulps(got, want));
            }
        });
        assert!(worst <= 4.0, "worst {worst} ulp");
        assert_eq!(logistic(0.0), 0.5);
        assert_eq!(logistic(100.0), 1.0);
    }

    #[test]
    fn tanh_is_within_four_ulp_and_odd() {
        let mut worst = 0.0f64;
        sweep(-20.0, 20.0, |x| {
            worst = worst.max(ulps(tanh(x), f64::from(x).tanh()));
            assert_eq!(tanh(x), -tanh(-x));
        });
        assert!(worst <= 4.0, "worst {worst} ulp");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(30.0), 1.0);
        assert!(tanh(f32::MIN_POSITIVE) == f32::MIN_POSITIVE);
    }
}
