//! A steady-state training step (feed, forward, backward, parameter update) allocates
//! nothing: buffers are sized once for the largest batch and reused, also for a smaller
//! last batch. Counted with a global allocator; this file holds a single test so that no
//! other test allocates concurrently.

use knit_tensor::Graph;
use knit_testkit::CountingAllocator;
use steady::{filled, steady_state, Model};

#[path = "common/steady.rs"]
mod steady;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn a_steady_state_training_step_allocates_nothing() {
    let mut g = Graph::new();
    let x = g.input("x", &[784]).unwrap();
    let y = g.labels("y").unwrap();
    let h1 = g
        .dense(
            "h1",
            x,
            filled(&[256, 784], 0.07, 0),
            Some(filled(&[256], 0.07, 0)),
        )
        .unwrap();
    let h1 = g.relu(h1).unwrap();
    let h2 = g
        .dense(
            "h2",
            h1,
            filled(&[128, 256], 0.12, 0),
            Some(filled(&[128], 0.12, 0)),
        )
        .unwrap();
    let h2 = g.batch_norm("bn2", h2, Default::default()).unwrap();
    let h2 = g.tanh(h2).unwrap();
    let out = g
        .dense(
            "out",
            h2,
            filled(&[10, 128], 0.17, 0),
            Some(filled(&[10], 0.17, 0)),
        )
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();

    let model = Model {
        graph: &g,
        x,
        y,
        loss,
        example: &[784],
        classes: 10,
    };
    let (allocated, losses) = steady_state(&model, 64, 17);
    assert_eq!(
        allocated, 0,
        "{allocated} allocations in 10 steady-state steps"
    );
    assert!(losses.iter().all(|l| l.is_finite()));
}
