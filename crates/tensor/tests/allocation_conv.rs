//! A steady-state training step of a small convolutional network (conv, max pool, grouped
//! 1×1 conv, strided conv, a conv on the Winograd path, average pool, global average pool, a
//! classifier) allocates nothing: each convolution's patch matrix (or Winograd's transformed
//! tiles) lives in scratch memory sized for one chunk of examples and reused,
//! also for a smaller last batch. One test per file, so that no other test allocates
//! concurrently.

use knit_tensor::ops::{AvgPool2d, Conv2d, MaxPool2d};
use knit_tensor::Graph;
use knit_testkit::CountingAllocator;
use steady::{filled, steady_state, Model};

#[path = "common/steady.rs"]
mod steady;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn a_steady_state_conv_training_step_allocates_nothing() {
    let mut g = Graph::new();
    let x = g.input("x", &[3, 16, 16]).unwrap();
    let y = g.labels("y").unwrap();
    let same = Conv2d::new([1, 1], [1, 1], [1, 1], 1).unwrap();
    let h = g
        .conv2d(
            "c1",
            x,
            filled(&[8, 3, 3, 3], 0.4, 11),
            Some(filled(&[8], 0.1, 11)),
            same,
        )
        .unwrap();
    let h = g.relu(h).unwrap();
    let h = g.max_pool(h, MaxPool2d::with_kernel([2, 2])).unwrap();
    let grouped = Conv2d::new([1, 1], [0, 0], [1, 1], 2).unwrap();
    let h = g
        .conv2d("c2", h, filled(&[16, 4, 1, 1], 0.4, 11), None, grouped)
        .unwrap();
    let strided = Conv2d::new([2, 2], [1, 1], [2, 2], 1).unwrap();
    let h = g
        .conv2d("c3", h, filled(&[16, 16, 3, 3], 0.2, 11), None, strided)
        .unwrap();
    // 16 channels in and out, 3×3, stride 1: Winograd's F(2×2, 3×3).
    let h = g
        .conv2d("c4", h, filled(&[16, 16, 3, 3], 0.2, 11), None, same)
        .unwrap();
    let h = g
        .avg_pool(h, AvgPool2d::new([2, 2], [1, 1], [1, 1]).unwrap())
        .unwrap();
    let h = g.global_avg_pool(h).unwrap();
    let out = g
        .dense(
            "out",
            h,
            filled(&[10, 16], 0.5, 11),
            Some(filled(&[10], 0.1, 11)),
        )
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();

    let model = Model {
        graph: &g,
        x,
        y,
        loss,
        example: &[3, 16, 16],
        classes: 10,
    };
    let (allocated, losses) = steady_state(&model, 32, 7);
    assert_eq!(
        allocated, 0,
        "{allocated} allocations in 10 steady-state steps"
    );
    assert!(losses.iter().all(|l| l.is_finite()));
}
