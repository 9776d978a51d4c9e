//! The per-batch path — epoch order into a reused vector, batches, gather into preallocated
//! buffers — allocates nothing. Counted by a global allocator, per thread, so other threads
//! of the test harness do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use knit_data::{epoch_order, gather, generate, one_hot_into, Batches, Synthetic};
use ndarray::{Array1, Array2};

/// Counts allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller upholds `realloc`'s contract, passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn steady_state_batching_does_not_allocate() {
    let data = generate(
        &Synthetic::Blobs {
            centers: 4,
            std: 1.0,
        },
        1000,
        0.1,
        5,
        0,
    )
    .unwrap();
    let batch = 64;
    let mut x = Array2::zeros((batch, 2));
    let mut y = Array1::zeros(batch);
    let mut targets = Array2::zeros((batch, 4));
    let mut order = Vec::with_capacity(data.len());
    let mut checksum = 0.0f32;

    let probe = allocations();
    std::hint::black_box(vec![1u8; 8]);
    assert_eq!(
        allocations(),
        probe + 1,
        "the counter sees this thread's allocations"
    );

    let before = allocations();
    for epoch in 0..3 {
        epoch_order(data.len(), true, 9, epoch, &mut order);
        for indices in Batches::new(&order, batch, false) {
            gather(&data, indices, &mut x, &mut y);
            one_hot_into(&y.slice(ndarray::s![..indices.len()]), targets.view_mut());
            checksum += x[[0, 0]] + y[0];
        }
    }
    let after = allocations();

    assert!(checksum.is_finite());
    assert_eq!(
        after - before,
        0,
        "epoch_order, Batches, gather and one_hot_into allocated"
    );
}
