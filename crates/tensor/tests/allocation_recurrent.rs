//! A steady-state training step of recurrent layers (an LSTM over a GRU over a tanh RNN,
//! the last step into a classifier) allocates nothing: the gates, cell states and gradients
//! through time live in buffers sized once and reused, also for a smaller last batch. One
//! test per file, so that no other test allocates concurrently.

use knit_tensor::ops::{Cell, RnnActivation};
use knit_tensor::{Graph, RecurrentWeights};
use knit_testkit::CountingAllocator;
use steady::{filled, steady_state, Model};

#[path = "common/steady.rs"]
mod steady;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn weights(cell: Cell, input: usize, hidden: usize) -> RecurrentWeights {
    let rows = cell.gates() * hidden;
    RecurrentWeights {
        ih: filled(&[rows, input], 0.3, 7),
        hh: filled(&[rows, hidden], 0.3, 7),
        biases: Some((filled(&[rows], 0.3, 7), filled(&[rows], 0.3, 7))),
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
        .dense("out", last, filled(&[5, hidden], 0.3, 7), None)
        .unwrap();
    let loss = g.cross_entropy(out, y).unwrap();

    let model = Model {
        graph: &g,
        x,
        y,
        loss,
        example: &[steps, features],
        classes: 5,
    };
    let (allocated, losses) = steady_state(&model, 64, 17);
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
