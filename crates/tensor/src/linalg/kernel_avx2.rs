//! AVX2 + FMA micro-kernels: a 6 × 2-vector register tile (6 × 16 for `f32`, 6 × 8 for
//! `f64`): 12 accumulators, 2 `B` registers and a broadcast in the 16 ymm registers.
//!
//! Edge tiles: instantiated for every row count `1..=6` and for one or two vectors of
//! columns; a tile with partial vectors (or a destination whose rows are not contiguous)
//! is written through a stack tile, since AVX2 has no cheap lane masks for `f32` stores.

use super::driver::RowsOfA;
use std::arch::x86_64::*;

/// Rows of the register tile.
pub(super) const MR: usize = 6;
/// Columns of the `f32` register tile (two ymm of 8 lanes).
pub(super) const NR_F32: usize = 16;
/// Columns of the `f64` register tile (two ymm of 4 lanes).
pub(super) const NR_F64: usize = 8;

/// Dispatches on the tile's row count to the instantiation with that many rows.
macro_rules! by_rows {
    ($rows:expr, $v:literal, $tile:ident($($arg:expr),*)) => {
        match $rows {
            1 => $tile::<1, $v>($($arg),*),
            2 => $tile::<2, $v>($($arg),*),
            3 => $tile::<3, $v>($($arg),*),
            4 => $tile::<4, $v>($($arg),*),
            5 => $tile::<5, $v>($($arg),*),
            6 => $tile::<6, $v>($($arg),*),
            _ => unreachable!("tile rows out of range"),
        }
    };
}

macro_rules! avx2_kernel {
    (
        $(#[$doc:meta])*
        $name:ident, $tile:ident, $t:ty, $vec:ty, lanes: $lanes:expr,
        $zero:ident, $set1:ident, $loadu:ident, $storeu:ident, $fmadd:ident, $add:ident
    ) => {
        /// One tile of `R` rows and `V` vectors of columns.
        ///
        /// # Safety
        /// As for the dispatching kernel, with `rows == R` and `cols ≤ V · lanes`.
        #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $tile<const R: usize, const V: usize>(
            kc: usize,
            a: *const $t,
            b: *const $t,
            ldb: usize,
            c: *mut $t,
            rsc: isize,
            csc: isize,
            cols: usize,
            accumulate: bool,
        ) {
            const LANES: usize = $lanes;
            const NR: usize = 2 * LANES;
            let mut ab: [[$vec; V]; R] = [[$zero(); V]; R];
            let (mut a, mut b) = (a, b);
            for _ in 0..kc {
                let mut bv: [$vec; V] = [$zero(); V];
                for v in 0..V {
                    // SAFETY: the B panel holds V·LANES values per step, `ldb` apart.
                    bv[v] = unsafe { $loadu(b.add(v * LANES)) };
                }
                for i in 0..R {
                    // SAFETY: the packed A panel holds MR ≥ R values per step.
                    let ai = $set1(unsafe { *a.add(i) });
                    for v in 0..V {
                        ab[i][v] = $fmadd(ai, bv[v], ab[i][v]);
                    }
                }
                // Wrapping: after the last step these point past the panels, unused.
                a = a.wrapping_add(MR);
                b = b.wrapping_add(ldb);
            }
            if csc == 1 && cols == V * LANES {
                for i in 0..R {
                    for v in 0..V {
                        // SAFETY: the tile's row i holds V·LANES = cols elements from `c`.
                        unsafe {
                            let p = c.offset(i as isize * rsc).add(v * LANES);
                            let r = if accumulate { $add($loadu(p), ab[i][v]) } else { ab[i][v] };
                            $storeu(p, r);
                        }
                    }
                }
            } else {
                let mut tile = [[0.0 as $t; NR]; R];
                for i in 0..R {
                    for v in 0..V {
                        // SAFETY: `tile[i]` has NR ≥ (v + 1)·LANES elements.
                        unsafe { $storeu(tile[i].as_mut_ptr().add(v * LANES), ab[i][v]) };
                    }
                }
                for i in 0..R {
                    for j in 0..cols {
                        // SAFETY: (i, j) is inside the tile of C.
                        unsafe {
                            let cij = c.offset(i as isize * rsc + j as isize * csc);
                            *cij = if accumulate { *cij + tile[i][j] } else { tile[i][j] };
                        }
                    }
                }
            }
        }

        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA. `a_rows` must be `None` (a packed panel of
        /// `A`: this kernel does not read `A` in place). `a` must hold `MR·kc` readable
        /// elements and `b` `kc` rows of `NR`, `ldb` apart; `1 ≤ rows ≤ MR`, `1 ≤ cols ≤ NR`, and every
        /// `c[i·rsc + j·csc]` with `i < rows`, `j < cols` must be writable.
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = "avx2,fma")]
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
            debug_assert!(a_rows.is_none(), "the AVX2 kernel reads A from packed panels only");
            // SAFETY: forwarded contract; `rows` selects the instantiation with R = rows,
            // `cols` the one with enough vectors.
            unsafe {
                if cols > $lanes {
                    by_rows!(rows, 2, $tile(kc, a, b, ldb, c, rsc, csc, cols, accumulate))
                } else {
                    by_rows!(rows, 1, $tile(kc, a, b, ldb, c, rsc, csc, cols, accumulate))
                }
            }
        }
    };
}

avx2_kernel!(
    /// `C[rows × cols] (+)= Ã · B̃` in `f32` for a packed `6 × kc` panel `Ã` and a packed
    /// `kc × 16` panel `B̃`.
    kernel_f32, tile_f32, f32, __m256, lanes: 8,
    _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps,
    _mm256_add_ps
);

avx2_kernel!(
    /// `C[rows × cols] (+)= Ã · B̃` in `f64` for a packed `6 × kc` panel `Ã` and a packed
    /// `kc × 8` panel `B̃`.
    kernel_f64, tile_f64, f64, __m256d, lanes: 4,
    _mm256_setzero_pd, _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_fmadd_pd,
    _mm256_add_pd
);
