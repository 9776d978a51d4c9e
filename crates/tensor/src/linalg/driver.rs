//! The blocked product: cache blocking, packing, the loops around the micro-kernel, and
//! the split over threads.
//!
//! Loop order (GotoBLAS/BLIS): for each `nc`-wide block of columns, for each `kc`-deep
//! slice of `k`, pack `B[kc × nc]` (it stays in L2); for each `mc`-tall block of rows, pack
//! `A[mc × kc]`; then for each `MR`-tall micro-panel of the packed `A` (which stays in L1)
//! run the micro-kernel along every `NR`-wide micro-panel of the packed `B` (streamed from
//! L2). The first `kc` slice stores into `C` (or adds, when accumulating); later slices add.
//!
//! With `A` in L1 the kernel streams 128 bytes of `B` per 28 FMAs from L2, which L2 sustains
//! easily; measured against the other order (`B` panel in L1, `A` streamed) it was a few
//! percent faster on large products and the same on the MLP shapes.

use super::pack::with_scratch;
use super::Elem;
use std::num::NonZeroUsize;

/// Where a micro-kernel reads `A`: `None` from a packed `MR × kc` panel (`MR` values per
/// step), `Some(lda)` in place, from `rows` rows of `kc` contiguous values `lda` apart (only
/// kernels whose [`Spec::reads_a_in_place`] is set accept that).
pub(super) type RowsOfA = Option<NonZeroUsize>;

/// A micro-kernel: `C[rows × cols] (+)= A · B̃` for `A` at `a` as `a_rows` says and one
/// `kc × NR` panel `B̃` with rows `ldb` apart (`NR` when packed), with `rows ≤ MR`,
/// `cols ≤ NR`, `C` at `c` with row stride `rsc` and column stride `csc`, overwritten unless
/// `accumulate`.
pub(super) type KernelFn<T> = unsafe fn(
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
);

/// A packing routine (see [`pack_panels`](super::pack::pack_panels)).
pub(super) type PackFn<T> = unsafe fn(len: usize, depth: usize, src: Mat<T>, dst: *mut T);

/// A micro-kernel with its register tile and the cache blocking that suits it.
pub(super) struct Spec<T: 'static> {
    /// Rows of the register tile (the broadcast side, from `A`).
    pub mr: usize,
    /// Columns of the register tile (the vector side, from `B`).
    pub nr: usize,
    /// Depth of a packed slice: a `kc × NR` panel of `B` should stay in L1.
    pub kc: usize,
    /// Rows of a packed block of `A` (a multiple of `mr`): `mc × kc` should stay in L2.
    pub mc: usize,
    /// Columns of a packed block of `B` (a multiple of `nr`): `kc × nc` in L2/L3.
    pub nc: usize,
    pub kernel: KernelFn<T>,
    /// Whether the kernel reads `A` in place (`a_rows` of `Some`); such a kernel must also
    /// store into a column-major `C` efficiently, since the products it serves are computed
    /// transposed (see [`run`]).
    pub reads_a_in_place: bool,
    pub pack_a: PackFn<T>,
    pub pack_b: PackFn<T>,
}

/// A read-only strided matrix.
#[derive(Debug)]
pub(super) struct Mat<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

impl<T> Clone for Mat<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Mat<T> {}

impl<T> Mat<T> {
    pub fn t(self) -> Self {
        Mat {
            ptr: self.ptr,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// The address of element `(i, j)`.
    ///
    /// # Safety
    /// `(i, j)` must be inside the matrix.
    #[inline]
    pub unsafe fn at(self, i: usize, j: usize) -> *const T {
        // SAFETY: the element is inside the matrix, so the offset stays in its allocation.
        unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }

    /// The sub-matrix starting at `(i, j)`.
    ///
    /// # Safety
    /// `(i, j)` must be inside the matrix.
    #[inline]
    unsafe fn sub(self, i: usize, j: usize) -> Self {
        // SAFETY: forwarded contract.
        Mat {
            ptr: unsafe { self.at(i, j) },
            ..self
        }
    }
}

/// A writable strided matrix.
#[derive(Debug)]
pub(super) struct MatMut<T> {
    pub ptr: *mut T,
    pub rs: isize,
    pub cs: isize,
}

impl<T> Clone for MatMut<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for MatMut<T> {}

impl<T> MatMut<T> {
    /// The address of element `(i, j)`.
    ///
    /// # Safety
    /// `(i, j)` must be inside the matrix.
    #[inline]
    unsafe fn at(self, i: usize, j: usize) -> *mut T {
        // SAFETY: the element is inside the matrix, so the offset stays in its allocation.
        unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }
}

/// `c (+)= a · b` with `a`: m×k, `b`: k×n, `c`: m×n, all strided, `m, n, k ≥ 1`.
#[derive(Debug)]
pub(super) struct Problem<T> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: Mat<T>,
    pub b: Mat<T>,
    pub c: MatMut<T>,
    pub accumulate: bool,
}

impl<T> Clone for Problem<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Problem<T> {}

// SAFETY: a `Problem` is a description of memory that the caller of `run` keeps alive and
// does not touch for the duration of the call; it is only sent to rayon workers inside
// `run`, split so that no two threads write the same element of `c`, while `a` and `b` are
// only read. `T` itself is a plain float.
unsafe impl<T: Sync> Send for Problem<T> {}

impl<T> Problem<T> {
    /// The same product transposed: `cᵀ (+)= bᵀ · aᵀ`.
    fn transposed(self) -> Self {
        Problem {
            m: self.n,
            n: self.m,
            k: self.k,
            a: self.b.t(),
            b: self.a.t(),
            c: MatMut {
                ptr: self.c.ptr,
                rs: self.c.cs,
                cs: self.c.rs,
            },
            accumulate: self.accumulate,
        }
    }

    /// Splits `c` (and `a`) after row `at` (`0 < at < m`).
    ///
    /// # Safety
    /// `at < m`.
    unsafe fn split_rows(self, at: usize) -> (Self, Self) {
        // SAFETY: row `at` exists in `a` and `c` (k, n ≥ 1).
        let (a, c) = unsafe { (self.a.sub(at, 0), self.c.at(at, 0)) };
        let low = Problem {
            m: self.m - at,
            a,
            c: MatMut { ptr: c, ..self.c },
            ..self
        };
        (Problem { m: at, ..self }, low)
    }

    /// Splits `c` (and `b`) after column `at` (`0 < at < n`).
    ///
    /// # Safety
    /// `at < n`.
    unsafe fn split_cols(self, at: usize) -> (Self, Self) {
        // SAFETY: column `at` exists in `b` and `c` (k, m ≥ 1).
        let (b, c) = unsafe { (self.b.sub(0, at), self.c.at(0, at)) };
        let right = Problem {
            n: self.n - at,
            b,
            c: MatMut { ptr: c, ..self.c },
            ..self
        };
        (Problem { n: at, ..self }, right)
    }

    fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }
}

/// Below this many floating-point operations (2·m·n·k) a product, or a part of one, is not
/// split across threads when the caller is not a rayon worker. `rayon::join` from outside
/// the pool hands the whole job to the pool and puts the caller to sleep until it is done,
/// which cost about 50 µs on the 2-core VM this was tuned on (a 4 MFLOP product: 38 µs on
/// one thread, 65 µs on two; 13 MFLOP: 96 µs and 104 µs; 26 MFLOP: 200 µs and 150-180 µs);
/// the split pays from about 20 MFLOP, 150 µs of work.
pub(super) const PARALLEL_MIN_FLOPS: f64 = 2.0e7;

/// The same threshold when the caller is a rayon worker (an executor running inside
/// `ThreadPool::install`, or a part of an already split product): `join` then runs one half
/// on the calling thread and only lends the other, at a cost of a few µs (the 4 MFLOP
/// product: 38 µs on one thread, 26 µs on two; 13 MFLOP: 99 µs and 78 µs).
pub(super) const PARALLEL_MIN_FLOPS_IN_POOL: f64 = 2.0e6;

/// Computes the product described by `p` with the kernel `spec` on up to `threads` threads.
///
/// # Safety
/// `p` must describe valid matrices: `a` and `b` readable and `c` writable at every index
/// in their shapes, `c` not overlapping `a` or `b`, and `m, n, k ≥ 1`.
pub(super) unsafe fn run<T: Elem>(spec: &Spec<T>, p: Problem<T>, threads: usize) {
    // The kernel writes rows of C with vector stores; if C is column-major, compute Cᵀ.
    let p = if p.c.cs != 1 && p.c.rs == 1 {
        p.transposed()
    } else {
        p
    };
    let p = if spec.reads_a_in_place && packing(spec, &p.transposed()) < packing(spec, &p) {
        p.transposed()
    } else {
        p
    };
    // SAFETY: forwarded contract.
    unsafe { parallel(spec, p, threads) }
}

/// The number of elements [`serial`] would copy into packed panels for `p`: each `nc` block
/// of columns packs its `A` block again, `B` is packed once (or not at all when read in place).
///
/// [`run`] computes `Cᵀ = Bᵀ · Aᵀ` instead of `C = A · B` when that packs less, which is how
/// the large operand of a product is read in place rather than copied:
/// - in `x · Wᵀ` (a layer's forward pass) `B = Wᵀ` is contiguous along `k`, so packing it
///   is a transpose of the whole weight matrix, by far the larger operand at small batch
///   sizes (784 × 256 against 64 × 784): about a fifth of the product's time on the first
///   layer of the benchmark MLP. The transposed product `W · xᵀ` reads `W`'s rows in place
///   as `A` and packs only the small `xᵀ`;
/// - in a weight gradient over many rows, `gᵀ · x` with `g` of `B·T` rows (a recurrent
///   layer's `∂W = dâᵀ · x`, 1,792 × 512 at batch 64), packing `gᵀ` copies all of `g`; the
///   transposed `xᵀ · g` reads `g`'s rows in place as `B` and packs only `xᵀ`.
///
/// Only kernels that read `A` in place turn products around, since they also store a
/// column-major `C` efficiently (see [`Spec::reads_a_in_place`]). Each element of `C` is
/// the same sequence of fused multiply-adds over the same `k` slices either way, so the
/// result has the same bits.
fn packing<T>(spec: &Spec<T>, p: &Problem<T>) -> usize {
    let a_in_place = spec.reads_a_in_place && p.a.cs == 1 && p.n <= IN_PLACE_A_MAX_N;
    let b_in_place = p.b.cs == 1 && p.b.rs > 0 && p.m <= DIRECT_B_MAX_M;
    let a = if a_in_place {
        0
    } else {
        p.m * p.k * p.n.div_ceil(spec.nc)
    };
    let b = if b_in_place { 0 } else { p.k * p.n };
    a + b
}

/// `A` is read in place (by a kernel that can) when its rows are contiguous and at most this
/// many columns of `B` reuse each tile of it: its rows are then read a few times at most,
/// and packing them would cost more than it saves.
pub(super) const IN_PLACE_A_MAX_N: usize = 128;

/// Splits `c` in two, recursively, until each part has one thread (or too little work to
/// split), along `n` when that duplicates the smaller packing (every part packs all of `a`)
/// and along `m` otherwise.
///
/// # Safety
/// As for [`run`].
unsafe fn parallel<T: Elem>(spec: &Spec<T>, p: Problem<T>, threads: usize) {
    let n_tiles = p.n.div_ceil(spec.nr);
    let m_tiles = p.m.div_ceil(spec.mr);
    let min_flops = if rayon::current_thread_index().is_some() {
        PARALLEL_MIN_FLOPS_IN_POOL
    } else {
        PARALLEL_MIN_FLOPS
    };
    if threads <= 1 || p.flops() < min_flops || (n_tiles < 2 && m_tiles < 2) {
        // SAFETY: forwarded contract.
        return unsafe { serial(spec, p) };
    }
    let left = threads / 2;
    let by_cols = m_tiles < 2 || (n_tiles >= 2 && p.n >= p.m);
    // SAFETY: the split points are strictly inside the matrix (at least one tile each
    // side); the two halves write disjoint parts of `c`.
    unsafe {
        let (x, y) = if by_cols {
            p.split_cols((n_tiles * left / threads).max(1) * spec.nr)
        } else {
            p.split_rows((m_tiles * left / threads).max(1) * spec.mr)
        };
        rayon::join(
            move || parallel(spec, x, left),
            move || parallel(spec, y, threads - left),
        );
    }
}

/// Splits `len` into equal blocks of at most `max` (a multiple of `grain`), each a multiple
/// of `grain`, and returns the block size (so that 784 with `max` 256 is 4 × 196 rather
/// than 3 × 256 + 16).
fn block(len: usize, max: usize, grain: usize) -> usize {
    let blocks = len.div_ceil(max);
    len.div_ceil(blocks)
        .next_multiple_of(grain)
        .min(max.max(grain))
}

/// `B` is read in place rather than packed when its rows are contiguous and at most this
/// many rows of `A` use each panel: packing costs a copy of `B` and saves little when the
/// panel is reused by a handful of tiles (the backward `g · W` of a batch of 64). Up to 256
/// rows (19 tiles, the first layer's weight gradient `gᵀ · x` at batch 64) reading in
/// place still measured 3 % faster than packing; the bits are the same either way.
pub(super) const DIRECT_B_MAX_M: usize = 256;

/// The single-threaded blocked product.
///
/// # Safety
/// As for [`run`].
pub(super) unsafe fn serial<T: Elem>(spec: &Spec<T>, p: Problem<T>) {
    let (mr, nr) = (spec.mr, spec.nr);
    let kc_max = block(p.k, spec.kc, 1);
    let mc_max = block(p.m, spec.mc, mr);
    let nc_max = block(p.n, spec.nc, nr);
    let direct_b = p.b.cs == 1 && p.b.rs > 0 && p.m <= DIRECT_B_MAX_M;
    // Rows of `a` in place, `a.rs` apart, when the kernel can and it pays (see the constant).
    let a_rows = NonZeroUsize::new(p.a.rs.max(0) as usize)
        .filter(|_| spec.reads_a_in_place && p.a.cs == 1 && p.n <= IN_PLACE_A_MAX_N);
    let a_len = if a_rows.is_some() {
        0
    } else {
        mc_max.next_multiple_of(mr) * kc_max
    };
    let b_len = if direct_b {
        nr
    } else {
        nc_max.next_multiple_of(nr)
    } * kc_max;
    with_scratch::<T, _>(a_len, b_len, |pa, pb| {
        let mut jc = 0;
        while jc < p.n {
            let nc = nc_max.min(p.n - jc);
            // In direct mode only a last, partial panel is packed (into the start of `pb`),
            // so that the kernel never reads past the end of a row of `b`.
            let full = if direct_b { nc / nr * nr } else { 0 };
            let mut pc = 0;
            while pc < p.k {
                let kc = kc_max.min(p.k - pc);
                let accumulate = p.accumulate || pc > 0;
                if full < nc {
                    // SAFETY: (pc, jc + full) is inside `b`; the packed block of ⌈nc - full⌉
                    // columns by kc fits `b_len`.
                    unsafe { (spec.pack_b)(nc - full, kc, p.b.sub(pc, jc + full).t(), pb) };
                }
                let mut ic = 0;
                while ic < p.m {
                    let mc = mc_max.min(p.m - ic);
                    if a_rows.is_none() {
                        // SAFETY: (ic, pc) is inside `a`, the packed block fits `a_len`.
                        unsafe { (spec.pack_a)(mc, kc, p.a.sub(ic, pc), pa) };
                    }
                    let tile = |ir: usize, jr: usize| {
                        let cols = nr.min(nc - jr);
                        let rows = mr.min(mc - ir);
                        // SAFETY: in direct mode (jr < full) the panel is kc rows of nr
                        // columns of `b` starting at (pc, jc + jr), rows `b.rs` > 0 apart;
                        // otherwise panel (jr - full) / nr of the packed block. Panel
                        // `ir / mr` of the packed A holds `kc` steps (in place: rows
                        // ic + ir.. of `a`, contiguous from column pc, `a.rs` > 0 apart);
                        // the `rows × cols` tile of `c` at (ic + ir, jc + jr) is inside `c`.
                        unsafe {
                            let (bp, ldb) = if jr < full {
                                (p.b.at(pc, jc + jr), p.b.rs as usize)
                            } else {
                                (pb.add((jr - full) * kc).cast_const(), nr)
                            };
                            let a = match a_rows {
                                Some(_) => p.a.at(ic + ir, pc),
                                None => pa.add(ir * kc).cast_const(),
                            };
                            (spec.kernel)(
                                kc,
                                a,
                                a_rows,
                                bp,
                                ldb,
                                p.c.at(ic + ir, jc + jr),
                                p.c.rs,
                                p.c.cs,
                                rows,
                                cols,
                                accumulate,
                            );
                        }
                    };
                    for ir in (0..mc).step_by(mr) {
                        for jr in (0..nc).step_by(nr) {
                            tile(ir, jr);
                        }
                    }
                    ic += mc;
                }
                pc += kc;
            }
            jc += nc;
        }
    });
}
