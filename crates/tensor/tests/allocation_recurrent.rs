//! A steady-state training step of recurrent layers (an LSTM over a GRU over a tanh RNN,
//! the last step into a classifier) allocates nothing: the gates, cell states and gradients
//! through time live in buffers sized once and reused, also for a smaller last batch. One
//! test per file, so that no other test allocates concurrently.

use knit_tensor::ops::{Cell, RnnActivation};
use knit_tensor::{Executor, Graph, Mode, RecurrentWeights};
use knit_testkit::{allocations, CountingAllocator};
use ndarray::{ArrayD, IxDyn};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn filled(dims: &[usize], scale: f32) -> ArrayD<f32> {
    let mut k = 7u32;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        k = k.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (f64::from(k >> 8) / f64::from(1u32 << 24) - 0.5) as f32 * scale
    })
}

fn weights(cell: Cell, input: usize, hidden: usize) -> RecurrentWeights {
    let rows = cell.gates() * hidden;
    RecurrentWeights {
        ih: filled(&[rows, input], 0.3),
        hh: filled(&[rows, hidden], 0.3),
        biases: Some((filled(&[rows], 0.3), filled(&[rows], 0.3))),
    }
}

#[test]
fn a_steady_state_recurrent_training_step_allocates_nothing() {
    let (steps, features, hidden) = (12, 10, 32);
    let mut g = Graph::new();
    let x = g.input("x", &[steps, features]).unwrap();
    let y = g.labels("y").unwrap();
    let rnn = Cell::Rnn(RnnActivation::Tanh);
    let h = g
        .recurrent("rnn", 0, x, rnn, weights(rnn, features, hidden))
        .unwrap();
    let h = g
        .recurrent("gru", 0, h, Cell::Gru, weights(Cell::Gru, hidden, hidden))
        .unwrap();
    let h = g
        .recurrent(
            "lstm",
            0,
            h,
            Cell::Lstm,
            weights(Cell::Lstm, hidden, hidden),
        )
        .unwrap();
    let last = g.last_step(h).unwrap();
    let out = g
        .dense("out", last, filled(&[5, hidden], 0.3), None)
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();

    let full = filled(&[64, steps, features], 2.0);
    let partial = filled(&[17, steps, features], 2.0);
    let labels_full = ArrayD::from_shape_fn(IxDyn(&[64]), |i| (i[0] % 5) as f32);
    let labels_partial = ArrayD::from_shape_fn(IxDyn(&[17]), |i| (i[0] % 5) as f32);
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
    for batch in [64, 17, 64] {
        step(&mut exec, batch);
    }
    let before = allocations();
    let mut losses = [0.0f32; 10];
    for (i, l) in losses.iter_mut().enumerate() {
        *l = step(&mut exec, if i % 3 == 2 { 17 } else { 64 });
    }
    let allocated = allocations() - before;
    assert_eq!(
        allocated, 0,
        "{allocated} allocations in 10 steady-state steps"
    );
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(
        losses[9] < losses[0],
        "training lowers the loss: {losses:?}"
    );
}
