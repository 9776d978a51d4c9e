//! A steady-state training step (feed, forward, backward, parameter update) allocates
//! nothing: buffers are sized once for the largest batch and reused, also for a smaller
//! last batch. Counted with a global allocator; this file holds a single test so that no
//! other test allocates concurrently.

use knit_tensor::{Executor, Graph, Mode};
use knit_testkit::{allocations, CountingAllocator};
use ndarray::{ArrayD, IxDyn};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn filled(dims: &[usize], scale: f32) -> ArrayD<f32> {
    let mut k = 0u32;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        k = k.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (f64::from(k >> 8) / f64::from(1u32 << 24) - 0.5) as f32 * scale
    })
}

#[test]
fn a_steady_state_training_step_allocates_nothing() {
    let mut g = Graph::new();
    let x = g.input("x", &[784]).unwrap();
    let y = g.labels("y").unwrap();
    let h1 = g
        .dense(
            "h1",
            x,
            filled(&[256, 784], 0.07),
            Some(filled(&[256], 0.07)),
        )
        .unwrap();
    let h1 = g.relu(h1).unwrap();
    let h2 = g
        .dense(
            "h2",
            h1,
            filled(&[128, 256], 0.12),
            Some(filled(&[128], 0.12)),
        )
        .unwrap();
    let h2 = g.batch_norm("bn2", h2, Default::default()).unwrap();
    let h2 = g.tanh(h2).unwrap();
    let out = g
        .dense(
            "out",
            h2,
            filled(&[10, 128], 0.17),
            Some(filled(&[10], 0.17)),
        )
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();

    let full = filled(&[64, 784], 2.0);
    let partial = filled(&[17, 784], 2.0);
    let labels_full = ArrayD::from_shape_fn(IxDyn(&[64]), |i| (i[0] % 10) as f32);
    let labels_partial = ArrayD::from_shape_fn(IxDyn(&[17]), |i| (i[0] % 10) as f32);

    let mut exec = Executor::<f32>::new(&g);
    let step = |exec: &mut Executor<f32>, batch: usize| {
        let (xs, ys) = if batch == 64 {
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
    // Warm-up: the buffers grow to batch 64 and the matrix kernels set up their scratch.
    for batch in [64, 17, 64] {
        step(&mut exec, batch);
    }
    let mut losses = Vec::with_capacity(10);
    let before = allocations();
    for i in 0..10 {
        losses.push(step(&mut exec, if i % 3 == 2 { 17 } else { 64 }));
    }
    let allocated = allocations() - before;
    assert_eq!(
        allocated, 0,
        "{allocated} allocations in 10 steady-state steps"
    );
    assert!(losses.iter().all(|l| l.is_finite()));
}
