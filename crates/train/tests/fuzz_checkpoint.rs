//! Fuzzing the checkpoint reader with proptest (no nightly toolchain for cargo-fuzz): a real
//! checkpoint's bytes mutated (bit flips, overwritten bytes, truncation, insertions, a
//! rewritten header length, edits of the JSON header's digits and quotes) are read with
//! `Checkpoint::from_bytes`, and whatever reads back is resumed from, loaded as weights and
//! masks and evaluated; half the cases mutate an ensemble checkpoint, loaded as `knit eval`
//! loads one. Nothing may panic, and every error must name the file.
//!
//! `cargo test` runs a few hundred cases; the long run is ignored:
//! `KNIT_FUZZ_CASES=200000 cargo test --release -p knit-train --test fuzz_checkpoint -- --ignored`.

mod common;

use knit_data::Splits;
use knit_testkit::{fuzz, Budget};
use knit_train::{
    Checkpoint, Ensemble, Plan, Silent, TrainOptions, Trainer, ENSEMBLE_COMBINE, ENSEMBLE_MEMBERS,
};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const FILE: &str = "fuzz.safetensors";

/// Cases whose bytes still parsed as a checkpoint, and cases a resume accepted.
static PARSED: AtomicU32 = AtomicU32::new(0);
static RESUMED: AtomicU32 = AtomicU32::new(0);
/// Cases an ensemble load accepted.
static ENSEMBLES: AtomicU32 = AtomicU32::new(0);

/// The plan, its data and a real checkpoint of it (two epochs, a mask, a best snapshot).
struct Fixture {
    plan: Plan,
    data: Splits,
    bytes: Vec<u8>,
    header_end: usize,
    /// The same weights as a two-member ensemble checkpoint (`members.K.<name>`).
    ensemble: Vec<u8>,
    ensemble_header_end: usize,
}

/// The end of the JSON header of the safetensors file `bytes`.
fn header_end(bytes: &[u8]) -> usize {
    8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let plan = common::plan_restoring_best(3, 2);
        let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
        let mut t = Trainer::new(plan.clone(), data.clone(), TrainOptions::default()).unwrap();
        t.fit(&mut Silent).unwrap();
        let mask = ArrayD::from_shape_fn(IxDyn(&[3, 16]), |i| (i[1] % 2) as f32);
        t.set_masks(&[("out.weight".to_string(), mask)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        t.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let single = t.checkpoint();
        let mut members = Checkpoint::default();
        for k in 0..2 {
            for (name, value) in &single.tensors {
                if !name.starts_with("_knit.") {
                    members
                        .tensors
                        .insert(format!("members.{k}.{name}"), value.clone());
                }
            }
        }
        members.metadata.insert(ENSEMBLE_MEMBERS.into(), "2".into());
        members
            .metadata
            .insert(ENSEMBLE_COMBINE.into(), "vote".into());
        members.write(&path).unwrap();
        let ensemble = std::fs::read(&path).unwrap();
        Fixture {
            plan,
            data,
            header_end: header_end(&bytes),
            bytes,
            ensemble_header_end: header_end(&ensemble),
            ensemble,
        }
    })
}

/// One change to the file's bytes; positions are taken modulo the length.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    HeaderLength(u64),
    /// A byte of the JSON header replaced by one of the characters that matter there.
    HeaderChar(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let header_chars = prop::sample::select(b"0123456789-.e\"{}[],: ".to_vec());
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Mutation::SetByte(p, v)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        1 => prop_oneof![any::<u64>(), 0u64..4096].prop_map(Mutation::HeaderLength),
        4 => (any::<usize>(), header_chars).prop_map(|(p, c)| Mutation::HeaderChar(p, c)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, header_end: usize) {
    let len = bytes.len().max(1);
    match m {
        Mutation::FlipBit(p, b) => {
            if let Some(x) = bytes.get_mut(p % len) {
                *x ^= 1 << b;
            }
        }
        Mutation::SetByte(p, v) => {
            if let Some(x) = bytes.get_mut(p % len) {
                *x = *v;
            }
        }
        Mutation::Truncate(n) => bytes.truncate(n % len),
        Mutation::Insert(p, b) => {
            let at = p % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::HeaderLength(n) => {
            if bytes.len() >= 8 {
                bytes[..8].copy_from_slice(&n.to_le_bytes());
            }
        }
        Mutation::HeaderChar(p, c) => {
            let end = header_end.min(bytes.len());
            if end > 8 {
                bytes[8 + p % (end - 8)] = *c;
            }
        }
    }
}

/// Reads the mutated bytes and uses whatever reads back; panics (the failure proptest
/// reports) if anything panics or an error does not name the file.
fn exercise(bytes: &[u8]) {
    let f = fixture();
    let path = Path::new(FILE);
    let named = |e: &knit_train::TrainError| {
        let text = e.to_string();
        assert!(text.starts_with(&format!("checkpoint {FILE}: ")), "{text}");
    };
    let ckpt = match Checkpoint::from_bytes(bytes, path) {
        Ok(c) => c,
        Err(e) => return named(&e),
    };
    PARSED.fetch_add(1, Ordering::Relaxed);
    if ckpt.metadata.contains_key(ENSEMBLE_MEMBERS) {
        // What `knit eval`, `predict` and `attack` do with an ensemble checkpoint.
        let options = TrainOptions::default();
        match Ensemble::from_checkpoint(&f.plan, &f.data, options, &ckpt, path) {
            Ok(mut ensemble) => {
                ENSEMBLES.fetch_add(1, Ordering::Relaxed);
                if let Some(v) = &f.data.validation {
                    ensemble.scores(v).unwrap();
                }
            }
            Err(e) => named(&e),
        }
    }
    let new = || Trainer::new(f.plan.clone(), f.data.clone(), TrainOptions::default()).unwrap();
    let mut resumed = new();
    match resumed.resume(&ckpt, path) {
        Ok(()) => {
            RESUMED.fetch_add(1, Ordering::Relaxed);
            // Whatever was accepted must be usable: an evaluation and a training epoch
            // (which may diverge on extreme values: a typed error, not a panic).
            if let Some(v) = &f.data.validation {
                resumed.evaluate(v).unwrap();
            }
            let _ = resumed.train_epoch(&mut Silent);
        }
        Err(e) => named(&e),
    }
    let mut loaded = new();
    match loaded
        .load_weights(&ckpt, path, &[])
        .and_then(|_| loaded.load_masks(&ckpt, path))
    {
        Ok(_) => {
            if let Some(v) = &f.data.validation {
                loaded.evaluate(v).unwrap();
            }
        }
        Err(e) => named(&e),
    }
}

/// Mutates the fixture's checkpoints (half of them ensembles) and exercises every reader
/// on the result, within `budget`; returns the executions.
fn run(budget: Budget) -> u64 {
    let f = fixture();
    let cases = (any::<bool>(), prop::collection::vec(mutation(), 1..4));
    fuzz("checkpoint", budget, cases, |(ensemble, mutations)| {
        let (mut bytes, end) = if ensemble {
            (f.ensemble.clone(), f.ensemble_header_end)
        } else {
            (f.bytes.clone(), f.header_end)
        };
        for m in &mutations {
            apply(&mut bytes, m, end);
        }
        exercise(&bytes);
        Ok(())
    })
}

#[test]
fn mutated_checkpoints_never_panic() {
    run(Budget::Cases(300));
}

#[test]
fn the_unmutated_checkpoints_load() {
    exercise(&fixture().bytes);
    exercise(&fixture().ensemble);
    let ckpt = Checkpoint::from_bytes(&fixture().bytes, Path::new(FILE)).unwrap();
    let f = fixture();
    let mut t = Trainer::new(f.plan.clone(), f.data.clone(), TrainOptions::default()).unwrap();
    t.resume(&ckpt, Path::new(FILE)).unwrap();
    assert_eq!(t.epochs_done(), 2);
}

#[test]
#[ignore = "long: KNIT_FUZZ_CASES cases per round (default 100000), KNIT_FUZZ_SECONDS"]
fn mutated_checkpoints_never_panic_long() {
    let started = std::time::Instant::now();
    let executed = run(Budget::Long(5000));
    eprintln!(
        "fuzz_checkpoint: {executed} executions in {:.0} s, no failure; {} parsed as a \
         checkpoint, {} accepted by resume, {} ensembles loaded",
        started.elapsed().as_secs_f64(),
        PARSED.load(Ordering::Relaxed),
        RESUMED.load(Ordering::Relaxed),
        ENSEMBLES.load(Ordering::Relaxed)
    );
}
