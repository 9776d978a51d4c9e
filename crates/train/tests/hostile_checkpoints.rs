//! Hostile checkpoints, by class: every kind of entry a checkpoint holds (parameter, buffer,
//! batch counter, optimizer state, schedule state, pruning mask, best-epoch snapshot,
//! ensemble member, metadata) made wrong in each way that matters, and the file itself
//! broken (truncated, a lying header, duplicated names, not a regular file). Each must be a
//! typed error naming the file and the entry, never a panic, and nothing may be taken in
//! silently. The command-line side (every command that reads a checkpoint) is in
//! crates/cli/tests/hostile_outputs.rs.

mod common;

use knit_train::{Checkpoint, Ensemble, Silent, TrainOptions, Trainer};
use ndarray::{ArrayD, IxDyn};
use std::path::{Path, PathBuf};

const FILE: &str = "run.safetensors";

fn trainer(plan: knit_train::Plan) -> Trainer {
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    Trainer::new(plan, data, TrainOptions::default()).unwrap()
}

/// The test plan with early stopping that restores the best weights (so checkpoints hold a
/// `_knit.best.` snapshot), trained for two epochs, with a pruning mask on `out.weight`.
fn plan() -> knit_train::Plan {
    common::plan_restoring_best(3, 4)
}

fn saved() -> Checkpoint {
    let mut plan = plan();
    plan.epochs = 2;
    let mut t = trainer(plan);
    t.fit(&mut Silent).unwrap();
    let mask = ArrayD::from_shape_fn(IxDyn(&[3, 16]), |i| (i[1] % 2) as f32);
    t.set_masks(&[("out.weight".to_string(), mask)]).unwrap();
    t.checkpoint()
}

/// The error of resuming the test plan from `ckpt`, as printed.
fn resume_error(ckpt: &Checkpoint) -> String {
    trainer(plan())
        .resume(ckpt, Path::new(FILE))
        .unwrap_err()
        .to_string()
}

/// The error of loading `ckpt`'s weights and masks as `eval` and `predict` do, as printed.
fn load_error(ckpt: &Checkpoint) -> String {
    let mut t = trainer(plan());
    let path = Path::new(FILE);
    match t.load_weights(ckpt, path, &[]) {
        Err(e) => e.to_string(),
        Ok(_) => t.load_masks(ckpt, path).unwrap_err().to_string(),
    }
}

fn assert_entry(err: &str, entry: &str, needle: &str) {
    let prefix = format!("checkpoint {FILE}: entry '{entry}': ");
    assert!(err.starts_with(&prefix), "{prefix:?} does not start {err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

fn set(ckpt: &Checkpoint, name: &str, value: ArrayD<f32>) -> Checkpoint {
    let mut c = ckpt.clone();
    c.tensors.insert(name.to_string(), value);
    c
}

fn without(ckpt: &Checkpoint, name: &str) -> Checkpoint {
    let mut c = ckpt.clone();
    assert!(
        c.tensors.remove(name).is_some(),
        "{name} not in the checkpoint"
    );
    c
}

fn with_meta(ckpt: &Checkpoint, key: &str, value: &str) -> Checkpoint {
    let mut c = ckpt.clone();
    c.metadata.insert(key.to_string(), value.to_string());
    c
}

fn poisoned(ckpt: &Checkpoint, name: &str, value: f32) -> Checkpoint {
    let mut a = ckpt.tensors[name].clone();
    if let Some(first) = a.iter_mut().next() {
        *first = value;
    }
    set(ckpt, name, a)
}

fn zeros(shape: &[usize]) -> ArrayD<f32> {
    ArrayD::zeros(IxDyn(shape))
}

// --- pruning masks ------------------------------------------------------------------

#[test]
fn a_mask_of_the_wrong_shape_is_an_error_not_a_panic() {
    // Defect 1: this panicked in ndarray's broadcasting (set_masks / mask_weights).
    let bad = set(&saved(), "_knit.mask.out.weight", zeros(&[3]));
    let needle = "has shape [3], but the model's parameter 'out.weight' has shape [3, 16]";
    assert_entry(&resume_error(&bad), "_knit.mask.out.weight", needle);
    assert_entry(&load_error(&bad), "_knit.mask.out.weight", needle);
}

#[test]
fn a_mask_must_hold_only_zeros_and_ones() {
    let bad = poisoned(&saved(), "_knit.mask.out.weight", 0.5);
    let needle = "holds 0.5, but a pruning mask holds only 0 (pruned) and 1 (kept)";
    assert_entry(&resume_error(&bad), "_knit.mask.out.weight", needle);
    assert_entry(&load_error(&bad), "_knit.mask.out.weight", needle);
}

#[test]
fn a_mask_of_no_parameter_is_an_error() {
    let bad = set(&saved(), "_knit.mask.h9.weight", zeros(&[2]));
    let needle = "the model has no trainable parameter 'h9.weight' for this pruning mask";
    assert_entry(&resume_error(&bad), "_knit.mask.h9.weight", needle);
    assert_entry(&load_error(&bad), "_knit.mask.h9.weight", needle);
}

#[test]
fn set_masks_refuses_a_mask_of_the_wrong_shape() {
    let mut t = trainer(plan());
    let err = t
        .set_masks(&[("out.weight".to_string(), zeros(&[16, 3]))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pruning: the mask of 'out.weight' has shape [16, 3], but the parameter has shape [3, 16]"
    );
}

// --- parameters, buffers, counters --------------------------------------------------

#[test]
fn a_transposed_parameter_names_the_file_and_the_entry() {
    let bad = set(&saved(), "h1.weight", zeros(&[2, 16]));
    let needle = "has shape [2, 16], but the model's parameter 'h1.weight' has shape [16, 2]";
    assert_entry(&resume_error(&bad), "h1.weight", needle);
    assert_entry(&load_error(&bad), "h1.weight", needle);
}

#[test]
fn nan_weights_are_the_checkpoints_fault_not_a_divergence() {
    for value in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let bad = poisoned(&saved(), "h1.weight", value);
        let err = resume_error(&bad);
        assert_entry(&err, "h1.weight", "the checkpoint holds non-finite values");
        assert!(!err.contains("training diverged"), "{err}");
        assert_entry(&load_error(&bad), "h1.weight", "non-finite values");
    }
}

#[test]
fn a_tensor_the_model_does_not_have_is_refused_as_strict_pytorch_does() {
    let bad = set(&saved(), "h2.weight", zeros(&[16, 16]));
    let needle = "the model has no parameter or buffer 'h2.weight' (did you mean 'h1.weight'?); was the checkpoint written for another program?";
    assert_entry(&resume_error(&bad), "h2.weight", needle);
    let ens = set(
        &ensemble_checkpoint(),
        "members.1.h2.weight",
        zeros(&[16, 16]),
    );
    assert_entry(
        &ensemble_error(&ens),
        "members.1.h2.weight",
        "no parameter or buffer 'h2.weight'",
    );
    // Transfer learning takes the tensors it needs and leaves the others.
    let mut t = trainer(plan());
    t.load_weights(&bad, Path::new(FILE), &[]).unwrap();
}

#[test]
fn a_missing_parameter_is_named_with_the_closest_entry() {
    let bad = without(&saved(), "h1.bias");
    assert_entry(
        &load_error(&bad),
        "h1.bias",
        "is missing: the model's parameter 'h1.bias' needs it",
    );
}

#[test]
fn buffers_must_be_finite_and_variances_not_negative() {
    let ckpt = saved();
    let err = load_error(&poisoned(&ckpt, "bn1.running_mean", f32::NAN));
    assert_entry(&err, "bn1.running_mean", "non-finite values");
    let err = load_error(&poisoned(&ckpt, "bn1.running_var", -1.0));
    assert_entry(
        &err,
        "bn1.running_var",
        "holds -1, but a running variance cannot be negative",
    );
    let err = load_error(&set(&ckpt, "bn1.running_var", zeros(&[15])));
    assert_entry(
        &err,
        "bn1.running_var",
        "has shape [15], but the model's buffer",
    );
}

#[test]
fn a_batch_counter_must_be_a_non_negative_integer() {
    let ckpt = saved();
    for value in [-1.0, 2.5] {
        let err = load_error(&poisoned(&ckpt, "bn1.num_batches_tracked", value));
        assert_entry(
            &err,
            "bn1.num_batches_tracked",
            "but a count must be a non-negative integer",
        );
    }
}

// --- optimizer and schedule state ---------------------------------------------------

#[test]
fn optimizer_state_is_checked_entry_by_entry() {
    let ckpt = saved();
    let m = "_knit.optimizer.h1.weight.exp_avg";
    let v = "_knit.optimizer.h1.weight.exp_avg_sq";
    let step = "_knit.optimizer.h1.weight.step";
    assert_entry(
        &resume_error(&without(&ckpt, m)),
        m,
        "is missing; this run's optimizer (adam) keeps it",
    );
    assert_entry(
        &resume_error(&set(&ckpt, m, zeros(&[2, 16]))),
        m,
        "has shape [2, 16], but this run's optimizer state has shape [16, 2]",
    );
    assert_entry(
        &resume_error(&poisoned(&ckpt, m, f32::NAN)),
        m,
        "non-finite values",
    );
    assert_entry(
        &resume_error(&poisoned(&ckpt, v, -0.5)),
        v,
        "a sum of squared gradients cannot be negative",
    );
    assert_entry(
        &resume_error(&poisoned(&ckpt, step, 1.5)),
        step,
        "a count must be a non-negative integer",
    );
    let extra = "_knit.optimizer.h1.weight.momentum_buffer";
    assert_entry(
        &resume_error(&set(&ckpt, extra, zeros(&[16, 2]))),
        extra,
        "this run's optimizer (adam) keeps no such state",
    );
}

#[test]
fn step_counts_cannot_exceed_the_runs_steps() {
    // Found by fuzz_checkpoint: a step count of 1e30 read as u64::MAX made the optimizer's
    // next `step += 1` overflow (a panic in debug builds, a NaN bias correction in release).
    let ckpt = saved();
    let step = "_knit.optimizer.h1.weight.step";
    let bad = set(&ckpt, step, ArrayD::from_elem(IxDyn(&[]), 1e30));
    assert_entry(
        &resume_error(&bad),
        step,
        "counts 1000000000000000000000000000000 optimizer steps, but the run took 24 ('knit.step')",
    );
    for key in ["knit.step", "knit.epoch"] {
        assert_entry(
            &resume_error(&with_meta(&ckpt, key, "18446744073709551615")),
            key,
            "counts 18446744073709551615, more than the 9007199254740992 a run can reach",
        );
    }
}

/// `ckpt` with every optimizer step count, and `knit.step`, set to `count`.
fn with_steps(ckpt: &Checkpoint, count: u64) -> Checkpoint {
    let mut c = ckpt.clone();
    c.metadata.insert("knit.step".into(), count.to_string());
    let names: Vec<String> = c
        .tensors
        .keys()
        .filter_map(|k| k.strip_prefix("_knit.optimizer.")?.strip_suffix(".step"))
        .map(str::to_string)
        .collect();
    let exact: std::collections::BTreeMap<&str, u64> =
        names.iter().map(|n| (n.as_str(), count)).collect();
    c.metadata.insert(
        "knit.optimizer.steps".into(),
        serde_json::to_string(&exact).unwrap(),
    );
    for n in &names {
        c.tensors.insert(
            format!("_knit.optimizer.{n}.step"),
            ArrayD::from_elem(IxDyn(&[]), count as f32),
        );
    }
    c
}

#[test]
fn step_counts_beyond_f32_survive_a_resume_exactly() {
    // Defect 18: the optimizer's step counts were stored only as f32 tensors, exact to 2^24.
    let big = (1u64 << 24) + 1;
    let ckpt = with_steps(&saved(), big);
    let mut t = trainer(plan());
    t.resume(&ckpt, Path::new(FILE)).unwrap();
    let again = t.checkpoint();
    let steps: std::collections::BTreeMap<String, u64> =
        serde_json::from_str(&again.metadata["knit.optimizer.steps"]).unwrap();
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert!(steps.values().all(|&s| s == big), "{steps:?}");
    // A file written before the exact counts (only the f32 tensors) still resumes.
    let mut old = ckpt.clone();
    old.metadata.remove("knit.optimizer.steps");
    trainer(plan()).resume(&old, Path::new(FILE)).unwrap();
    // Counts that disagree with their tensors are refused.
    let mut bad = ckpt.clone();
    let text = bad.metadata["knit.optimizer.steps"].replacen(&big.to_string(), "3", 1);
    bad.metadata.insert("knit.optimizer.steps".into(), text);
    assert_entry(
        &resume_error(&bad),
        "knit.optimizer.steps",
        "counts 3 steps of",
    );
}

#[test]
fn schedule_state_is_checked() {
    let ckpt = saved();
    let key = "knit.lr_schedule";
    assert_entry(
        &resume_error(&with_meta(&ckpt, key, "[[\"t\", ")),
        key,
        "the metadata entry is corrupt",
    );
    assert_entry(
        &resume_error(&with_meta(&ckpt, key, "[[\"bogus\", 1.0]]")),
        key,
        "but this run's schedule keeps",
    );
}

// --- best-epoch snapshot ------------------------------------------------------------

#[test]
fn a_wrong_shaped_best_snapshot_is_refused_at_resume() {
    // Defect 11: it was accepted, and the run failed only at its end, after every later
    // checkpoint had carried the bad snapshot forward.
    let bad = set(&saved(), "_knit.best.h1.weight", zeros(&[3]));
    assert_entry(
        &resume_error(&bad),
        "_knit.best.h1.weight",
        "has shape [3], but the model's parameter 'h1.weight' has shape [16, 2]",
    );
}

#[test]
fn the_best_snapshot_must_be_complete_finite_and_of_the_model() {
    let ckpt = saved();
    let e = "_knit.best.out.weight";
    assert_entry(&resume_error(&without(&ckpt, e)), e, "is missing");
    assert_entry(
        &resume_error(&poisoned(&ckpt, e, f32::NAN)),
        e,
        "non-finite values",
    );
    let extra = "_knit.best.h7.weight";
    assert_entry(
        &resume_error(&set(&ckpt, extra, zeros(&[1]))),
        extra,
        "the model has no such parameter or buffer to restore",
    );
}

#[test]
fn early_stopping_state_must_fit_the_epoch() {
    let ckpt = saved();
    let key = "knit.early_stop";
    assert_entry(
        &resume_error(&with_meta(&ckpt, key, "[0.5, 9, 0]")),
        key,
        "which epoch 2 of 'knit.epoch' cannot have",
    );
    assert_entry(
        &resume_error(&with_meta(&ckpt, key, "{}")),
        key,
        "the metadata entry is corrupt",
    );
}

// --- metadata -----------------------------------------------------------------------

#[test]
fn counters_in_the_metadata_must_be_whole_numbers() {
    let ckpt = saved();
    for key in ["knit.epoch", "knit.step", "knit.seed"] {
        for value in ["abc", "-1", "1.5", ""] {
            assert_entry(
                &resume_error(&with_meta(&ckpt, key, value)),
                key,
                "the metadata entry is not a non-negative whole number",
            );
        }
    }
    let mut c = ckpt.clone();
    c.metadata.remove("knit.step");
    assert!(resume_error(&c).contains("metadata entry 'knit.step' is missing"));
}

#[test]
fn a_checkpoint_of_another_program_is_refused_but_more_epochs_are_allowed() {
    let program = "seed 3\ntrain mlp on blobs {\n  optimizer adam(lr: 0.001)\n  epochs    2, early_stop(patience: 10)\n  save      \"a.safetensors\"\n}\n";
    let mut ckpt = saved();
    ckpt.metadata.insert("knit.program".into(), program.into());
    let mut same = plan();
    same.program = program
        .replace("epochs    2", "epochs    40")
        .replace("a.safetensors", "b.safetensors");
    trainer(same).resume(&ckpt, Path::new(FILE)).unwrap();
    let mut other = plan();
    other.program = program.replace("0.001", "0.01");
    let err = trainer(other)
        .resume(&ckpt, Path::new(FILE))
        .unwrap_err()
        .to_string();
    assert_entry(
        &err,
        "knit.program",
        "it was written by a different program: line 3 of the resolved program is `optimizer adam(lr: 0.001)` in the checkpoint but `optimizer adam(lr: 0.01)` in this run",
    );
    let mut early = plan();
    early.program = program.replace(", early_stop(patience: 10)", "");
    assert!(trainer(early).resume(&ckpt, Path::new(FILE)).is_err());
}

// --- ensembles ----------------------------------------------------------------------

/// An ensemble checkpoint of two members made from one trainer's weights.
fn ensemble_checkpoint() -> Checkpoint {
    let single = saved();
    let mut c = Checkpoint::default();
    for k in 0..2 {
        for (name, value) in &single.tensors {
            if !name.starts_with("_knit.") {
                c.tensors
                    .insert(format!("members.{k}.{name}"), value.clone());
            }
        }
    }
    c.metadata
        .insert(knit_train::ENSEMBLE_MEMBERS.into(), "2".into());
    c.metadata
        .insert(knit_train::ENSEMBLE_COMBINE.into(), "vote".into());
    c
}

fn ensemble_error(ckpt: &Checkpoint) -> String {
    let plan = plan();
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    Ensemble::from_checkpoint(&plan, &data, TrainOptions::default(), ckpt, Path::new(FILE))
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn ensemble_members_are_checked_like_single_models() {
    let ckpt = ensemble_checkpoint();
    let e = "members.1.h1.weight";
    assert_entry(
        &ensemble_error(&set(&ckpt, e, zeros(&[2, 16]))),
        e,
        "has shape [2, 16], but the model's parameter 'h1.weight' has shape [16, 2]",
    );
    assert_entry(
        &ensemble_error(&poisoned(&ckpt, e, f32::NAN)),
        e,
        "non-finite values",
    );
    assert_entry(&ensemble_error(&without(&ckpt, e)), e, "is missing");
}

#[test]
fn an_ensemble_member_count_must_match_the_tensors() {
    let ckpt = ensemble_checkpoint();
    let key = knit_train::ENSEMBLE_MEMBERS;
    // A billion members in a small file: refused before a trainer is built for each.
    let started = std::time::Instant::now();
    assert_entry(
        &ensemble_error(&with_meta(&ckpt, key, "1000000000")),
        key,
        "says the ensemble has 1000000000 members, but the file holds no tensors 'members.2.*' of member 2",
    );
    assert!(started.elapsed().as_secs() < 10);
    assert_entry(
        &ensemble_error(&with_meta(&ckpt, key, "1")),
        "members.1.bn1.bias",
        "belongs to member 1, but 'knit.ensemble.members' says the ensemble has 1 members",
    );
}

// --- the file itself ----------------------------------------------------------------

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn written(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join(FILE);
    saved().write(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn read_error(path: &Path, bytes: &[u8]) -> String {
    std::fs::write(path, bytes).unwrap();
    Checkpoint::read(path).unwrap_err().to_string()
}

#[test]
fn truncated_files_and_lying_headers_are_errors() {
    let dir = scratch();
    let (path, bytes) = written(dir.path());
    let prefix = format!(
        "checkpoint {}: not a valid safetensors file",
        path.display()
    );
    for cut in [0, 4, 8, 9, bytes.len() / 2, bytes.len() - 1] {
        let err = read_error(&path, &bytes[..cut]);
        assert!(err.starts_with(&prefix), "cut at {cut}: {err}");
    }
    for length in [u64::MAX, 1 << 40, 99_999_999, bytes.len() as u64] {
        let mut b = bytes.clone();
        b[..8].copy_from_slice(&length.to_le_bytes());
        let err = read_error(&path, &b);
        assert!(err.starts_with(&prefix), "header length {length}: {err}");
    }
}

#[test]
fn a_header_that_names_a_tensor_twice_is_refused() {
    let dir = scratch();
    let path = dir.path().join(FILE);
    let header = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut header = header.to_string();
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&1.0f32.to_le_bytes());
    let err = read_error(&path, &bytes);
    assert!(err.ends_with("the header names 'a' twice)"), "{err}");
}

/// A safetensors file of one tensor `w` of the given type, shape and little-endian bytes.
fn one_tensor(dtype: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let mut header = format!(
        r#"{{"w":{{"dtype":"{dtype}","shape":[{}],"data_offsets":[0,{}]}}}}"#,
        dims.join(","),
        data.len()
    );
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn unsupported_types_name_the_tensor() {
    let dir = scratch();
    let path = dir.path().join(FILE);
    let err = read_error(&path, &one_tensor("I32", &[2], &[0; 8]));
    assert!(
        err.ends_with("tensor 'w' has type I32; knit reads F32, F64, F16, BF16 and I64"),
        "{err}"
    );
}

/// A model saved by PyTorch after `.half()` or `.bfloat16()` loads with its values widened
/// exactly to f32 (largest, smallest subnormal, negative, fractional values).
#[test]
fn half_precision_tensors_are_widened_on_load() {
    let path = Path::new(FILE);
    // F16 bit patterns: 1.0, −2.5, 65504 (the largest), 2⁻²⁴ (the smallest subnormal).
    let f16: [u16; 4] = [0x3C00, 0xC100, 0x7BFF, 0x0001];
    let data: Vec<u8> = f16.iter().flat_map(|v| v.to_le_bytes()).collect();
    let ckpt = Checkpoint::from_bytes(&one_tensor("F16", &[2, 2], &data), path).unwrap();
    let w = &ckpt.tensors["w"];
    assert_eq!(w.shape(), &[2, 2]);
    let expected = [1.0, -2.5, 65504.0, 2f32.powi(-24)];
    assert_eq!(w.iter().copied().collect::<Vec<_>>(), expected);
    // BF16 is the top half of an f32: 1.0, −3.140625, 2¹²⁷, 1/3 rounded to 8 bits (0x3EAB).
    let bf16: [u16; 4] = [0x3F80, 0xC049, 0x7F00, 0x3EAB];
    let data: Vec<u8> = bf16.iter().flat_map(|v| v.to_le_bytes()).collect();
    let ckpt = Checkpoint::from_bytes(&one_tensor("BF16", &[4], &data), path).unwrap();
    let expected: Vec<f32> = bf16
        .iter()
        .map(|&b| f32::from_bits(u32::from(b) << 16))
        .collect();
    assert_eq!(expected[..3], [1.0, -3.140625, 2f32.powi(127)]);
    assert_eq!(
        ckpt.tensors["w"].iter().copied().collect::<Vec<_>>(),
        expected
    );
}

#[test]
fn only_regular_files_are_read() {
    let err = Checkpoint::read(Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "checkpoint /dev/zero: is a character device, not a regular file"
    );
    let dir = scratch();
    let err = Checkpoint::read(dir.path()).unwrap_err().to_string();
    assert!(err.ends_with("is a folder, not a regular file"), "{err}");
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let err = Checkpoint::read(&fifo).unwrap_err().to_string();
    assert!(
        err.ends_with("is a named pipe (FIFO), not a regular file"),
        "{err}"
    );
}

#[test]
fn the_read_limit_is_the_machines_memory_not_a_small_constant() {
    assert!(knit_train::read_limit() >= 64 << 20);
}

// --- crash consistency --------------------------------------------------------------

#[test]
fn a_save_removes_the_temporaries_of_killed_saves_and_keeps_live_ones() {
    // Defect 12: a kill -9 during a save left `run.safetensors.tmp-PID` behind for good.
    let dir = scratch();
    let path = dir.path().join(FILE);
    let dead = dir.path().join(format!("{FILE}.tmp-2147483646"));
    let live = dir.path().join(format!("{FILE}.tmp-1"));
    std::fs::write(&dead, b"half a checkpoint").unwrap();
    std::fs::write(&live, b"a save in progress").unwrap();
    let mut plan = plan();
    plan.epochs = 1;
    let mut t = trainer(plan);
    t.fit(&mut Silent).unwrap();
    t.save(&path).unwrap();
    assert!(!dead.exists(), "the dead process's temporary is removed");
    assert!(live.exists(), "a running process's temporary is left alone");
    Checkpoint::read(&path).unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn a_checkpoint_written_through_a_symlink_keeps_the_link() {
    let dir = scratch();
    let real = dir.path().join("real.safetensors");
    let link = dir.path().join(FILE);
    std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
    saved().write(&link).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    Checkpoint::read(&real).unwrap();
}
