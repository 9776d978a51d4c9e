//! A training epoch's allocations do not grow with its number of batches: every step
//! (gather, forward, backward, clipping, optimizer) reuses its buffers, and only per-epoch
//! bookkeeping allocates. Counted with a global allocator; a single test in this file.

mod common;

use knit_train::{Batching, Clip, Silent, TrainOptions, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_of_second_epoch(batch: usize) -> usize {
    let mut plan = common::plan(1);
    plan.batching = Batching::Mini(batch);
    plan.clip = Some(Clip::Norm(1.0));
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let mut trainer = Trainer::new(plan, data, TrainOptions::default()).unwrap();
    trainer.train_epoch(&mut Silent).unwrap();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    trainer.train_epoch(&mut Silent).unwrap();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn an_epoch_allocates_the_same_whatever_its_number_of_batches() {
    let many = allocations_of_second_epoch(8); // 45 steps
    let few = allocations_of_second_epoch(120); // 3 steps
    assert_eq!(
        many, few,
        "45 steps allocated {many} times, 3 steps {few} times"
    );
}
