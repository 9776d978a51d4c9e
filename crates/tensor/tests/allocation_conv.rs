//! A steady-state training step of a small convolutional network (conv, max pool, grouped
//! 1×1 conv, average pool, global average pool, a classifier) allocates nothing: each
//! convolution's patch matrix lives in scratch memory sized for one example and reused,
//! also for a smaller last batch. One test per file, so that no other test allocates
//! concurrently.

use knit_tensor::ops::{AvgPool2d, Conv2d, MaxPool2d};
use knit_tensor::{Executor, Graph, Mode};
use knit_testkit::{allocations, CountingAllocator};
use ndarray::{ArrayD, IxDyn};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn filled(dims: &[usize], scale: f32) -> ArrayD<f32> {
    let mut k = 11u32;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        k = k.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (f64::from(k >> 8) / f64::from(1u32 << 24) - 0.5) as f32 * scale
    })
}

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
            filled(&[8, 3, 3, 3], 0.4),
            Some(filled(&[8], 0.1)),
            same,
        )
        .unwrap();
    let h = g.relu(h).unwrap();
    let h = g.max_pool(h, MaxPool2d::with_kernel([2, 2])).unwrap();
    let grouped = Conv2d::new([1, 1], [0, 0], [1, 1], 2).unwrap();
    let h = g
        .conv2d("c2", h, filled(&[16, 4, 1, 1], 0.4), None, grouped)
        .unwrap();
    let strided = Conv2d::new([2, 2], [1, 1], [2, 2], 1).unwrap();
    let h = g
        .conv2d("c3", h, filled(&[16, 16, 3, 3], 0.2), None, strided)
        .unwrap();
    let h = g
        .avg_pool(h, AvgPool2d::new([2, 2], [1, 1], [1, 1]).unwrap())
        .unwrap();
    let h = g.global_avg_pool(h).unwrap();
    let out = g
        .dense("out", h, filled(&[10, 16], 0.5), Some(filled(&[10], 0.1)))
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();

    let full = filled(&[32, 3, 16, 16], 2.0);
    let partial = filled(&[7, 3, 16, 16], 2.0);
    let labels_full = ArrayD::from_shape_fn(IxDyn(&[32]), |i| (i[0] % 10) as f32);
    let labels_partial = ArrayD::from_shape_fn(IxDyn(&[7]), |i| (i[0] % 10) as f32);

    let mut exec = Executor::<f32>::new(&g);
    let step = |exec: &mut Executor<f32>, batch: usize| {
        let (xs, ys) = if batch == 32 {
            (&full, &labels_full)
        } else {
            (&partial, &labels_partial)
        };
        exec.set_input(x, xs.view()).unwrap();
        exec.set_input(y, ys.view()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        exec.backward(loss).unwrap();
        for (_, _, mut value, grad) in exec.trainable_params() {
            value.scaled_add(-0.01, &grad);
        }
        exec.scalar(loss).unwrap()
    };
    // Warm-up: the buffers grow to batch 32 and the matrix kernels set up their scratch.
    for batch in [32, 7, 32] {
        step(&mut exec, batch);
    }
    let mut losses = Vec::with_capacity(10);
    let before = allocations();
    for i in 0..10 {
        losses.push(step(&mut exec, if i % 3 == 2 { 7 } else { 32 }));
    }
    let allocated = allocations() - before;
    assert_eq!(
        allocated, 0,
        "{allocated} allocations in 10 steady-state steps"
    );
    assert!(losses.iter().all(|l| l.is_finite()));
}
