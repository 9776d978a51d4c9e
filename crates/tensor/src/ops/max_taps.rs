//! The inner loop of max pooling: one tap of a row of windows, for every output at once.
//!
//! Output `k` of the row reads `row[k·s]` and takes it, with the tap's number, when it is
//! larger than the best value so far or NaN (so the first maximum wins, or the last NaN, as
//! in PyTorch). Written generically the select compiles to a branch per pixel, which the
//! random signs after a ReLU mispredict half the time (a fifth of a CNN's training step);
//! for `f32` with stride 1 or 2 on AVX-512 it is 16 outputs per compare-and-blend.

use crate::Float;
#[cfg(target_arch = "x86_64")]
use std::any::TypeId;

/// Updates `best` and `at` (equal lengths `n`) with the tap `row[k·s]` (`row` holds
/// `(n − 1)·s + 1` values) numbered `tap`.
pub(super) fn max_taps<F: Float>(row: &[F], s: usize, tap: F, best: &mut [F], at: &mut [F]) {
    let n = best.len();
    assert!(
        at.len() == n && n > 0 && row.len() > (n - 1) * s,
        "max_taps: mismatched lengths"
    );
    #[cfg(target_arch = "x86_64")]
    if s <= 2 && TypeId::of::<F>() == TypeId::of::<f32>() && is_x86_feature_detected!("avx512f") {
        // SAFETY: F is f32 (same TypeId), so the casts change only the static type; the
        // lengths were checked above and AVX-512F is present.
        unsafe {
            let f = |p: *const F| p.cast::<f32>();
            let tap = *f(&tap);
            avx512::max_taps(
                f(row.as_ptr()),
                s,
                tap,
                best.as_mut_ptr().cast(),
                at.as_mut_ptr().cast(),
                n,
            );
        }
        return;
    }
    let taps = row.iter().step_by(s);
    for ((b, a), &v) in best.iter_mut().zip(at.iter_mut()).zip(taps) {
        if v > *b || v.is_nan() {
            *b = v;
            *a = tap;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// [`super::max_taps`] for `f32`, stride `s` of 1 or 2, 16 outputs a step.
    ///
    /// # Safety
    /// AVX-512F must be available; `row` readable for `(n − 1)·s + 1` values, `best` and
    /// `at` writable for `n`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn max_taps(
        row: *const f32,
        s: usize,
        tap: f32,
        best: *mut f32,
        at: *mut f32,
        n: usize,
    ) {
        let len = (n - 1) * s + 1;
        let taps = _mm512_set1_ps(tap);
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let lanes = |count: usize| -> __mmask16 {
            if count >= 16 {
                0xFFFF
            } else {
                ((1u32 << count) - 1) as __mmask16
            }
        };
        let mut k = 0;
        while k < n {
            let m = lanes(n - k);
            // SAFETY: every access is masked to the lanes inside `row` (offsets below
            // `len`), `best` and `at` (below `n`).
            unsafe {
                let v = if s == 1 {
                    _mm512_maskz_loadu_ps(m, row.add(k))
                } else {
                    let rest = len - 2 * k;
                    let lo = _mm512_maskz_loadu_ps(lanes(rest), row.add(2 * k));
                    let hi =
                        _mm512_maskz_loadu_ps(lanes(rest.saturating_sub(16)), row.add(2 * k + 16));
                    _mm512_permutex2var_ps(lo, even, hi)
                };
                let b = _mm512_maskz_loadu_ps(m, best.add(k));
                let a = _mm512_maskz_loadu_ps(m, at.add(k));
                let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, b)
                    | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                _mm512_mask_storeu_ps(best.add(k), m, _mm512_mask_mov_ps(b, take, v));
                _mm512_mask_storeu_ps(at.add(k), m, _mm512_mask_mov_ps(a, take, taps));
            }
            k += 16;
        }
    }
}
