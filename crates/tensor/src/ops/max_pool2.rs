//! The common case of max pooling, a 2×2 window with stride 2 and no padding, for `f32` on
//! AVX-512: 16 windows per step, forward and backward.
//!
//! The general path ([`super::max_taps`]) visits one tap of a row of windows per call and
//! sends each gradient to its pixel through an index computed per window; on the benchmark
//! CNN (rows of 14 and 7 windows) that bookkeeping, not the compares, was most of the
//! pool's fifth of a training step. Here a pair of input rows is read once, its even and
//! odd columns separated in registers, and the four taps compared in the window's
//! row-major order (the first maximum wins, or the last NaN, as in PyTorch and the general
//! path). The window's tap number `i·2 + j` is kept as the general path keeps it, so both
//! paths read each other's scratch. The backward pass writes each window's four gradients
//! (the tap's, and zeros) with two interleaving stores instead of zeroing the input
//! gradient first and adding into it.

use crate::Float;
#[cfg(target_arch = "x86_64")]
use std::any::TypeId;

/// Whether this path serves `F` on this CPU (`f32` with AVX-512F).
pub(super) fn applies<F: Float>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        TypeId::of::<F>() == TypeId::of::<f32>() && is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Casts a slice of `F` to `f32` when `F` is `f32`.
#[cfg(target_arch = "x86_64")]
fn as_f32<F: Float>(v: &[F]) -> &[f32] {
    assert_eq!(
        TypeId::of::<F>(),
        TypeId::of::<f32>(),
        "max_pool2: F is f32"
    );
    // SAFETY: F is f32 (same TypeId), so only the static type changes.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), v.len()) }
}

/// Casts a writable slice of `F` to `f32` when `F` is `f32`.
#[cfg(target_arch = "x86_64")]
fn as_f32_mut<F: Float>(v: &mut [F]) -> &mut [f32] {
    assert_eq!(
        TypeId::of::<F>(),
        TypeId::of::<f32>(),
        "max_pool2: F is f32"
    );
    // SAFETY: F is f32 (same TypeId), so only the static type changes.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), v.len()) }
}

/// Pools one plane `img` `[h, w]` into `y` `[⌊h/2⌋, ⌊w/2⌋]`, with each window's tap
/// (0 to 3) in `arg`. Only call when [`applies`] says so.
pub(super) fn forward<F: Float>(img: &[F], h: usize, w: usize, y: &mut [F], arg: &mut [F]) {
    let (oh, ow) = (h / 2, w / 2);
    assert!(
        img.len() == h * w && y.len() == oh * ow && arg.len() == oh * ow && ow > 0,
        "max_pool2: mismatched lengths"
    );
    #[cfg(target_arch = "x86_64")]
    {
        assert!(applies::<F>(), "max_pool2: f32 with AVX-512F only");
        let (img, y, arg) = (as_f32(img), as_f32_mut(y), as_f32_mut(arg));
        for (oy, (y, arg)) in y
            .chunks_exact_mut(ow)
            .zip(arg.chunks_exact_mut(ow))
            .enumerate()
        {
            let rows = &img[2 * oy * w..][..2 * w];
            // SAFETY: AVX-512F is present (asserted); both rows hold `w ≥ 2·ow` values and
            // `y`, `arg` hold `ow`.
            unsafe { avx512::forward_row(rows.as_ptr(), rows[w..].as_ptr(), y, arg) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "max_pool2: only on x86-64 ({} values)",
        img.len() + y.len() + arg.len()
    );
}

/// Writes (`fresh`) or adds the gradient of one plane: `g` and `arg` `[⌊h/2⌋, ⌊w/2⌋]` into
/// `dx` `[h, w]`, each window's gradient to its tap and, when writing, zero to the other
/// pixels (those of no window included). Only call when [`applies`] says so.
pub(super) fn backward<F: Float>(
    g: &[F],
    arg: &[F],
    h: usize,
    w: usize,
    dx: &mut [F],
    fresh: bool,
) {
    let (oh, ow) = (h / 2, w / 2);
    assert!(
        dx.len() == h * w && g.len() == oh * ow && arg.len() == oh * ow && ow > 0,
        "max_pool2: mismatched lengths"
    );
    #[cfg(target_arch = "x86_64")]
    {
        assert!(applies::<F>(), "max_pool2: f32 with AVX-512F only");
        let (g, arg, dx) = (as_f32(g), as_f32(arg), as_f32_mut(dx));
        // Pixels of no window (an odd last row or column) are zeroed up front and the
        // windows then added.
        let store = fresh && h.is_multiple_of(2) && w.is_multiple_of(2);
        if fresh && !store {
            dx.fill(0.0);
        }
        for (oy, (g, arg)) in g.chunks_exact(ow).zip(arg.chunks_exact(ow)).enumerate() {
            let (top, bottom) = dx[2 * oy * w..][..2 * w].split_at_mut(w);
            // SAFETY: as in `forward`, for writes.
            unsafe { avx512::backward_row(g, arg, top.as_mut_ptr(), bottom.as_mut_ptr(), store) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "max_pool2: only on x86-64 ({} {})",
        g.len() + arg.len() + dx.len(),
        fresh
    );
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// The mask of the first `count` of 16 lanes.
    #[inline]
    fn lanes(count: usize) -> __mmask16 {
        if count >= 16 {
            0xFFFF
        } else {
            ((1u32 << count) - 1) as __mmask16
        }
    }

    /// Loads `row[2k .. 2k + 32]` (masked to the `len` values of `row`) and returns its even
    /// and odd elements: the left and right taps of windows `k .. k + 16`.
    ///
    /// # Safety
    /// AVX-512F; `row` readable for `len` values.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn taps(row: *const f32, k: usize, len: usize) -> (__m512, __m512) {
        let rest = len.saturating_sub(2 * k);
        // SAFETY: masked to the lanes below `len`.
        let (lo, hi) = unsafe {
            (
                _mm512_maskz_loadu_ps(lanes(rest), row.add(2 * k)),
                _mm512_maskz_loadu_ps(lanes(rest.saturating_sub(16)), row.add(2 * k + 16)),
            )
        };
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        (
            _mm512_permutex2var_ps(lo, even, hi),
            _mm512_permutex2var_ps(lo, odd, hi),
        )
    }

    /// One row of windows: `top` and `bottom` are the two input rows (at least
    /// `2·y.len()` values each), `y` and `arg` the row's maxima and taps.
    ///
    /// # Safety
    /// AVX-512F; the rows readable for `2·y.len()` values.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward_row(
        top: *const f32,
        bottom: *const f32,
        y: &mut [f32],
        arg: &mut [f32],
    ) {
        let (n, len) = (y.len(), 2 * y.len());
        for k in (0..n).step_by(16) {
            // SAFETY: the rows hold `len` values; `y` and `arg` are written below `n`.
            unsafe {
                let (a, b) = taps(top, k, len);
                let (c, d) = taps(bottom, k, len);
                let (mut best, mut at) = (a, _mm512_setzero_ps());
                for (v, tap) in [(b, 1.0), (c, 2.0), (d, 3.0)] {
                    let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best)
                        | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                    best = _mm512_mask_mov_ps(best, take, v);
                    at = _mm512_mask_mov_ps(at, take, _mm512_set1_ps(tap));
                }
                let m = lanes(n - k);
                _mm512_mask_storeu_ps(y.as_mut_ptr().add(k), m, best);
                _mm512_mask_storeu_ps(arg.as_mut_ptr().add(k), m, at);
            }
        }
    }

    /// Stores (`store`) or adds the two halves of `lo` and `hi` interleaved,
    /// `lo[0], hi[0], lo[1], hi[1], …`, into the `len` values at `dst`.
    ///
    /// # Safety
    /// AVX-512F; `dst` writable for `len` values.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn interleave_into(dst: *mut f32, lo: __m512, hi: __m512, len: usize, store: bool) {
        let first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let second =
            _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        let halves = [
            (_mm512_permutex2var_ps(lo, first, hi), 0),
            (_mm512_permutex2var_ps(lo, second, hi), 16),
        ];
        for (v, at) in halves {
            let m = lanes(len.saturating_sub(at));
            // SAFETY: masked to the lanes below `len`.
            unsafe {
                let v = if store {
                    v
                } else {
                    _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, dst.add(at)))
                };
                _mm512_mask_storeu_ps(dst.add(at), m, v);
            }
        }
    }

    /// The gradient of one row of windows: `g` and `arg` the row's gradients and taps,
    /// `top` and `bottom` the two input gradient rows (at least `2·g.len()` values each).
    ///
    /// # Safety
    /// AVX-512F; the rows writable for `2·g.len()` values.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn backward_row(
        g: &[f32],
        arg: &[f32],
        top: *mut f32,
        bottom: *mut f32,
        store: bool,
    ) {
        let n = g.len();
        for k in (0..n).step_by(16) {
            let m = lanes(n - k);
            // SAFETY: `g` and `arg` are read below `n`, the rows written below `2·n`.
            unsafe {
                let gv = _mm512_maskz_loadu_ps(m, g.as_ptr().add(k));
                let at = _mm512_maskz_loadu_ps(m, arg.as_ptr().add(k));
                let [a, b, c, d] = [0.0, 1.0, 2.0, 3.0].map(|tap| {
                    let hit = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(at, _mm512_set1_ps(tap));
                    _mm512_maskz_mov_ps(hit, gv)
                });
                let len = 2 * (n - k);
                interleave_into(top.add(2 * k), a, b, len, store);
                interleave_into(bottom.add(2 * k), c, d, len, store);
            }
        }
    }
}
