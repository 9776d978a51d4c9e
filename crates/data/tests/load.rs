//! `load`: a whole data description into scaled training, validation and test sets.

mod common;

use std::path::{Path, PathBuf};

use common::{scratch, write};
use knit_data::{
    load, DataError, DataSpec, Header, LabelColumn, Scaler, Scaling, Source, Split, Synthetic,
};

/// A CSV of `n` rows `(i, 2i) → label`, with labels from `label`.
fn csv_file(dir: &Path, name: &str, n: usize, label: impl Fn(usize) -> String) -> PathBuf {
    let mut text = String::from("x,y,label\n");
    for i in 0..n {
        text.push_str(&format!("{i},{},{}\n", 2 * i, label(i)));
    }
    write(dir, name, text.as_bytes())
}

fn csv_source(name: &str) -> Source {
    Source::Csv {
        path: name.into(),
        label: LabelColumn::Last,
        header: Header::Auto,
    }
}

fn spec(source: Source, split: Split, scaling: Scaling) -> DataSpec {
    DataSpec {
        name: "d".into(),
        source,
        validation: None,
        test: None,
        split,
        indices: None,
        scaling,
        seed: 11,
        limit: None,
    }
}

fn fractions(train: f64, validation: f64, test: f64, stratified: bool) -> Split {
    Split {
        train,
        validation,
        test,
        stratified,
    }
}

#[test]
fn fractions_split_the_main_source_by_seed() {
    let dir = scratch();
    csv_file(dir.path(), "d.csv", 200, |i| (i % 3).to_string());
    let spec = spec(
        csv_source("d.csv"),
        fractions(0.7, 0.2, 0.1, false),
        Scaling::None,
    );
    let splits = load(&spec, dir.path()).unwrap();
    let validation = splits.validation.as_ref().unwrap();
    let test = splits.test.as_ref().unwrap();
    assert_eq!(
        (splits.train.len(), validation.len(), test.len()),
        (140, 40, 20)
    );
    // Every row lands in exactly one set (x is the row number).
    let mut rows: Vec<f32> = [&splits.train, validation, test]
        .iter()
        .flat_map(|set| set.features.column(0).to_vec())
        .collect();
    rows.sort_by(f32::total_cmp);
    assert_eq!(rows, (0..200).map(|i| i as f32).collect::<Vec<_>>());
    assert_eq!(splits.train.classes, Some(3));
    assert_eq!(test.classes, Some(3));
    // Same seed, same sets; another seed, other sets.
    assert_eq!(load(&spec, dir.path()).unwrap(), splits);
    let reseeded = DataSpec { seed: 12, ..spec };
    assert_ne!(load(&reseeded, dir.path()).unwrap().train, splits.train);
}

#[test]
fn stratified_split_keeps_each_class_in_proportion() {
    let dir = scratch();
    // 150 of class 0, 50 of class 1.
    csv_file(dir.path(), "d.csv", 200, |i| {
        u8::from(i % 4 == 0).to_string()
    });
    let spec = spec(
        csv_source("d.csv"),
        fractions(0.6, 0.2, 0.2, true),
        Scaling::None,
    );
    let splits = load(&spec, dir.path()).unwrap();
    let ones = |labels: &ndarray::Array1<f32>| labels.iter().filter(|&&l| l == 1.0).count();
    assert_eq!((splits.train.len(), ones(&splits.train.labels)), (120, 30));
    let validation = splits.validation.unwrap();
    assert_eq!((validation.len(), ones(&validation.labels)), (40, 10));
    let test = splits.test.unwrap();
    assert_eq!((test.len(), ones(&test.labels)), (40, 10));
}

#[test]
fn scaling_is_fitted_on_the_training_set_only() {
    let dir = scratch();
    csv_file(dir.path(), "d.csv", 100, |i| (i % 2).to_string());
    let spec = spec(
        csv_source("d.csv"),
        fractions(0.5, 0.0, 0.5, false),
        Scaling::Standardize,
    );
    let splits = load(&spec, dir.path()).unwrap();
    // The training features are standardized exactly…
    for column in splits.train.features.columns() {
        let mean = column.mean().unwrap();
        let std = column.std(0.0);
        assert!(
            mean.abs() < 1e-5 && (std - 1.0).abs() < 1e-5,
            "{mean} {std}"
        );
    }
    // …and the scaler's statistics are the training rows', not the whole file's.
    let unscaled = load(
        &DataSpec {
            scaling: Scaling::None,
            ..spec.clone()
        },
        dir.path(),
    )
    .unwrap();
    let train_mean = unscaled.train.features.column(0).mean().unwrap();
    assert!((splits.scaler.shift()[0] - train_mean).abs() < 1e-4);
    assert!(
        (train_mean - 49.5).abs() > 1e-3,
        "the training half's mean differs from the file's"
    );
    // The test set went through the same map.
    let mut test = unscaled.test.unwrap().features;
    splits.scaler.apply(&mut test);
    assert_eq!(test, splits.test.unwrap().features);
    // And the scaler survives a checkpoint round trip.
    assert_eq!(
        Scaler::from_named_arrays(&splits.scaler.to_named_arrays()).unwrap(),
        splits.scaler
    );
}

#[test]
fn divide_and_min_max_scaling() {
    let dir = scratch();
    csv_file(dir.path(), "d.csv", 11, |_| "0".into());
    let divided = load(
        &spec(csv_source("d.csv"), Split::default(), Scaling::Divide(10.0)),
        dir.path(),
    )
    .unwrap();
    assert_eq!(divided.train.features.column(0)[10], 1.0);
    let min_max = load(
        &spec(csv_source("d.csv"), Split::default(), Scaling::MinMax),
        dir.path(),
    )
    .unwrap();
    assert_eq!(min_max.train.features.column(1)[0], 0.0);
    assert_eq!(min_max.train.features.column(1)[10], 1.0);
    assert!(min_max.validation.is_none() && min_max.test.is_none());
}

#[test]
fn separate_validation_and_test_files() {
    let dir = scratch();
    csv_file(dir.path(), "train.csv", 30, |i| (i % 2).to_string());
    csv_file(dir.path(), "valid.csv", 8, |i| (i % 2).to_string());
    csv_file(dir.path(), "test.csv", 6, |i| (i % 4).to_string());
    let spec = DataSpec {
        validation: Some(csv_source("valid.csv")),
        test: Some(csv_source("test.csv")),
        ..spec(csv_source("train.csv"), Split::default(), Scaling::MinMax)
    };
    let splits = load(&spec, dir.path()).unwrap();
    assert_eq!(splits.train.len(), 30);
    assert_eq!(splits.validation.as_ref().unwrap().len(), 8);
    // The test file has classes up to 3: every set agrees on 4 classes.
    assert_eq!(splits.train.classes, Some(4));
    assert_eq!(splits.test.as_ref().unwrap().classes, Some(4));
    // Scaled with the training file's range (x in 0..29).
    let test = splits.test.unwrap();
    assert_eq!(test.features[[5, 0]], 5.0 / 29.0);
}

#[test]
fn separate_files_must_match_the_main_source() {
    let dir = scratch();
    csv_file(dir.path(), "train.csv", 10, |i| (i % 2).to_string());
    write(dir.path(), "narrow.csv", b"x,label\n1,0\n");
    csv_file(dir.path(), "real.csv", 4, |i| format!("{i}.5"));
    let base = spec(
        csv_source("train.csv"),
        fractions(0.8, 0.0, 0.2, false),
        Scaling::None,
    );
    let narrow = DataSpec {
        validation: Some(csv_source("narrow.csv")),
        ..base.clone()
    };
    let err = load(&narrow, dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the validation examples have shape [1]; expected [2] like the main source's",
            dir.path().join("narrow.csv").display()
        )
    );
    let real = DataSpec {
        validation: Some(csv_source("real.csv")),
        ..base.clone()
    };
    let err = load(&real, dir.path()).unwrap_err();
    assert!(
        matches!(err, DataError::LabelKindMismatch { classes: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().ends_with(
        "real.csv: the validation labels are real-valued; expected class indices 0..2 like the \
         main source's"
    ));
    let conflict = DataSpec {
        test: Some(csv_source("train.csv")),
        ..base
    };
    let err = load(&conflict, dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "split: the test set comes from a separate source and from a split fraction of 0.2; \
         expected one of them (set the test fraction to 0)"
    );
}

#[test]
fn invalid_fractions_and_empty_sets_are_errors() {
    let dir = scratch();
    csv_file(dir.path(), "d.csv", 10, |i| (i % 2).to_string());
    let bad = spec(
        csv_source("d.csv"),
        fractions(0.9, 0.2, 0.0, false),
        Scaling::None,
    );
    let err = load(&bad, dir.path()).unwrap_err();
    assert!(matches!(err, DataError::SplitSum { .. }), "{err}");
    let tiny = spec(
        csv_source("d.csv"),
        fractions(0.96, 0.04, 0.0, false),
        Scaling::None,
    );
    let err = load(&tiny, dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::EmptySplit {
                which: "validation",
                ..
            }
        ),
        "{err}"
    );
    csv_file(dir.path(), "r.csv", 10, |i| format!("{i}.25"));
    let stratified = spec(
        csv_source("r.csv"),
        fractions(0.5, 0.5, 0.0, true),
        Scaling::None,
    );
    let err = load(&stratified, dir.path()).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "r.csv: line 2, column 3 (\"label\"): the label is 0.25; expected a class index, \
             an integer in 0..65536, as a stratified split needs"
        ),
        "{err}"
    );
}

#[test]
fn synthetic_sources_draw_independent_streams_per_role() {
    let moons = Source::Synthetic {
        kind: Synthetic::Moons,
        samples: 64,
        noise: 0.1,
    };
    let spec = DataSpec {
        validation: Some(moons.clone()),
        test: Some(Source::Synthetic {
            kind: Synthetic::Blobs {
                centers: 2,
                std: 0.5,
            },
            samples: 10,
            noise: 0.0,
        }),
        ..spec(moons, Split::default(), Scaling::None)
    };
    let splits = load(&spec, Path::new("unused")).unwrap();
    assert_eq!(splits.train.len(), 64);
    assert_ne!(
        splits.validation.as_ref().unwrap().features,
        splits.train.features
    );
    assert_eq!(splits.test.as_ref().unwrap().classes, Some(2));
    let bad = DataSpec {
        source: Source::Synthetic {
            kind: Synthetic::Xor,
            samples: 0,
            noise: 0.0,
        },
        ..spec
    };
    let err = load(&bad, Path::new("unused")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "synthetic xor: samples = 0; expected at least 1"
    );
}

#[test]
fn paths_are_relative_to_the_base_folder() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    csv_file(&dir.path().join("data"), "d.csv", 5, |_| "1".into());
    let spec = spec(csv_source("data/d.csv"), Split::default(), Scaling::None);
    assert_eq!(load(&spec, dir.path()).unwrap().train.len(), 5);
    let err = load(&spec, &dir.path().join("elsewhere")).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}: cannot open the file",
            dir.path().join("elsewhere/data/d.csv").display()
        )),
        "{err}"
    );
}
