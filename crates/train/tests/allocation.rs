//! A training epoch's allocations do not grow with its number of batches: every step
//! (gather, forward, backward, clipping, optimizer) reuses its buffers, and only per-epoch
//! bookkeeping allocates. Counted with a global allocator; a single test in this file.

mod common;

use knit_testkit::{allocations, CountingAllocator};
use knit_train::{Batching, Clip, Silent, TrainOptions, Trainer};
use std::path::Path;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_of_second_epoch(batch: usize) -> usize {
    let mut plan = common::plan(1);
    plan.batching = Batching::Mini(batch);
    plan.clip = Some(Clip::Norm(1.0));
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let mut trainer = Trainer::new(plan, data, TrainOptions::default()).unwrap();
    trainer.train_epoch(&mut Silent).unwrap();
    let before = allocations();
    trainer.train_epoch(&mut Silent).unwrap();
    allocations() - before
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
