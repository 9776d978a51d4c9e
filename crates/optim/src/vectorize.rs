//! Element loops compiled for the widest vector instructions the CPU has.
//!
//! The crate is built for the baseline x86-64 (SSE2, 4 floats a vector). The optimizer
//! updates are plain element loops; when a model's parameters fit in the caches, their square
//! roots and divisions are what costs (larger ones wait on memory whatever the width):
//! [`vectorized`] runs a loop inside a function compiled for AVX-512 or AVX2 when the CPU has
//! them (checked once, at run time), so the compiler emits 16- or 8-wide instructions. Every
//! operation stays a separately rounded IEEE operation (Rust never contracts `a * b + c` into
//! a fused multiply-add on its own), so the results are the same bits on every path.

/// Runs `f`, compiled for AVX-512 or AVX2 + FMA when the CPU has them.
///
/// `f` and everything it calls must be `#[inline(always)]` for the wider instructions to
/// reach the loop.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Whether the code that [`vectorized`] runs is compiled with fused multiply-add
/// instructions: on x86-64 when it takes the AVX-512 or AVX2 + FMA path, on AArch64
/// always. Elsewhere `mul_add` is a call to the C library's `fma`, exact but slow, so
/// loops that use it to save a division keep the division there instead.
pub(crate) fn fma_is_native() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            || (std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        cfg!(target_arch = "aarch64")
    }
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
