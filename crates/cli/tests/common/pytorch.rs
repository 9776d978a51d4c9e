//! PyTorch parity: `knit train` on a program of `tests/pytorch/` must end where PyTorch
//! ended on the same data and recipe (the fixtures written by the scripts beside the
//! programs). Used by `pytorch_recurrent.rs` and `pytorch_conv.rs`.

use super::{knit, text};
use knit_train::{Checkpoint, PRIVATE_PREFIX};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a case is compared with, and how closely.
pub struct Parity<'a> {
    /// The JSON file under `tests/pytorch/fixtures/` holding PyTorch's per-epoch training
    /// losses as `{"cases": {"<case>": [..]}}`.
    pub losses: &'a str,
    /// The largest `|knit − torch|` allowed for any element of any trained tensor (compared
    /// in f64: an f32 checkpoint widens exactly).
    pub tolerance: f64,
    /// The largest `|knit − torch|` allowed for an epoch's mean training loss.
    pub loss_tolerance: f64,
}

/// The folder of the parity programs and their fixtures.
pub fn pytorch_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/pytorch")
        .canonicalize()
        .unwrap()
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the model's parameters and buffers: every entry but knit's resume-only ones.
pub fn parameter_names<F>(ckpt: &Checkpoint<F>) -> BTreeSet<&str> {
    ckpt.tensors
        .keys()
        .map(String::as_str)
        .filter(|name| !name.starts_with(PRIVATE_PREFIX))
        .collect()
}

/// Trains `tests/pytorch/<case>.net` into a temporary folder and compares its checkpoint
/// with `fixtures/<case>_trained.safetensors` (the same names, shapes, and values within
/// `parity.tolerance`) and its epoch losses with PyTorch's.
pub fn matches_pytorch(case: &str, parity: &Parity) {
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
    let got = Checkpoint::<f64>::read_as(&path).unwrap();
    let want =
        Checkpoint::<f64>::read_as(&here.join(format!("fixtures/{case}_trained.safetensors")))
            .unwrap();

    assert_eq!(
        parameter_names(&got),
        want.tensors
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        "{case}: knit's parameter names (left) are not PyTorch's state_dict keys (right)"
    );
    let tolerance = parity.tolerance;
    for (name, expected) in &want.tensors {
        let actual = &got.tensors[name];
        assert_eq!(actual.shape(), expected.shape(), "{case}: shape of {name}");
        let (at, worst) = actual
            .iter()
            .zip(expected.iter())
            // A NaN counts as an infinite difference.
            .map(|(a, e)| (a - e).abs())
            .map(|d| if d.is_nan() { f64::INFINITY } else { d })
            .enumerate()
            .fold(
                (0, 0.0f64),
                |best, (i, d)| if d > best.1 { (i, d) } else { best },
            );
        assert!(
            worst <= tolerance,
            "{case}: {name} differs from PyTorch's by {worst:e} at flat index {at} \
             (knit {}, torch {}; tolerance {tolerance:e})",
            actual.iter().nth(at).unwrap(),
            expected.iter().nth(at).unwrap(),
        );
    }

    let losses = read_json(&here.join("fixtures").join(parity.losses));
    let torch: Vec<f64> = losses["cases"][case]
        .as_array()
        .unwrap_or_else(|| panic!("no losses for {case} in {}", parity.losses))
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
            (k - t).abs() <= parity.loss_tolerance,
            "{case}: epoch {} training loss knit {k} vs torch {t}",
            epoch + 1
        );
    }
}
