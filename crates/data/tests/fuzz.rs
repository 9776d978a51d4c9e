//! Fuzzing every loader (CSV, IDX, NPY, NPZ, index-split JSON) with proptest, for want of a
//! nightly toolchain for cargo-fuzz: arbitrary bytes and mutations of valid files (bytes
//! overwritten, inserted, deleted, set to boundary values, the file cut short, gzip applied
//! after mutating). Each input must give a valid dataset or a typed error naming the file;
//! never a panic, a hang or an allocation past the limit.
//!
//! `cargo test` runs a few hundred cases per loader. The long runs are ignored tests:
//!
//! ```sh
//! KNIT_FUZZ_SECONDS=600 cargo test --release -p knit-data --test fuzz -- --ignored --nocapture
//! KNIT_FUZZ_CASES=100000 cargo test --release -p knit-data --test fuzz -- --ignored long_csv
//! ```
//!
//! (`KNIT_FUZZ_SECONDS` keeps drawing new cases, each round from a new seed, until the time
//! is up; `KNIT_FUZZ_CASES` sets the cases per round.) Each run prints its executions.

mod common;

use common::*;
use knit_data::{
    load, load_csv_within, load_idx_within, load_npy_within, load_npz_within, parse_npy, DataError,
    DataSpec, Dataset, Header, IndexSplit, LabelColumn, LabelRule, Limit, Scaling, Source, Split,
};
use knit_testkit::{fuzz, Budget};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use std::path::Path;

/// The limit every fuzzed load runs within: 16 MiB, so that a header announcing a huge
/// array is refused rather than allocated.
fn limit() -> Limit {
    Limit::exactly(16 << 20)
}

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Edit {
    /// Overwrite the byte at a position.
    Set(Index, u8),
    /// Insert a byte before a position.
    Insert(Index, u8),
    /// Delete the byte at a position.
    Delete(Index),
    /// Overwrite 4 bytes at a position with a boundary value (0, all ones, 2³¹...).
    Word(Index, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    let boundary = prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(0x8000_0000),
        Just(0x7fff_ffff),
        Just(1),
        any::<u32>()
    ];
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), boundary).prop_map(|(i, w)| Edit::Word(i, w)),
    ]
}

/// Applies `edits` to `bytes`, then cuts it at `cut` if given.
fn apply(mut bytes: Vec<u8>, edits: &[Edit], cut: Option<Index>) -> Vec<u8> {
    for e in edits {
        let n = bytes.len();
        match e {
            Edit::Set(i, b) if n > 0 => bytes[i.index(n)] = *b,
            Edit::Insert(i, b) => bytes.insert(i.index(n + 1), *b),
            Edit::Delete(i) if n > 0 => {
                bytes.remove(i.index(n));
            }
            Edit::Word(i, w) if n >= 4 => {
                let at = i.index(n - 3);
                bytes[at..at + 4].copy_from_slice(&w.to_be_bytes());
            }
            _ => {}
        }
    }
    if let Some(cut) = cut {
        let n = bytes.len();
        bytes.truncate(cut.index(n + 1));
    }
    bytes
}

/// Files to fuzz: arbitrary bytes, or one of `seeds` mutated, gzip-compressed afterwards
/// when `gzip` says so.
fn files(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len();
    let mutated = (
        0..count,
        vec(edit(), 0..6),
        proptest::option::weighted(0.2, any::<Index>()),
        proptest::bool::weighted(0.2),
    )
        .prop_map(move |(which, edits, cut, gz)| {
            let bytes = apply(seeds[which].clone(), &edits, cut);
            if gz {
                gzip(&bytes)
            } else {
                bytes
            }
        });
    prop_oneof![1 => vec(any::<u8>(), 0..256), 6 => mutated]
}

/// Checks what a loader gave: a consistent dataset of finite values, or an error that
/// names `path` (every error of a one-file load names its file).
fn verdict(result: Result<Dataset, DataError>, path: &Path) -> Result<(), TestCaseError> {
    match result {
        Ok(data) => {
            prop_assert!(!data.is_empty());
            prop_assert_eq!(data.features.nrows(), data.labels.len());
            prop_assert_eq!(
                data.features.ncols(),
                data.feature_dims.iter().product::<usize>()
            );
            prop_assert!(data.features.iter().all(|v| v.is_finite()));
            prop_assert!(data.labels.iter().all(|v| v.is_finite()));
            Ok(())
        }
        Err(err) => {
            let text = err.to_string();
            let name = path.display().to_string();
            prop_assert!(text.contains(&name), "{} does not name {}", text, name);
            Ok(())
        }
    }
}

/// `cases` cases, or a long run's budget (`KNIT_FUZZ_CASES`, `KNIT_FUZZ_SECONDS`).
fn budget(long: bool, cases: u32) -> Budget {
    if long {
        Budget::Long(cases)
    } else {
        Budget::Cases(cases)
    }
}

// ------------------------------------------------------------------ the targets

/// Valid CSV files: plain, with a header, quoted, CRLF, blank lines.
fn csv_seeds() -> Vec<Vec<u8>> {
    [
        &b"1,2,0\n3,4,1\n5,6,2\n"[..],
        b"a,b,label\n0.5,-1e3,1\n2,3,0\n",
        b"\"1\",\"2\",\"1\"\r\n3,4,0\r\n\r\n",
        b"x,y\n1,0\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect()
}

/// One CSV case: the file written and loaded with classes checked or not.
fn csv_case(bytes: Vec<u8>, rule: LabelRule) -> Result<(), TestCaseError> {
    let dir = scratch();
    let path = write(dir.path(), "f.csv", &bytes);
    let result = load_csv_within(&path, &LabelColumn::Last, Header::Auto, limit(), rule);
    verdict(result, &path)
}

/// The label rules a case is loaded with.
fn rules() -> impl Strategy<Value = LabelRule> {
    prop_oneof![
        Just(LabelRule::Any),
        Just(LabelRule::ClassIndices),
        (1usize..12).prop_map(LabelRule::Classes)
    ]
}

fn csv_target(long: bool) {
    let strategy = (files(csv_seeds()), rules());
    fuzz("csv", budget(long, 300), strategy, |(bytes, rule)| {
        csv_case(bytes, rule)
    });
}

/// Valid IDX files: images of several types and their labels.
fn idx_seeds() -> Vec<Vec<u8>> {
    vec![
        idx(0x08, &[3, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]),
        idx(0x08, &[3], &[0, 1, 2]),
        idx(0x0D, &[2, 1], &[0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]),
        idx(0x0B, &[2], &[0, 1, 0, 2]),
        idx(0x0E, &[1, 1], &[0x3f, 0xf0, 0, 0, 0, 0, 0, 0]),
    ]
}

fn idx_target(long: bool) {
    let strategy = (files(idx_seeds()), files(idx_seeds()), rules());
    fuzz(
        "idx",
        budget(long, 300),
        strategy,
        |(images, labels, rule)| {
            let dir = scratch();
            let images = write(dir.path(), "images", &images);
            let labels = write(dir.path(), "labels", &labels);
            match load_idx_within(&images, &labels, limit(), rule) {
                Ok(data) => verdict(Ok(data), &images),
                Err(err) => {
                    let text = err.to_string();
                    let named = text.contains(&images.display().to_string())
                        || text.contains(&labels.display().to_string());
                    prop_assert!(named, "{} names neither file", text);
                    Ok(())
                }
            }
        },
    );
}

/// Valid NPY files of every supported element type and both orders.
fn npy_seeds() -> Vec<Vec<u8>> {
    vec![
        npy_f32(&[2, 2], &[0.0, 1.0, 2.0, 3.0]),
        npy_f32(&[2], &[1.0, 0.0]),
        npy("|u1", false, &[3], &[0, 1, 2]),
        npy(">i2", true, &[2, 3], &[0, 1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6]),
        npy("<f8", false, &[1, 1], &0.5f64.to_le_bytes()),
        npy("|b1", false, &[2], &[0, 1]),
        npy("<i8", false, &[1], &3i64.to_le_bytes()),
    ]
}

fn npy_target(long: bool) {
    let strategy = (files(npy_seeds()), files(npy_seeds()), rules());
    fuzz("npy", budget(long, 300), strategy, |(x, y, rule)| {
        // The in-memory parser, and the pair loaded from files.
        let path = Path::new("case.npy");
        if let Err(err) = parse_npy(&x, path) {
            prop_assert!(err.to_string().contains("case.npy"), "{}", err);
        }
        let dir = scratch();
        let features = write(dir.path(), "x.npy", &x);
        let labels = write(dir.path(), "y.npy", &y);
        match load_npy_within(&features, &labels, limit(), rule) {
            Ok(data) => verdict(Ok(data), &features),
            Err(err) => {
                let text = err.to_string();
                let named = text.contains(&features.display().to_string())
                    || text.contains(&labels.display().to_string());
                prop_assert!(named, "{} names neither file", text);
                Ok(())
            }
        }
    });
}

/// NPZ archives: mutated members zipped (stored or deflated), or a valid archive mutated.
fn npz_files() -> impl Strategy<Value = Vec<u8>> {
    let members = (files(npy_seeds()), files(npy_seeds()), any::<bool>())
        .prop_map(|(x, y, deflate)| zip(&[("x.npy", x), ("y.npy", y)], deflate));
    let valid = vec![
        zip(
            &[
                ("x.npy", npy_seeds()[0].clone()),
                ("y.npy", npy_seeds()[1].clone()),
            ],
            true,
        ),
        zip(
            &[
                ("x.npy", npy_seeds()[0].clone()),
                ("y.npy", npy_seeds()[1].clone()),
            ],
            false,
        ),
    ];
    prop_oneof![members, files(valid)]
}

fn npz_target(long: bool) {
    let strategy = (npz_files(), rules());
    fuzz("npz", budget(long, 200), strategy, |(bytes, rule)| {
        let dir = scratch();
        let path = write(dir.path(), "a.npz", &bytes);
        verdict(load_npz_within(&path, "x", "y", limit(), rule), &path)
    });
}

/// Index files: mutated valid JSON, or JSON built from random lists and keys.
fn index_files() -> impl Strategy<Value = Vec<u8>> {
    let seeds = vec![
        br#"{"train": [0, 1, 2, 3, 4, 5], "test": [6, 7], "validation": [8, 9]}"#.to_vec(),
        br#"{"note": "x", "train": [9, 0], "small": [1]}"#.to_vec(),
    ];
    let key = prop_oneof![
        Just("train".to_owned()),
        Just("validation".to_owned()),
        Just("test".to_owned()),
        "[a-z]{0,6}"
    ];
    let number = prop_oneof![
        (0i64..12).prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        Just("1.5".to_owned()),
        Just("1e400".to_owned()),
        Just("null".to_owned()),
        Just("\"3\"".to_owned()),
    ];
    let built = vec((key, vec(number, 0..8)), 0..4).prop_map(|entries| {
        let body: Vec<String> = entries
            .iter()
            .map(|(k, list)| format!("\"{k}\": [{}]", list.join(", ")))
            .collect();
        format!("{{{}}}", body.join(", ")).into_bytes()
    });
    prop_oneof![files(seeds), built]
}

fn index_target(long: bool) {
    fuzz("index split", budget(long, 300), index_files(), |json| {
        let dir = scratch();
        let rows: String = (0..10).map(|i| format!("{i},{}\n", i % 2)).collect();
        let data = write(dir.path(), "a.csv", rows.as_bytes());
        let index = write(dir.path(), "split.json", &json);
        let spec = DataSpec {
            name: "d".into(),
            source: Source::Csv {
                path: data,
                label: LabelColumn::Last,
                header: Header::No,
            },
            validation: None,
            test: None,
            split: Split::default(),
            indices: Some(IndexSplit {
                path: index.clone(),
                train: "train".into(),
                validation: None,
                test: None,
            }),
            scaling: Scaling::Standardize,
            seed: 0,
            limit: Some(16 << 20),
        };
        match load(&spec, Path::new("")) {
            Ok(splits) => {
                prop_assert!(!splits.train.is_empty());
                let total = splits.train.len()
                    + splits.validation.map_or(0, |v| v.len())
                    + splits.test.map_or(0, |t| t.len());
                prop_assert!(total <= 10);
                Ok(())
            }
            Err(err) => {
                let text = err.to_string();
                let named =
                    text.contains(&index.display().to_string()) || text.starts_with("split:");
                prop_assert!(named, "{}", text);
                Ok(())
            }
        }
    });
}

#[test]
fn csv() {
    csv_target(false);
}

#[test]
fn idx_files() {
    idx_target(false);
}

#[test]
fn npy_files() {
    npy_target(false);
}

#[test]
fn npz_archives() {
    npz_target(false);
}

#[test]
fn index_split_files() {
    index_target(false);
}

#[test]
#[ignore]
fn long_csv() {
    csv_target(true);
}

#[test]
#[ignore]
fn long_idx() {
    idx_target(true);
}

#[test]
#[ignore]
fn long_npy() {
    npy_target(true);
}

#[test]
#[ignore]
fn long_npz() {
    npz_target(true);
}

#[test]
#[ignore]
fn long_index_split() {
    index_target(true);
}
