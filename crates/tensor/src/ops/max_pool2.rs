//! The common case of max pooling, a 2×2 window with stride 2 and no padding, for `f32` on
//! AVX-512 (16 windows per step) or AVX2 (8), forward and backward.
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

/// The vector instructions this path runs on.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
}

/// The widest instructions this CPU offers the path, if any.
#[cfg(target_arch = "x86_64")]
fn isa() -> Option<Isa> {
    if is_x86_feature_detected!("avx512f") {
        Some(Isa::Avx512)
    } else if is_x86_feature_detected!("avx2") {
        Some(Isa::Avx2)
    } else {
        None
    }
}

/// Whether this path serves `F` on this CPU (`f32` with AVX-512F or AVX2).
pub(super) fn applies<F: Float>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        TypeId::of::<F>() == TypeId::of::<f32>() && isa().is_some()
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
        assert!(applies::<F>(), "max_pool2: f32 with AVX-512F or AVX2 only");
        let wide = isa() == Some(Isa::Avx512);
        let (img, y, arg) = (as_f32(img), as_f32_mut(y), as_f32_mut(arg));
        for (oy, (y, arg)) in y
            .chunks_exact_mut(ow)
            .zip(arg.chunks_exact_mut(ow))
            .enumerate()
        {
            let rows = &img[2 * oy * w..][..2 * w];
            let (top, bottom) = (rows.as_ptr(), rows[w..].as_ptr());
            // SAFETY: the instructions are present (asserted and `wide`); both rows hold
            // `w ≥ 2·ow` values and `y`, `arg` hold `ow`.
            unsafe {
                if wide {
                    avx512::forward_row(top, bottom, y, arg)
                } else {
                    avx2::forward_row(top, bottom, y, arg)
                }
            }
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
        assert!(applies::<F>(), "max_pool2: f32 with AVX-512F or AVX2 only");
        let wide = isa() == Some(Isa::Avx512);
        let (g, arg, dx) = (as_f32(g), as_f32(arg), as_f32_mut(dx));
        // Pixels of no window (an odd last row or column) are zeroed up front and the
        // windows then added.
        let store = fresh && h.is_multiple_of(2) && w.is_multiple_of(2);
        if fresh && !store {
            dx.fill(0.0);
        }
        for (oy, (g, arg)) in g.chunks_exact(ow).zip(arg.chunks_exact(ow)).enumerate() {
            let (top, bottom) = dx[2 * oy * w..][..2 * w].split_at_mut(w);
            let (top, bottom) = (top.as_mut_ptr(), bottom.as_mut_ptr());
            // SAFETY: as in `forward`, for writes.
            unsafe {
                if wide {
                    avx512::backward_row(g, arg, top, bottom, store)
                } else {
                    avx2::backward_row(g, arg, top, bottom, store)
                }
            }
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

/// The same steps as [`avx512`] with 8 windows per step: AVX2 has no mask registers, so the
/// partial vectors at a row's end are loaded through integer lane masks and stored in
/// pieces, and the
/// even and odd columns are separated by shuffles within 128-bit halves and a cross-half
/// permute.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// The lane mask of the first `count` of 8 lanes (all ones in a selected lane).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn lanes(count: usize) -> __m256i {
        let count = count.min(8) as i32;
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(count),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    /// Loads the first `count` (at most 8) values at `src`, zeros in the other lanes.
    ///
    /// # Safety
    /// AVX2; `src` readable for `min(count, 8)` values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(src: *const f32, count: usize) -> __m256 {
        // SAFETY: the caller's; a masked load reads only the selected lanes.
        unsafe {
            if count >= 8 {
                _mm256_loadu_ps(src)
            } else {
                _mm256_maskload_ps(src, lanes(count))
            }
        }
    }

    /// Stores the first `count` (at most 8) lanes of `v` at `dst`. A partial vector is
    /// stored in pieces of 4, 2 and 1 lanes: AVX2's masked store is slow on some CPUs
    /// (AMD's Zen), where it took most of the pool's time on rows of 7 windows.
    ///
    /// # Safety
    /// AVX2; `dst` writable for `min(count, 8)` values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store(dst: *mut f32, v: __m256, count: usize) {
        // SAFETY: the caller's; each piece is written below `count`.
        unsafe {
            if count >= 8 {
                return _mm256_storeu_ps(dst, v);
            }
            let (mut part, mut at) = (_mm256_castps256_ps128(v), 0);
            if count >= 4 {
                _mm_storeu_ps(dst, part);
                (part, at) = (_mm256_extractf128_ps::<1>(v), 4);
            }
            if count - at >= 2 {
                _mm_store_sd(dst.add(at).cast(), _mm_castps_pd(part));
                (part, at) = (_mm_movehl_ps(part, part), at + 2);
            }
            if count > at {
                _mm_store_ss(dst.add(at), part);
            }
        }
    }

    /// Loads `row[2k .. 2k + 16]` (masked to the `len` values of `row`) and returns its even
    /// and odd elements: the left and right taps of windows `k .. k + 8`.
    ///
    /// # Safety
    /// AVX2; `row` readable for `len` values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn taps(row: *const f32, k: usize, len: usize) -> (__m256, __m256) {
        let rest = len.saturating_sub(2 * k);
        // SAFETY: masked to the lanes below `len`.
        let (lo, hi) = unsafe {
            (
                load(row.add(2 * k), rest),
                load(row.add(2 * k + 8), rest.saturating_sub(8)),
            )
        };
        // Per 128-bit half: [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6]; the permute puts the
        // 64-bit pairs in column order.
        let even = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
        let order = |v: __m256| {
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
        };
        (order(even), order(odd))
    }

    /// One row of windows: `top` and `bottom` are the two input rows (at least
    /// `2·y.len()` values each), `y` and `arg` the row's maxima and taps.
    ///
    /// # Safety
    /// AVX2; the rows readable for `2·y.len()` values.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn forward_row(
        top: *const f32,
        bottom: *const f32,
        y: &mut [f32],
        arg: &mut [f32],
    ) {
        let (n, len) = (y.len(), 2 * y.len());
        for k in (0..n).step_by(8) {
            // SAFETY: the rows hold `len` values; `y` and `arg` are written below `n`.
            unsafe {
                let (a, b) = taps(top, k, len);
                let (c, d) = taps(bottom, k, len);
                let (mut best, mut at) = (a, _mm256_setzero_ps());
                for (v, tap) in [(b, 1.0), (c, 2.0), (d, 3.0)] {
                    let take = _mm256_or_ps(
                        _mm256_cmp_ps::<_CMP_GT_OQ>(v, best),
                        _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
                    );
                    best = _mm256_blendv_ps(best, v, take);
                    at = _mm256_blendv_ps(at, _mm256_set1_ps(tap), take);
                }
                store(y.as_mut_ptr().add(k), best, n - k);
                store(arg.as_mut_ptr().add(k), at, n - k);
            }
        }
    }

    /// Stores (`fresh`) or adds `lo` and `hi` interleaved, `lo[0], hi[0], lo[1], hi[1], …`,
    /// into the `len` values at `dst`.
    ///
    /// # Safety
    /// AVX2; `dst` writable for `len` values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn interleave_into(dst: *mut f32, lo: __m256, hi: __m256, len: usize, fresh: bool) {
        // Per 128-bit half: [lo0 hi0 lo1 hi1 | lo4 hi4 lo5 hi5] and [lo2 hi2 lo3 hi3 | …].
        let (a, b) = (_mm256_unpacklo_ps(lo, hi), _mm256_unpackhi_ps(lo, hi));
        let halves = [
            (_mm256_permute2f128_ps::<0x20>(a, b), 0),
            (_mm256_permute2f128_ps::<0x31>(a, b), 8),
        ];
        for (v, at) in halves {
            let count = len.saturating_sub(at);
            // SAFETY: only the values below `len` are read and written.
            unsafe {
                let v = if fresh {
                    v
                } else {
                    _mm256_add_ps(v, load(dst.add(at), count))
                };
                store(dst.add(at), v, count);
            }
        }
    }

    /// The gradient of one row of windows: `g` and `arg` the row's gradients and taps,
    /// `top` and `bottom` the two input gradient rows (at least `2·g.len()` values each).
    ///
    /// # Safety
    /// AVX2; the rows writable for `2·g.len()` values.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn backward_row(
        g: &[f32],
        arg: &[f32],
        top: *mut f32,
        bottom: *mut f32,
        store: bool,
    ) {
        let n = g.len();
        for k in (0..n).step_by(8) {
            // SAFETY: `g` and `arg` are read below `n`, the rows written below `2·n`.
            unsafe {
                let gv = load(g.as_ptr().add(k), n - k);
                let at = load(arg.as_ptr().add(k), n - k);
                let [a, b, c, d] = [0.0, 1.0, 2.0, 3.0].map(|tap| {
                    let hit = _mm256_cmp_ps::<_CMP_EQ_OQ>(at, _mm256_set1_ps(tap));
                    _mm256_and_ps(hit, gv)
                });
                let len = 2 * (n - k);
                interleave_into(top.add(2 * k), a, b, len, store);
                interleave_into(bottom.add(2 * k), c, d, len, store);
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::{avx2, avx512};

    /// The rule both vector paths implement, one window at a time: the first maximum in
    /// row-major order, or the last NaN.
    fn window(taps: [f32; 4]) -> (f32, f32) {
        let (mut best, mut at) = (taps[0], 0.0);
        for (tap, &v) in taps.iter().enumerate().skip(1) {
            if v > best || v.is_nan() {
                (best, at) = (v, tap as f32);
            }
        }
        (best, at)
    }

    /// Small integers (many ties) and some NaNs, from a fixed linear congruential sequence.
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                match state >> 28 {
                    0 => f32::NAN,
                    r => r as f32 % 5.0 - 2.0,
                }
            })
            .collect()
    }

    type Forward = unsafe fn(*const f32, *const f32, &mut [f32], &mut [f32]);
    type Backward = unsafe fn(&[f32], &[f32], *mut f32, *mut f32, bool);

    /// Each instruction set this CPU has, with its row functions.
    fn paths() -> Vec<(&'static str, Forward, Backward)> {
        let mut paths: Vec<(&'static str, Forward, Backward)> = Vec::new();
        if is_x86_feature_detected!("avx2") {
            paths.push(("avx2", avx2::forward_row, avx2::backward_row));
        }
        if is_x86_feature_detected!("avx512f") {
            paths.push(("avx512", avx512::forward_row, avx512::backward_row));
        }
        paths
    }

    /// Rows of 1 to 40 windows (full vectors and every remainder of 8 and 16 lanes): the
    /// maxima and taps of the rule, and the gradients stored to (or added at) the tap's
    /// pixel with zeros (or the old values) elsewhere, never past the row's end.
    #[test]
    fn every_row_length_follows_the_window_rule() {
        for (name, forward, backward) in paths() {
            for n in 1..=40 {
                let (top, bottom) = (values(2 * n, n as u32), values(2 * n, 100 + n as u32));
                let (mut y, mut arg) = (vec![0.0; n], vec![0.0; n]);
                // SAFETY: the CPU has the path's instructions; the rows hold 2·n values.
                unsafe { forward(top.as_ptr(), bottom.as_ptr(), &mut y, &mut arg) };
                for k in 0..n {
                    let taps = [top[2 * k], top[2 * k + 1], bottom[2 * k], bottom[2 * k + 1]];
                    let (best, at) = window(taps);
                    assert_eq!(arg[k], at, "{name}: tap of window {k} of {n}");
                    assert!(
                        y[k] == best || (y[k].is_nan() && best.is_nan()),
                        "{name}: {k}"
                    );
                }
                let g: Vec<f32> = (0..n).map(|k| k as f32 + 0.5).collect();
                for store in [true, false] {
                    // One guard value past each row's end must survive.
                    let mut rows = vec![7.0; 2 * (2 * n + 1)];
                    let (dt, db) = rows.split_at_mut(2 * n + 1);
                    // SAFETY: as above; each row is writable for 2·n values.
                    unsafe { backward(&g, &arg, dt.as_mut_ptr(), db.as_mut_ptr(), store) };
                    for (row, pair) in [(dt, 0.0), (db, 2.0)] {
                        assert_eq!(row[2 * n], 7.0, "{name}: wrote past the row of {n}");
                        for (i, &v) in row[..2 * n].iter().enumerate() {
                            let hit = arg[i / 2] == pair + (i % 2) as f32;
                            let want =
                                if hit { g[i / 2] } else { 0.0 } + if store { 0.0 } else { 7.0 };
                            assert_eq!(v, want, "{name}: pixel {i} of {n}, store {store}");
                        }
                    }
                }
            }
        }
    }
}
