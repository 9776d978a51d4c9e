//! Element loops compiled for the widest vector instructions the CPU has.
//!
//! The crate is built for the baseline x86-64 (SSE2, 4 floats a vector). The optimizer
//! updates are plain element loops; when a model's parameters fit in the caches, their square
//! roots and divisions are what costs (larger ones wait on memory whatever the width):
//! [`vectorized`] runs a loop inside a function compiled for AVX-512 or AVX2 when the CPU has
//! them (checked once, at run time), so the compiler emits 16- or 8-wide instructions. Every
//! operation stays a separately rounded IEEE operation (Rust never contracts `a * b + c` into
//! a fused multiply-add on its own), so the results are the same bits on every path.

/// The widest instructions this CPU offers to [`vectorized`] loops.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Avx512,
    Avx2Fma,
    /// The target's baseline (SSE2 on x86-64).
    Baseline,
}

/// The path [`vectorized`] takes on this CPU (the standard library caches the detection).
fn path() -> Path {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Path::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Path::Avx2Fma;
        }
    }
    Path::Baseline
}

/// Runs `f`, compiled for AVX-512 or AVX2 + FMA when the CPU has them.
///
/// `f` and everything it calls must be `#[inline(always)]` for the wider instructions to
/// reach the loop.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    match path() {
        // SAFETY: the CPU supports AVX-512F (detected by `path`).
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => unsafe { avx512(f) },
        // SAFETY: the CPU supports AVX2 and FMA (detected by `path`).
        #[cfg(target_arch = "x86_64")]
        Path::Avx2Fma => unsafe { avx2(f) },
        _ => f(),
    }
}

/// Whether the code that [`vectorized`] runs is compiled with fused multiply-add
/// instructions: on x86-64 when it takes the AVX-512 or AVX2 + FMA path, on AArch64
/// always. Elsewhere `mul_add` is a call to the C library's `fma`, exact but slow, so
/// loops that use it to save a division keep the division there instead.
pub fn fma_is_native() -> bool {
    path() != Path::Baseline || cfg!(target_arch = "aarch64")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
