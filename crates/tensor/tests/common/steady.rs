//! The steady-state training loop of the allocation tests: each test file builds a graph,
//! this runs it and counts what the steady state allocates.

use knit_tensor::{Executor, Graph, Mode, NodeId};
use knit_testkit::allocations;
use ndarray::{ArrayD, IxDyn};

/// Deterministic values uniform in `[-scale/2, scale/2)`, from a linear congruential
/// sequence started at `seed`.
pub fn filled(dims: &[usize], scale: f32, seed: u32) -> ArrayD<f32> {
    let mut k = seed;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        k = k.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (f64::from(k >> 8) / f64::from(1u32 << 24) - 0.5) as f32 * scale
    })
}

/// The graph to train: its input `x` (one example `example` long in dims), its labels `y`
/// over `classes` classes, and the scalar `loss`.
pub struct Model<'a> {
    pub graph: &'a Graph,
    pub x: NodeId,
    pub y: NodeId,
    pub loss: NodeId,
    pub example: &'a [usize],
    pub classes: usize,
}

/// Trains `model` with plain gradient steps (rate 0.01): a warm-up at batches of `full`,
/// `partial` and `full` examples (the buffers grow to the largest batch and the matrix
/// kernels set up their scratch), then 10 steady-state steps, every third one of the smaller
/// batch. Returns the allocations of the steady-state steps and their losses.
pub fn steady_state(model: &Model<'_>, full: usize, partial: usize) -> (usize, [f32; 10]) {
    let data = |batch: usize| {
        let dims: Vec<usize> = [batch].iter().chain(model.example).copied().collect();
        let labels = ArrayD::from_shape_fn(IxDyn(&[batch]), |i| (i[0] % model.classes) as f32);
        (filled(&dims, 2.0, 3), labels)
    };
    let (big, small) = (data(full), data(partial));
    let mut exec = Executor::<f32>::new(model.graph);
    let mut step = |batch: usize| {
        let (xs, ys) = if batch == full { &big } else { &small };
        exec.set_input(model.x, xs.view()).unwrap();
        exec.set_input(model.y, ys.view()).unwrap();
        exec.run(model.loss, Mode::Train).unwrap();
        exec.backward(model.loss).unwrap();
        for (_, _, mut value, grad) in exec.trainable_params() {
            value.scaled_add(-0.01, &grad);
        }
        exec.scalar(model.loss).unwrap()
    };
    for batch in [full, partial, full] {
        step(batch);
    }
    let before = allocations();
    let mut losses = [0.0f32; 10];
    for (i, l) in losses.iter_mut().enumerate() {
        *l = step(if i % 3 == 2 { partial } else { full });
    }
    (allocations() - before, losses)
}
