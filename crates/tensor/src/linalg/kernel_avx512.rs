//! AVX-512F micro-kernels: a 14 × 2-vector register tile (14 × 32 for `f32`, 14 × 16 for
//! `f64`).
//!
//! Each step of `k` loads two vectors of the packed `B` row and, for each of the 14 rows,
//! broadcasts one element of the packed `A` column and issues two FMAs: 28 accumulators,
//! 2 `B` registers and a broadcast fill 31 of the 32 zmm registers, and the 28 FMAs per
//! step hide the 4-cycle FMA latency on two FMA ports with room to spare.
//!
//! `A` is read either from a packed panel (`MR` values per step) or in place, from `rows`
//! rows of the source that are contiguous along `k` and `lda` apart: the broadcasts then
//! load from each row in turn, so an operand like `W` in `W · xᵀ` needs no packing at all
//! (the driver chooses that orientation for `x · Wᵀ`, see `driver::run`).
//!
//! Edge tiles: the packed panels are zero-padded, and the kernel is instantiated for every
//! row count `1..=14` and for one or two vectors of columns, so a partial tile costs only
//! what it computes; partial columns are stored (and, when accumulating, loaded) with a lane
//! mask. A column-major destination (the transposed product above) is written by
//! transposing the register tile in blocks of 16 × 16 (8 × 8 for `f64`) and storing its
//! columns with a lane mask; a destination with neither stride 1 goes through a stack tile.

use super::driver::RowsOfA;
use super::pack_avx512::{transpose_16x16, transpose_8x8};
use std::arch::x86_64::*;

/// Rows of the register tile.
pub(super) const MR: usize = 14;
/// Columns of the `f32` register tile (two zmm of 16 lanes).
pub(super) const NR_F32: usize = 32;
/// Columns of the `f64` register tile (two zmm of 8 lanes).
pub(super) const NR_F64: usize = 16;

/// Dispatches on the tile's row count to the instantiation with that many rows.
macro_rules! by_rows {
    ($rows:expr, $v:literal, $in_place:literal, $tile:ident($($arg:expr),*)) => {
        match $rows {
            1 => $tile::<1, $v, $in_place>($($arg),*),
            2 => $tile::<2, $v, $in_place>($($arg),*),
            3 => $tile::<3, $v, $in_place>($($arg),*),
            4 => $tile::<4, $v, $in_place>($($arg),*),
            5 => $tile::<5, $v, $in_place>($($arg),*),
            6 => $tile::<6, $v, $in_place>($($arg),*),
            7 => $tile::<7, $v, $in_place>($($arg),*),
            8 => $tile::<8, $v, $in_place>($($arg),*),
            9 => $tile::<9, $v, $in_place>($($arg),*),
            10 => $tile::<10, $v, $in_place>($($arg),*),
            11 => $tile::<11, $v, $in_place>($($arg),*),
            12 => $tile::<12, $v, $in_place>($($arg),*),
            13 => $tile::<13, $v, $in_place>($($arg),*),
            14 => $tile::<14, $v, $in_place>($($arg),*),
            _ => unreachable!("tile rows out of range"),
        }
    };
}

macro_rules! avx512_kernel {
    (
        $(#[$doc:meta])*
        $name:ident, $tile:ident, $t:ty, $vec:ty, $mask:ty, lanes: $lanes:expr,
        $transpose:ident, $zero:ident, $set1:ident, $loadu:ident, $mask_loadu:ident,
        $storeu:ident, $mask_storeu:ident, $fmadd:ident, $add:ident
    ) => {
        /// One tile of `R` rows and `V` vectors of columns, reading `A` from a packed panel
        /// or, with `IN_PLACE_A`, from `R` rows `lda` apart.
        ///
        /// # Safety
        /// As for the dispatching kernel, with `rows == R`, `cols ≤ V · lanes`, and `lda` the
        /// distance between rows of `A` when `IN_PLACE_A`.
        #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
        #[target_feature(enable = "avx512f")]
        unsafe fn $tile<const R: usize, const V: usize, const IN_PLACE_A: bool>(
            kc: usize,
            a: *const $t,
            lda: usize,
            b: *const $t,
            ldb: usize,
            c: *mut $t,
            rsc: isize,
            csc: isize,
            cols: usize,
            accumulate: bool,
        ) {
            const LANES: usize = $lanes;
            if csc == 1 {
                // Fetch the tile of C while the loop below runs: its first and last line
                // of each row (a row of 2 vectors spans 2 or 3 lines).
                for i in 0..R {
                    let row = c.wrapping_offset(i as isize * rsc);
                    _mm_prefetch::<_MM_HINT_T0>(row.cast::<i8>());
                    _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(cols - 1).cast::<i8>());
                }
            }
            // SAFETY: the contract has kc ≥ 1. Telling the compiler lets it drop a
            // zeroed stack copy of the accumulators (1.8 KB cleared on every call).
            unsafe { std::hint::assert_unchecked(kc > 0) };
            let mut ab: [[$vec; V]; R] = [[$zero(); V]; R];
            let (mut a, mut b) = (a, b);
            for _ in 0..kc {
                let mut bv: [$vec; V] = [$zero(); V];
                for v in 0..V {
                    // SAFETY: the B panel holds V·LANES values per step, `ldb` apart.
                    bv[v] = unsafe { $loadu(b.add(v * LANES)) };
                }
                for i in 0..R {
                    // SAFETY: the packed A panel holds MR ≥ R values per step; in place,
                    // row i < R of A has kc values from `a`.
                    let ai = $set1(unsafe { *a.add(if IN_PLACE_A { i * lda } else { i }) });
                    for v in 0..V {
                        ab[i][v] = $fmadd(ai, bv[v], ab[i][v]);
                    }
                }
                // Wrapping: after the last step these point past the panels, unused.
                a = a.wrapping_add(if IN_PLACE_A { 1 } else { MR });
                b = b.wrapping_add(ldb);
            }
            if csc == 1 {
                for i in 0..R {
                    // SAFETY: row i < R = rows of the tile is inside C.
                    let row = unsafe { c.offset(i as isize * rsc) };
                    for v in 0..V {
                        let left = cols - v * LANES;
                        // SAFETY: the first min(left, LANES) elements from `p` are inside
                        // the tile's row; masked lanes are neither read nor written.
                        unsafe {
                            let p = row.add(v * LANES);
                            if left >= LANES {
                                let r = if accumulate { $add($loadu(p), ab[i][v]) } else { ab[i][v] };
                                $storeu(p, r);
                            } else {
                                let m = ((1u32 << left) - 1) as $mask;
                                let r = if accumulate {
                                    $add($mask_loadu($zero(), m, p), ab[i][v])
                                } else {
                                    ab[i][v]
                                };
                                $mask_storeu(p, m, r);
                            }
                        }
                    }
                }
            } else if rsc == 1 {
                // Column-major C: each column of the tile is R contiguous values. Transpose
                // the accumulators in blocks of LANES rows and store columns, masked to the
                // block's rows.
                for g in 0..R.div_ceil(LANES) {
                    let rows = (R - g * LANES).min(LANES);
                    let m = ((1u32 << rows) - 1) as $mask;
                    for v in 0..V {
                        // Rows past the tile's start as copies of its first row (their
                        // lanes are masked off below): cheaper than zeroing the array.
                        let mut r: [$vec; LANES] = [ab[g * LANES][v]; LANES];
                        for i in 1..rows {
                            r[i] = ab[g * LANES + i][v];
                        }
                        $transpose(&mut r);
                        let n = cols.saturating_sub(v * LANES).min(LANES);
                        for (j, rj) in r.iter().enumerate().take(n) {
                            // SAFETY: column v·LANES + j < cols of the tile, rows g·LANES ..
                            // g·LANES + rows ≤ R, contiguous (rsc == 1): inside C; masked
                            // lanes are neither read nor written.
                            unsafe {
                                let p = c.offset((v * LANES + j) as isize * csc).add(g * LANES);
                                let r = if accumulate {
                                    $add($mask_loadu($zero(), m, p), *rj)
                                } else {
                                    *rj
                                };
                                $mask_storeu(p, m, r);
                            }
                        }
                    }
                }
            } else {
                // One vector at a time through a small stack buffer (a whole zeroed tile
                // here was hoisted by the compiler and cleared on every call, on every path).
                for i in 0..R {
                    for v in 0..V {
                        let mut lanes = [0.0 as $t; LANES];
                        // SAFETY: `lanes` has LANES elements.
                        unsafe { $storeu(lanes.as_mut_ptr(), ab[i][v]) };
                        let n = cols.saturating_sub(v * LANES).min(LANES);
                        for (j, &x) in lanes.iter().enumerate().take(n) {
                            // SAFETY: (i, v·LANES + j) is inside the tile of C.
                            unsafe {
                                let cij = c.offset(i as isize * rsc + (v * LANES + j) as isize * csc);
                                *cij = if accumulate { *cij + x } else { x };
                            }
                        }
                    }
                }
            }
        }

        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must support AVX-512F. With `a_rows` of `None`, `a` must hold `MR·kc`
        /// readable elements; with `Some(lda)`, `a.add(i · lda + p)` must be readable for
        /// `i < rows`, `p < kc`. `b` must hold `kc` rows of `NR`, `ldb` apart;
        /// `1 ≤ rows ≤ MR`, `1 ≤ cols ≤ NR`, and every `c[i·rsc + j·csc]` with `i < rows`,
        /// `j < cols` must be writable.
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn $name(
            kc: usize,
            a: *const $t,
            a_rows: RowsOfA,
            b: *const $t,
            ldb: usize,
            c: *mut $t,
            rsc: isize,
            csc: isize,
            rows: usize,
            cols: usize,
            accumulate: bool,
        ) {
            // SAFETY: forwarded contract; `a_rows` selects the packed or in-place reading of
            // A, `rows` the instantiation with R = rows, `cols` the one with enough vectors.
            unsafe {
                match (a_rows, cols > $lanes) {
                    (None, true) => by_rows!(rows, 2, false, $tile(kc, a, 0, b, ldb, c, rsc, csc, cols, accumulate)),
                    (None, false) => by_rows!(rows, 1, false, $tile(kc, a, 0, b, ldb, c, rsc, csc, cols, accumulate)),
                    (Some(lda), true) => by_rows!(rows, 2, true, $tile(kc, a, lda.get(), b, ldb, c, rsc, csc, cols, accumulate)),
                    (Some(lda), false) => by_rows!(rows, 1, true, $tile(kc, a, lda.get(), b, ldb, c, rsc, csc, cols, accumulate)),
                }
            }
        }
    };
}

avx512_kernel!(
    /// `C[rows × cols] (+)= A · B̃` in `f32` for up to 14 rows of `A` (a packed `14 × kc`
    /// panel, or rows in place) and a `kc × 32` panel `B̃`.
    kernel_f32, tile_f32, f32, __m512, __mmask16, lanes: 16, transpose_16x16,
    _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_mask_loadu_ps,
    _mm512_storeu_ps, _mm512_mask_storeu_ps, _mm512_fmadd_ps, _mm512_add_ps
);

avx512_kernel!(
    /// `C[rows × cols] (+)= A · B̃` in `f64` for up to 14 rows of `A` (a packed `14 × kc`
    /// panel, or rows in place) and a `kc × 16` panel `B̃`.
    kernel_f64, tile_f64, f64, __m512d, __mmask8, lanes: 8, transpose_8x8,
    _mm512_setzero_pd, _mm512_set1_pd, _mm512_loadu_pd, _mm512_mask_loadu_pd,
    _mm512_storeu_pd, _mm512_mask_storeu_pd, _mm512_fmadd_pd, _mm512_add_pd
);
