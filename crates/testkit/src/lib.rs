//! # knit-testkit
//!
//! Test support shared by knit's crates: [`fuzz`] (proptest-driven fuzzing, bounded in
//! `cargo test` and time-boxed in long runs), [`CountingAllocator`], a global
//! allocator that counts the allocations of each thread, so a test can prove that a hot loop
//! (a training step, a batch gather, an optimizer step) allocates nothing in steady state,
//! undisturbed by the test harness's other threads; and [`bar_images_csv`], a small learnable
//! image task for convolutional networks.
//!
//! ```ignore
//! use knit_testkit::{allocations_during, CountingAllocator};
//!
//! #[global_allocator]
//! static ALLOCATOR: CountingAllocator = CountingAllocator;
//!
//! #[test]
//! fn the_loop_allocates_nothing() {
//!     let mut buffer = Vec::with_capacity(16);
//!     assert_eq!(allocations_during(|| buffer.push(1)), 0);
//! }
//! ```

mod fuzz;
mod images;
pub use fuzz::{fuzz, Budget};
pub use images::bar_images_csv;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// A global allocator that forwards to the system allocator and counts, per thread, every
/// allocation and reallocation. Install it in a test binary with `#[global_allocator]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAllocator;

fn count() {
    // `try_with`: during thread teardown the counter may already be gone.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialized thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `realloc`'s contract, passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from the system allocator, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations made so far by the calling thread (only counted when [`CountingAllocator`] is
/// the global allocator).
pub fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// How many allocations the calling thread makes while running `f`.
pub fn allocations_during(f: impl FnOnce()) -> usize {
    let before = allocations();
    f();
    allocations() - before
}
