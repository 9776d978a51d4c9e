//! AVX-512 packing of operands that are contiguous along `k`, by in-register transposes.
//!
//! Packing a panel stores, for each step of `k`, the `W` values of that step contiguously.
//! When the source is itself contiguous along `k` (`x` in `x · Wᵀ` packed as `A`, or `Wᵀ`
//! packed as `B`), that is a transpose; done element by element it costs over a cycle per
//! value, as much as the product itself for a batch of 64. Here a 16 × 16 (`f32`) or 8 × 8
//! (`f64`) block of the source is loaded as 16 (8) vectors along `k`, transposed with
//! unpack/shuffle instructions, and stored as vectors along the panel's width, about a
//! quarter of a cycle per value. Other layouts go to the portable routine.

use super::driver::Mat;
use super::pack::pack_panels;
use std::arch::x86_64::*;

/// Transposes 16 rows of 16 `f32` in place: afterwards `r[j][i]` is the old `r[i][j]`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn transpose_16x16(r: &mut [__m512; 16]) {
    // Pairs of rows interleaved: t[2k + h] holds rows 2k, 2k+1 at columns 4L+2h, 4L+2h+1
    // of each 128-bit lane L.
    let mut t = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // u[4q + c], lane L: column 4L + c of rows 4q..4q+3.
    let mut u = [_mm512_setzero_ps(); 16];
    for q in 0..4 {
        u[4 * q] = _mm512_shuffle_ps::<0x44>(t[4 * q], t[4 * q + 2]);
        u[4 * q + 1] = _mm512_shuffle_ps::<0xEE>(t[4 * q], t[4 * q + 2]);
        u[4 * q + 2] = _mm512_shuffle_ps::<0x44>(t[4 * q + 1], t[4 * q + 3]);
        u[4 * q + 3] = _mm512_shuffle_ps::<0xEE>(t[4 * q + 1], t[4 * q + 3]);
    }
    // A 4 × 4 transpose of 128-bit lanes across u[c], u[4 + c], u[8 + c], u[12 + c]:
    // column 4L + c gets lane L of each.
    for c in 0..4 {
        let v0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
        let v1 = _mm512_shuffle_f32x4::<0xEE>(u[c], u[4 + c]);
        let v2 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
        let v3 = _mm512_shuffle_f32x4::<0xEE>(u[8 + c], u[12 + c]);
        r[c] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
        r[4 + c] = _mm512_shuffle_f32x4::<0xDD>(v0, v2);
        r[8 + c] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
        r[12 + c] = _mm512_shuffle_f32x4::<0xDD>(v1, v3);
    }
}

/// Transposes 8 rows of 8 `f64` in place: afterwards `r[j][i]` is the old `r[i][j]`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn transpose_8x8(r: &mut [__m512d; 8]) {
    // t[2k + c], lane L: column 2L + c of rows 2k, 2k+1.
    let mut t = [_mm512_setzero_pd(); 8];
    for k in 0..4 {
        t[2 * k] = _mm512_unpacklo_pd(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_pd(r[2 * k], r[2 * k + 1]);
    }
    // A 4 × 4 transpose of 128-bit lanes across t[c], t[2 + c], t[4 + c], t[6 + c].
    for c in 0..2 {
        let v0 = _mm512_shuffle_f64x2::<0x44>(t[c], t[2 + c]);
        let v1 = _mm512_shuffle_f64x2::<0xEE>(t[c], t[2 + c]);
        let v2 = _mm512_shuffle_f64x2::<0x44>(t[4 + c], t[6 + c]);
        let v3 = _mm512_shuffle_f64x2::<0xEE>(t[4 + c], t[6 + c]);
        r[c] = _mm512_shuffle_f64x2::<0x88>(v0, v2);
        r[2 + c] = _mm512_shuffle_f64x2::<0xDD>(v0, v2);
        r[4 + c] = _mm512_shuffle_f64x2::<0x88>(v1, v3);
        r[6 + c] = _mm512_shuffle_f64x2::<0xDD>(v1, v3);
    }
}

macro_rules! transposing_pack {
    (
        $(#[$doc:meta])*
        $name:ident, $t:ty, $vec:ty, $mask:ty, lanes: $lanes:expr, $transpose:ident,
        $zero:ident, $mask_loadu:ident, $mask_storeu:ident
    ) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must support AVX-512F; otherwise as for
        /// [`pack_panels`](super::pack::pack_panels).
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn $name<const W: usize>(
            len: usize,
            depth: usize,
            src: Mat<$t>,
            dst: *mut $t,
        ) {
            const G: usize = $lanes;
            if src.cs != 1 {
                // SAFETY: forwarded contract.
                return unsafe { pack_panels::<$t, W>(len, depth, src, dst) };
            }
            let full = |n: usize| -> $mask { if n >= G { !0 } else { ((1u32 << n) - 1) as $mask } };
            let mut i0 = 0;
            let mut panel_dst = dst;
            while i0 < len {
                let rows = W.min(len - i0);
                // Groups of G rows across the panel's width; rows past `rows` load as zero.
                for g in 0..W.div_ceil(G) {
                    let valid = rows.saturating_sub(g * G).min(G);
                    let store_mask = full(W - g * G);
                    let mut p0 = 0;
                    while p0 < depth {
                        let steps = G.min(depth - p0);
                        let load_mask = full(steps);
                        // Constant trip counts with per-row masks (an empty mask touches
                        // no memory) keep the G vectors in registers: a loop bounded by
                        // `valid` or `steps` made the compiler spill them to the stack.
                        let mut r: [$vec; G] = [$zero(); G];
                        for (i, ri) in r.iter_mut().enumerate() {
                            let mask = if i < valid { load_mask } else { 0 };
                            let row = src
                                .ptr
                                .wrapping_offset((i0 + g * G + i) as isize * src.rs + p0 as isize);
                            // SAFETY: for i < valid, row i0 + g·G + i < len and steps
                            // p0..p0+steps < depth are inside `src`, contiguous (cs == 1);
                            // masked lanes (all of them past `valid`) are not read.
                            *ri = unsafe { $mask_loadu($zero(), mask, row) };
                        }
                        $transpose(&mut r);
                        for (j, rj) in r.iter().enumerate() {
                            let mask = if j < steps { store_mask } else { 0 };
                            let at = panel_dst.wrapping_add((p0 + j) * W + g * G);
                            // SAFETY: for j < steps, step p0 + j < depth of the panel, lanes
                            // g·G.. up to the panel width W (masked), so inside the
                            // destination; an empty mask writes nothing.
                            unsafe { $mask_storeu(at, mask, *rj) };
                        }
                        p0 += G;
                    }
                }
                // SAFETY: the next panel starts W·depth further, inside the destination
                // while i0 < len (one past its end afterwards).
                panel_dst = unsafe { panel_dst.add(W * depth) };
                i0 += W;
            }
        }
    };
}

transposing_pack!(
    /// Packs `f32` panels of width `W`, transposing 16 × 16 blocks when the source is
    /// contiguous along the depth.
    pack_f32, f32, __m512, __mmask16, lanes: 16, transpose_16x16,
    _mm512_setzero_ps, _mm512_mask_loadu_ps, _mm512_mask_storeu_ps
);

transposing_pack!(
    /// Packs `f64` panels of width `W`, transposing 8 × 8 blocks when the source is
    /// contiguous along the depth.
    pack_f64, f64, __m512d, __mmask8, lanes: 8, transpose_8x8,
    _mm512_setzero_pd, _mm512_mask_loadu_pd, _mm512_mask_storeu_pd
);
