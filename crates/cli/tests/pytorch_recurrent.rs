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

use common::{knit, text};
use knit_train::{Checkpoint, PRIVATE_PREFIX};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
const TOLERANCE: f32 = 1e-5;

/// The largest `|knit − torch|` allowed for an epoch's mean training loss (measured: ≤ 1.2e-7
/// on losses near 1.1).
const LOSS_TOLERANCE: f64 = 1e-5;

fn pytorch_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/pytorch")
        .canonicalize()
        .unwrap()
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the model's parameters: every entry but knit's resume-only ones.
fn parameter_names(ckpt: &Checkpoint) -> BTreeSet<&str> {
    ckpt.tensors
        .keys()
        .map(String::as_str)
        .filter(|name| !name.starts_with(PRIVATE_PREFIX))
        .collect()
}

/// Trains `tests/pytorch/<case>.net` into a temporary folder and compares its checkpoint
/// and epoch losses with PyTorch's.
fn matches_pytorch(case: &str) {
    let here = pytorch_dir();
    let net = here.join(format!("{case}.net"));
    let dir = tempfile::tempdir().unwrap();
    // The program is named by its absolute path and its outputs go under the temporary
    // folder: nothing is written beside the program.
    let out = knit(
        dir.path(),
        &[
            "train",
            net.to_str().unwrap(),
            "--out",
            "out",
            "--report",
            "report.json",
            "--quiet",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "knit train {case}.net: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = read_json(&dir.path().join("report.json"));
    let path = dir.path().join(report["checkpoint"].as_str().unwrap());
    let got = Checkpoint::read(&path).unwrap();
    let want =
        Checkpoint::read(&here.join(format!("fixtures/{case}_trained.safetensors"))).unwrap();

    assert_eq!(
        parameter_names(&got),
        want.tensors
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        "{case}: knit's parameter names (left) are not PyTorch's state_dict keys (right)"
    );
    for (name, expected) in &want.tensors {
        let actual = &got.tensors[name];
        assert_eq!(actual.shape(), expected.shape(), "{case}: shape of {name}");
        let (at, worst) = actual
            .iter()
            .zip(expected.iter())
            // A NaN counts as an infinite difference.
            .map(|(a, e)| (a - e).abs())
            .map(|d| if d.is_nan() { f32::INFINITY } else { d })
            .enumerate()
            .fold(
                (0, 0.0f32),
                |best, (i, d)| if d > best.1 { (i, d) } else { best },
            );
        assert!(
            worst <= TOLERANCE,
            "{case}: {name} differs from PyTorch's by {worst:e} at flat index {at} \
             (knit {}, torch {}; tolerance {TOLERANCE:e})",
            actual.iter().nth(at).unwrap(),
            expected.iter().nth(at).unwrap(),
        );
    }

    let losses = read_json(&here.join("fixtures/losses.json"));
    let torch: Vec<f64> = losses["cases"][case]
        .as_array()
        .unwrap_or_else(|| panic!("no losses for {case} in losses.json"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let epochs = report["epochs"].as_array().unwrap();
    let knit_losses: Vec<f64> = epochs
        .iter()
        .map(|e| e["train_loss"].as_f64().unwrap())
        .collect();
    assert_eq!(knit_losses.len(), torch.len(), "{case}: epochs");
    for (epoch, (k, t)) in knit_losses.iter().zip(&torch).enumerate() {
        assert!(
            (k - t).abs() <= LOSS_TOLERANCE,
            "{case}: epoch {} training loss knit {k} vs torch {t}",
            epoch + 1
        );
    }
}

#[test]
fn tanh_rnn_matches_pytorch() {
    matches_pytorch("rnn_tanh");
}

#[test]
fn relu_rnn_matches_pytorch() {
    matches_pytorch("rnn_relu");
}

#[test]
fn lstm_matches_pytorch() {
    matches_pytorch("lstm");
}

#[test]
fn gru_matches_pytorch() {
    matches_pytorch("gru");
}
