//! The portable micro-kernel: plain Rust on a small register tile, for CPUs without AVX2
//! (the compiler vectorises it with whatever the target baseline offers).

use super::driver::RowsOfA;
use super::Elem;

/// Rows of the register tile.
pub(super) const MR: usize = 4;
/// Columns of the register tile.
pub(super) const NR: usize = 8;

/// `C[rows × cols] (+)= Ã · B̃` for packed panels `Ã` (`MR × kc`) and `B̃` (`kc × NR`).
///
/// # Safety
/// `a_rows` must be `None` (a packed panel of `A`: this kernel does not read `A` in place).
/// `a` must hold `MR·kc` readable elements and `b` `kc` rows of `NR`, `ldb` apart; `rows ≤ MR`, `cols ≤ NR`, and
/// every `c[i·rsc + j·csc]` with `i < rows`, `j < cols` must be writable.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn kernel<T: Elem>(
    kc: usize,
    a: *const T,
    a_rows: RowsOfA,
    b: *const T,
    ldb: usize,
    c: *mut T,
    rsc: isize,
    csc: isize,
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    debug_assert!(
        a_rows.is_none(),
        "the portable kernel reads A from packed panels only"
    );
    let mut ab = [[T::ZERO; NR]; MR];
    for p in 0..kc {
        // SAFETY: step p < kc of each panel is inside it (caller's contract).
        let (ap, bp) = unsafe {
            (
                &*a.add(p * MR).cast::<[T; MR]>(),
                &*b.add(p * ldb).cast::<[T; NR]>(),
            )
        };
        for (row, &ai) in ab.iter_mut().zip(ap) {
            for (acc, &bj) in row.iter_mut().zip(bp) {
                *acc = *acc + ai * bj;
            }
        }
    }
    for (i, row) in ab.iter().enumerate().take(rows) {
        for (j, &v) in row.iter().enumerate().take(cols) {
            // SAFETY: (i, j) is inside the tile, writable by the caller's contract.
            unsafe {
                let cij = c.offset(i as isize * rsc + j as isize * csc);
                *cij = if accumulate { *cij + v } else { v };
            }
        }
    }
}
