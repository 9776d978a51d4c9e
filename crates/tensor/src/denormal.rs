//! Flushing subnormal floats to zero, which the CPU otherwise handles 10-100× slower.

/// Sets the calling thread's MXCSR flush-to-zero and denormals-are-zero bits (0x8040), so
/// that subnormal results and operands count as zero. Optimizer state such as Adam's second
/// moment drifts into the subnormal range in long runs and can slow a step several times
/// over. Returns whether the bits could be set (x86-64 only; elsewhere it does nothing).
///
/// Threads inherit MXCSR from the thread that creates them, so call it before starting
/// worker pools; [`init_thread_pool`] does both.
pub fn flush_denormals() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: reading and writing MXCSR only changes this thread's floating-point
        // rounding and denormal behaviour; no memory is touched.
        #[allow(deprecated)]
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr(_mm_getcsr() | 0x8040);
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Builds the global rayon pool with `threads` workers, each flushing denormals, and
/// flushes them on the calling thread too. Has no effect on the pool if one was already
/// built (rayon's global pool can be set once); returns whether this call built it.
pub fn init_thread_pool(threads: usize) -> bool {
    flush_denormals();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .start_handler(|_| {
            flush_denormals();
        })
        .build_global()
        .is_ok()
}

/// Runs `f` inside a dedicated pool of `threads` workers that flush denormals, with the
/// calling context's matrix products splitting their work across that pool.
///
/// Running a whole training loop inside the pool is cheaper than calling into rayon's
/// global pool from outside for every product: a split then costs a few microseconds
/// instead of tens, and queueing jobs does not allocate. With one thread, `f` runs directly.
pub fn with_thread_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    flush_denormals();
    if threads <= 1 {
        return f();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| {
            flush_denormals();
        })
        .build();
    match pool {
        Ok(pool) => pool.install(f),
        // A pool that cannot start (no threads available) leaves the work to the caller.
        Err(_) => f(),
    }
}
