//! Matrix products on array views, with knit's own allocation-free GEMM.
//!
//! # Why an own kernel
//!
//! knit promises that a steady-state training step allocates nothing. The `gemm` crate
//! and `matrixmultiply` both allocate their packing buffers on every call, so they cannot
//! keep that promise; this module does the same BLIS-style work with buffers that persist.
//! It also takes any strides, so the transposed views the ops pass (`w.t()`, `g.t()`) are
//! never copied: a transposed operand costs only a different packing loop.
//!
//! # Design
//!
//! * `driver`: the five BLIS loops (blocks of `n`, slices of `k`, blocks of `m`, then
//!   micro-panels) and the split over threads with `rayon::join`. A product whose
//!   destination is column-major is computed as its transpose, so the kernels mostly store
//!   rows (the AVX-512 kernel also stores columns, for the in-place case below).
//! * `pack`: copies blocks of `A` and `B` into zero-padded micro-panels in 64-byte
//!   aligned, grow-only thread-local buffers (allocated the first time a thread needs that
//!   size, reused afterwards); `pack_avx512` does the transposing cases with AVX-512.
//! * Micro-kernels, chosen once per process by runtime CPU detection:
//!   `kernel_avx512` (14 × 32 `f32`, 14 × 16 `f64`), `kernel_avx2` (6 × 16 `f32`, 6 × 8
//!   `f64`) and the portable `kernel_scalar` (4 × 8). The element type is dispatched by
//!   `TypeId`: [`Float`] is only implemented for `f32` and `f64`; any other implementor
//!   falls back to a plain loop.
//!
//! # Cache blocking
//!
//! Tuned on a Sapphire Rapids core (L1d 48 KB, L2 2 MB); see `driver` for the loop order.
//! AVX-512 `f32`: `kc` = 256, so one packed `14 × kc` panel of `A` (14 KB) stays in L1 while
//! 32 KB panels of `B` stream past it; `nc` = 1024 columns make the packed `kc × nc` block
//! of `B` 1 MB, half of L2; `mc` = 280 rows (20 panels) bound the packed `A` block to
//! 280 KB. `f64`: `kc` = 192 (a 21 KB `A` panel), `nc` = 640 (a 960 KB `B` block),
//! `mc` = 280. `kc` from 128 to 512 and `nc` from 672 to 2048 measured within noise of each
//! other on the benchmark shapes; these are the values with the most headroom. The AVX2 and
//! scalar kernels use smaller blocks for the smaller caches of the CPUs that take those
//! paths. Blocks are balanced: 784 is cut into 4 × 196, not 3 × 256 + 16.
//!
//! Shortcuts: a `B` whose rows are contiguous is read in place, unpacked, when at most
//! `driver::DIRECT_B_MAX_M` rows of `A` use it (packing would cost a copy of `B` to serve
//! a handful of tiles); on AVX-512, an `A` whose rows are contiguous is read in place when
//! at most `driver::IN_PLACE_A_MAX_N` columns of `B` use it, and a product is computed
//! turned around, `Cᵀ = Bᵀ · Aᵀ`, when that packs fewer elements (`driver::packing`): so
//! `x · wᵀ` with the larger `w` reads `w` in place (its transposing pack was a fifth of the
//! first layer's forward product at batch 64), and a weight gradient `gᵀ · x` over the
//! 1,792 rows of a batch of sequences reads `g` in place instead of copying it (the bits are
//! the same either way); and on AVX-512, operands contiguous along `k` that are still
//! packed (`xᵀ` there, or `w.t()` at larger batches) are packed by in-register 16 × 16
//! transposes (`pack_avx512`).
//!
//! # Threads
//!
//! With `threads > 1` and enough work, the destination is split into `threads` column (or
//! row) strips of whole tiles with `rayon::join`, each computed by the serial algorithm on
//! one thread with that thread's buffers. "Enough" depends on the caller: from outside the
//! rayon pool (an executor called from `main`) `join` costs about 50 µs of hand-over and
//! wake-up here, so only products of at least `driver::PARALLEL_MIN_FLOPS` (20 MFLOP)
//! are split; from inside the pool (`ThreadPool::install`) it costs a few µs and the
//! threshold is `driver::PARALLEL_MIN_FLOPS_IN_POOL` (2 MFLOP).
//!
//! Allocations: with one thread, none after warm-up. With more, `rayon::join` itself
//! allocates nothing, but from outside the pool each call injects a job into rayon's global
//! queue, which allocates a block every 63 jobs; from inside the pool nothing is allocated.

mod driver;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
mod kernel_scalar;
mod pack;
#[cfg(target_arch = "x86_64")]
mod pack_avx512;
#[cfg(test)]
mod tests;

use crate::Float;
use driver::{Mat, MatMut, Problem, Spec};
use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use std::any::TypeId;
use std::sync::atomic::{AtomicU8, Ordering};

/// `dst = a · b`, or `dst += a · b` when `accumulate` is set.
///
/// Shapes must agree (`a`: m×k, `b`: k×n, `dst`: m×n); callers check them when the graph is
/// built, so a disagreement here is a bug and panics. Any strides are accepted. With
/// `threads > 1` a large enough product is split over that many rayon workers.
pub fn matmul_into<F: Float>(
    dst: &mut ArrayViewMut2<'_, F>,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    accumulate: bool,
    threads: usize,
) {
    matmul_with(Isa::detected(), dst, a, b, accumulate, threads);
}

/// An instruction set the micro-kernels are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// Plain Rust, any CPU.
    Scalar,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX-512F.
    Avx512,
}

impl Isa {
    /// The best instruction set of this CPU, detected on the first call and cached.
    fn detected() -> Isa {
        static CACHE: AtomicU8 = AtomicU8::new(0);
        match CACHE.load(Ordering::Relaxed) {
            1 => Isa::Scalar,
            2 => Isa::Avx2,
            3 => Isa::Avx512,
            _ => {
                let isa = [Isa::Avx512, Isa::Avx2]
                    .into_iter()
                    .find(|isa| isa.is_supported())
                    .unwrap_or(Isa::Scalar);
                CACHE.store(isa as u8 + 1, Ordering::Relaxed);
                isa
            }
        }
    }

    /// Whether this CPU can run the kernels for `self`.
    fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// The element types with micro-kernels: `f32` and `f64`.
trait Elem:
    Copy + Send + Sync + 'static + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self>
{
    const ZERO: Self;
    /// The kernel and blocking for `isa`, which must be supported by this CPU.
    fn spec(isa: Isa) -> &'static Spec<Self>;
}

/// The portable kernel's blocking: caches of at least 32 KB L1 and 256 KB L2 assumed (an
/// `A` panel of 4 × 256 and a 256 × 256 `f32` block of `B`).
static SCALAR_F32: Spec<f32> = Spec {
    mr: kernel_scalar::MR,
    nr: kernel_scalar::NR,
    kc: 256,
    mc: 128,
    nc: 256,
    kernel: kernel_scalar::kernel::<f32>,
    reads_a_in_place: false,
    pack_a: pack::pack_panels::<f32, { kernel_scalar::MR }>,
    pack_b: pack::pack_panels::<f32, { kernel_scalar::NR }>,
};
static SCALAR_F64: Spec<f64> = Spec {
    mr: kernel_scalar::MR,
    nr: kernel_scalar::NR,
    kc: 256,
    mc: 64,
    nc: 128,
    kernel: kernel_scalar::kernel::<f64>,
    reads_a_in_place: false,
    pack_a: pack::pack_panels::<f64, { kernel_scalar::MR }>,
    pack_b: pack::pack_panels::<f64, { kernel_scalar::NR }>,
};

/// AVX2 machines (Haswell to Zen): 32 KB L1, 256 KB-1 MB L2. An `A` panel of 6 × 256 is 6 KB
/// (12 KB in `f64`), a block of `B` 256 × 512 `f32` (256 × 256 `f64`) 512 KB.
#[cfg(target_arch = "x86_64")]
static AVX2_F32: Spec<f32> = Spec {
    mr: kernel_avx2::MR,
    nr: kernel_avx2::NR_F32,
    kc: 256,
    mc: 144,
    nc: 512,
    kernel: kernel_avx2::kernel_f32,
    reads_a_in_place: false,
    pack_a: pack::pack_panels::<f32, { kernel_avx2::MR }>,
    pack_b: pack::pack_panels::<f32, { kernel_avx2::NR_F32 }>,
};
#[cfg(target_arch = "x86_64")]
static AVX2_F64: Spec<f64> = Spec {
    mr: kernel_avx2::MR,
    nr: kernel_avx2::NR_F64,
    kc: 256,
    mc: 96,
    nc: 256,
    kernel: kernel_avx2::kernel_f64,
    reads_a_in_place: false,
    pack_a: pack::pack_panels::<f64, { kernel_avx2::MR }>,
    pack_b: pack::pack_panels::<f64, { kernel_avx2::NR_F64 }>,
};

/// AVX-512 (Sapphire Rapids: 48 KB L1, 2 MB L2); see the module docs.
#[cfg(target_arch = "x86_64")]
static AVX512_F32: Spec<f32> = Spec {
    mr: kernel_avx512::MR,
    nr: kernel_avx512::NR_F32,
    kc: 256,
    mc: 280,
    nc: 1024,
    kernel: kernel_avx512::kernel_f32,
    reads_a_in_place: true,
    pack_a: pack_avx512::pack_f32::<{ kernel_avx512::MR }>,
    pack_b: pack_avx512::pack_f32::<{ kernel_avx512::NR_F32 }>,
};
#[cfg(target_arch = "x86_64")]
static AVX512_F64: Spec<f64> = Spec {
    mr: kernel_avx512::MR,
    nr: kernel_avx512::NR_F64,
    kc: 192,
    mc: 280,
    nc: 640,
    kernel: kernel_avx512::kernel_f64,
    reads_a_in_place: true,
    pack_a: pack_avx512::pack_f64::<{ kernel_avx512::MR }>,
    pack_b: pack_avx512::pack_f64::<{ kernel_avx512::NR_F64 }>,
};

impl Elem for f32 {
    const ZERO: Self = 0.0;
    fn spec(isa: Isa) -> &'static Spec<Self> {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => &AVX512_F32,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => &AVX2_F32,
            _ => &SCALAR_F32,
        }
    }
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    fn spec(isa: Isa) -> &'static Spec<Self> {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => &AVX512_F64,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => &AVX2_F64,
            _ => &SCALAR_F64,
        }
    }
}

/// [`matmul_into`] with the kernels for `isa` (tests use it to run every kernel this CPU
/// supports). Panics if the CPU does not support `isa`.
fn matmul_with<F: Float>(
    isa: Isa,
    dst: &mut ArrayViewMut2<'_, F>,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    accumulate: bool,
    threads: usize,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul_into: inner dimensions differ");
    assert_eq!(
        dst.dim(),
        (m, n),
        "matmul_into: destination has the wrong shape"
    );
    assert!(
        isa.is_supported(),
        "matmul_into: this CPU does not support {isa:?}"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(F::zero());
        }
        return;
    }
    if !typed::<F, f32>(isa, dst, a, b, accumulate, threads)
        && !typed::<F, f64>(isa, dst, a, b, accumulate, threads)
    {
        // Another `Float` implementor: no kernel, a plain loop.
        Zip::from(dst.rows_mut()).and(a.rows()).for_each(|d, ar| {
            Zip::from(d).and(b.columns()).for_each(|d, bc| {
                let dot = ar.iter().zip(bc).fold(F::zero(), |s, (&x, &y)| s + x * y);
                *d = if accumulate { *d + dot } else { dot };
            });
        });
    }
}

/// Runs the product with `T`'s kernels if `F` is `T`; returns whether it did.
fn typed<F: Float, T: Elem>(
    isa: Isa,
    dst: &mut ArrayViewMut2<'_, F>,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    accumulate: bool,
    threads: usize,
) -> bool {
    if TypeId::of::<F>() != TypeId::of::<T>() {
        return false;
    }
    let ((m, k), n) = (a.dim(), b.ncols());
    let (ds, as_, bs) = (
        (dst.strides()[0], dst.strides()[1]),
        a.strides(),
        b.strides(),
    );
    let problem = Problem {
        m,
        n,
        k,
        // F is T (same TypeId), so the pointer casts change nothing but the static type.
        a: Mat {
            ptr: a.as_ptr().cast::<T>(),
            rs: as_[0],
            cs: as_[1],
        },
        b: Mat {
            ptr: b.as_ptr().cast::<T>(),
            rs: bs[0],
            cs: bs[1],
        },
        c: MatMut {
            ptr: dst.as_mut_ptr().cast::<T>(),
            rs: ds.0,
            cs: ds.1,
        },
        accumulate,
    };
    // SAFETY: the views are valid for their shapes and strides, `dst` is borrowed mutably so
    // it overlaps neither `a` nor `b`, m, n, k ≥ 1 were checked by the caller, and `isa` is
    // supported (asserted by the caller), as `T::spec` requires.
    unsafe { driver::run(T::spec(isa), problem, threads) };
    true
}
