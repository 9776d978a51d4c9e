//! Packing operands into contiguous micro-panels, and the thread-local scratch they live in.
//!
//! Both operands are packed with the same routine: a block of `A` (`mc × kc`) is cut into
//! panels of `MR` rows, each stored column by column (`MR` values per step of `k`); a block
//! of `B` (`kc × nc`) is the same thing seen through its transpose, panels of `NR` columns
//! stored row by row (`NR` values per step of `k`). A last, partial panel is padded with
//! zeros, so the micro-kernels always read whole panels and only their stores are partial.
//!
//! The source may have any strides (ndarray views: transposes, slices with steps, negative
//! steps). Packing is where a transposed operand pays for its layout: the copy reads along
//! the source's unit stride when it has one.

use super::driver::Mat;
use super::Elem;
use std::cell::RefCell;

/// Packs the `len × depth` matrix `src` into `⌈len / W⌉` panels of `W × depth`, panel after
/// panel, each stored depth-major: element `(i, p)` of panel `q` lands at
/// `dst[q·W·depth + p·W + i]`. Rows past `len` in the last panel are zero.
///
/// # Safety
/// `src` must be valid for reads of every `(i, p)` with `i < len`, `p < depth`, and `dst`
/// valid for writes of `⌈len / W⌉·W·depth` elements, not overlapping `src`.
pub(super) unsafe fn pack_panels<T: Elem, const W: usize>(
    len: usize,
    depth: usize,
    src: Mat<T>,
    dst: *mut T,
) {
    if src.rs == 1 {
        // Each step of k is contiguous across all panels (B in C order, A in Fortran
        // order): read it once, front to back, and deal it out to the panels.
        for p in 0..depth {
            let mut i0 = 0;
            while i0 < len {
                let rows = W.min(len - i0);
                // SAFETY: (i0, p) is inside `src` and its `rows` successors along i are
                // contiguous (rs == 1); step p of panel i0 / W is inside `dst`.
                unsafe {
                    let d = dst.add(i0 * depth + p * W);
                    if rows == W {
                        // A constant length: a few vector moves rather than a memcpy call.
                        d.cast::<[T; W]>()
                            .write_unaligned(src.at(i0, p).cast::<[T; W]>().read_unaligned());
                    } else {
                        std::ptr::copy_nonoverlapping(src.at(i0, p), d, rows);
                        for i in rows..W {
                            *d.add(i) = T::ZERO;
                        }
                    }
                }
                i0 += W;
            }
        }
        return;
    }
    let mut dst = dst;
    let mut i0 = 0;
    while i0 < len {
        let rows = W.min(len - i0);
        // SAFETY: rows i0..i0+rows are within `len` and steps within `depth`, so every
        // `src` address formed is inside the source; the panel `dst[..W·depth]` is inside
        // the destination by the caller's contract.
        unsafe {
            let panel = src.at(i0, 0);
            if src.cs == 1 {
                // Each row is contiguous along k (a transposed operand): read rows, write
                // with stride W. The panel is small enough to stay in L1 while it is written.
                for i in 0..rows {
                    let s = panel.offset(i as isize * src.rs);
                    let d = dst.add(i);
                    for p in 0..depth {
                        *d.add(p * W) = *s.add(p);
                    }
                }
                zero_rows::<T, W>(rows, depth, dst);
            } else {
                for p in 0..depth {
                    let s = panel.offset(p as isize * src.cs);
                    let d = dst.add(p * W);
                    for i in 0..rows {
                        *d.add(i) = *s.offset(i as isize * src.rs);
                    }
                    for i in rows..W {
                        *d.add(i) = T::ZERO;
                    }
                }
            }
            dst = dst.add(W * depth);
        }
        i0 += W;
    }
}

/// Zeroes rows `rows..W` of a packed `W × depth` panel.
///
/// # Safety
/// `dst` must be valid for writes of `W·depth` elements.
unsafe fn zero_rows<T: Elem, const W: usize>(rows: usize, depth: usize, dst: *mut T) {
    if rows == W {
        return;
    }
    for p in 0..depth {
        for i in rows..W {
            // SAFETY: p·W + i < W·depth, inside the panel by the caller's contract.
            unsafe { *dst.add(p * W + i) = T::ZERO };
        }
    }
}

/// One cache line: the unit the scratch buffers are allocated in, so that they are 64-byte
/// aligned (a packed `B` panel row of 16 `f32` or 8 `f64` is then one aligned line).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

const LINE: usize = std::mem::size_of::<Line>();

/// A thread's packing buffers. They only grow: allocated on the thread's first product of
/// a given size and reused by every later one, so steady-state products allocate nothing.
struct Scratch {
    a: Vec<Line>,
    b: Vec<Line>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { a: Vec::new(), b: Vec::new() }) };
}

/// Makes `buf` hold at least `elems` elements of `T` and returns its start.
fn reserve<T>(buf: &mut Vec<Line>, elems: usize) -> *mut T {
    let lines = (elems * std::mem::size_of::<T>()).div_ceil(LINE);
    if buf.len() < lines {
        // The old contents are dead: replace rather than grow, so nothing is copied.
        *buf = vec![Line([0; LINE]); lines];
    }
    buf.as_mut_ptr().cast::<T>()
}

/// Runs `f` with this thread's packing buffers for `A` (`a_elems`) and `B` (`b_elems`),
/// both 64-byte aligned and zero-initialised at allocation.
///
/// The buffers are borrowed for the duration of `f`, which must not start another product
/// on this thread; if one were started anyway (a re-entrant call), it gets temporary buffers
/// of its own instead of failing.
pub(super) fn with_scratch<T, R>(
    a_elems: usize,
    b_elems: usize,
    f: impl FnOnce(*mut T, *mut T) -> R,
) -> R {
    let mut f = Some(f);
    let done = SCRATCH.with(|cell| {
        let mut s = cell.try_borrow_mut().ok()?;
        let s = &mut *s;
        let (a, b) = (
            reserve::<T>(&mut s.a, a_elems),
            reserve::<T>(&mut s.b, b_elems),
        );
        Some((f.take().expect("unused"))(a, b))
    });
    match done {
        Some(r) => r,
        None => {
            let (mut own_a, mut own_b) = (Vec::new(), Vec::new());
            let a = reserve::<T>(&mut own_a, a_elems);
            let b = reserve::<T>(&mut own_b, b_elems);
            (f.take().expect("unused"))(a, b)
        }
    }
}
