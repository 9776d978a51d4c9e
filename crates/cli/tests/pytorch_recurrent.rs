//! The recurrent layers are PyTorch's: `knit train` on each program of `tests/pytorch/`
//! (a tanh RNN, a relu RNN, an LSTM and a GRU, 2 stacked layers of 6 with biases over 5 steps
//! of 3 features and a 3-class head on the last step, started from PyTorch's initial weights,
//! 12 steps of Adam with the gradients clipped to global norm 1) must end where PyTorch's
//! `nn.RNN` / `nn.LSTM` / `nn.GRU` + `nn.Linear` ended on the same data and recipe: every
//! parameter of the checkpoint against `tests/pytorch/fixtures/<case>_trained.safetensors`,
//! same names, same shapes, same values within [`TOLERANCE`], and the per-epoch training loss
//! against `fixtures/losses.json`.
//!
//! The fixtures were written by `tests/pytorch/recurrent_parity.py` (torch 2.15, CPU), which
//! documents the recipe and also writes the `.net` files; this test needs no torch.

mod common;

use common::pytorch::{matches_pytorch, Parity};

/// The largest `|knit − torch|` allowed for any element of any trained parameter.
///
/// Measured with `recurrent_parity.py`: knit and PyTorch end at most 1.2e-7 apart (about
/// 2 ulp of f32 at the weights' scale, 0.3–0.6; the Adam moments agree to 1e-6 relative and
/// the epoch losses to 1e-7), so 1e-5 leaves a margin of ~80× for other summation orders
/// (SIMD widths, thread counts, a reordered reduction). It stays far below what a wrong cell
/// would give: 12 steps move every tensor by 0.04–0.12 from its start, and re-running
/// PyTorch's recipe with a wrong formula (LSTM gates i/f or f/g swapped, GRU r/z swapped, the
/// GRU's reset applied before `W_hn`, `z` and `1 − z` exchanged, an RNN without `b_hh`) ends
/// 0.13–0.24 away from the fixtures, ≥ 10⁴ × this tolerance.
const TOLERANCE: f64 = 1e-5;

/// The largest `|knit − torch|` allowed for an epoch's mean training loss (measured: ≤ 1.2e-7
/// on losses near 1.1).
const LOSS_TOLERANCE: f64 = 1e-5;

/// The fixtures' losses and the tolerances above.
const PARITY: Parity = Parity {
    losses: "losses.json",
    tolerance: TOLERANCE,
    loss_tolerance: LOSS_TOLERANCE,
};

#[test]
fn tanh_rnn_matches_pytorch() {
    matches_pytorch("rnn_tanh", &PARITY);
}

#[test]
fn relu_rnn_matches_pytorch() {
    matches_pytorch("rnn_relu", &PARITY);
}

#[test]
fn lstm_matches_pytorch() {
    matches_pytorch("lstm", &PARITY);
}

#[test]
fn gru_matches_pytorch() {
    matches_pytorch("gru", &PARITY);
}

/// The float64 LSTM (`precision f64` against PyTorch's `.double()` model): knit and PyTorch
/// end at most 1.7e-16 apart (1 ulp of f64 at the weights' scale; the Adam moments agree
/// to 6e-16 relative, the epoch losses to the last printed digit), nine orders of magnitude
/// closer than the float32 cases.
const F64_PARITY: Parity = Parity {
    losses: "losses.json",
    tolerance: 1e-13,
    loss_tolerance: 1e-13,
};

#[test]
fn a_float64_lstm_matches_pytorch_in_float64_at_rounding_level() {
    matches_pytorch("lstm_f64", &F64_PARITY);
}
