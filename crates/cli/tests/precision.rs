//! `precision f64` (or `knit train --precision f64`): the run computes in float64 end to
//! end, its checkpoint stores F64 tensors (what PyTorch loads as `float64`), resuming it is
//! bit for bit, and `knit eval` reads it.

mod common;

use common::compose::ok;
use common::example;
use knit_train::Checkpoint;
use std::path::Path;

/// The dtypes of a safetensors file's tensors, from its JSON header.
fn dtypes(path: &Path) -> std::collections::BTreeSet<String> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, v)| v["dtype"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_float64_run_saves_float64_and_differs_from_float32_only_by_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("digits.net");
    let run = |precision: &str, out: &str| {
        ok(
            dir.path(),
            &[
                "train",
                &file,
                "--quiet",
                "--epochs",
                "3",
                "--precision",
                precision,
                "--out",
                out,
                "--report",
                &format!("{out}.json"),
            ],
        );
        dir.path().join(out).join("runs/digits.safetensors")
    };
    let (single, double) = (run("f32", "s"), run("f64", "d"));
    assert_eq!(
        dtypes(&single).into_iter().collect::<Vec<_>>(),
        ["F32", "I64"]
    );
    assert_eq!(
        dtypes(&double).into_iter().collect::<Vec<_>>(),
        ["F64", "I64"]
    );
    let (s, d) = (
        Checkpoint::<f64>::read_as(&single).unwrap(),
        Checkpoint::<f64>::read_as(&double).unwrap(),
    );
    assert!(d.metadata["knit.program"].contains("  precision f64\n"));
    // The same recipe from the same initial weights: close, but not the same numbers (the
    // f64 run does not round to f32 anywhere).
    let w = "h1.weight";
    let (a, b) = (&s.tensors[w], &d.tensors[w]);
    let largest = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(largest > 0.0 && largest < 1e-3, "{largest}");
    assert!(
        b.iter().any(|v| (*v as f32) as f64 != *v),
        "values beyond f32"
    );
    // eval reads the float64 checkpoint (computing in f32): the test metrics of the run's
    // report, as eval prints them.
    let eval = ok(
        dir.path(),
        &["eval", &file, "--weights", double.to_str().unwrap()],
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("d.json")).unwrap()).unwrap();
    let test = &report["test"][0];
    let row = format!(
        "180     {:.4}    {:.2} %",
        test["loss"].as_f64().unwrap(),
        test["accuracy"].as_f64().unwrap() * 100.0
    );
    let line = eval.lines().find(|l| l.starts_with("test ")).unwrap();
    assert!(line.ends_with(&row), "{line} vs {row}");
}

#[test]
fn resuming_a_float64_run_is_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("digits.net");
    let train = |extra: &[&str], out: &str| {
        let mut args = vec![
            "train",
            &file,
            "--quiet",
            "--set",
            "precision=f64",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        ok(dir.path(), &args);
        dir.path().join(out).join("runs/digits.safetensors")
    };
    let whole = train(&["--epochs", "4"], "whole");
    let half = train(&["--epochs", "2"], "half");
    let half = half.to_str().unwrap().to_string();
    let resumed = train(&["--epochs", "4", "--resume", &half], "resumed");
    let (a, b) = (
        Checkpoint::<f64>::read_as(&whole).unwrap(),
        Checkpoint::<f64>::read_as(&resumed).unwrap(),
    );
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, x) in &a.tensors {
        let y = &b.tensors[name];
        let same = x
            .iter()
            .zip(y.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same, "{name} differs after the resume");
    }
}
