//! Smoke tests on the real datasets: UCI digits (CSV, gzip) and the MNIST 10k subset (IDX,
//! gzip). They look in the repository's `dsl-examples/data/` first, then in `shared/data/`
//! beside the checkout, and skip with a note when neither has the files.

use std::path::{Path, PathBuf};

use knit_data::{
    load, load_csv, load_idx, DataSpec, Header, IndexSplit, LabelColumn, Scaling, Source, Split,
};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first of `candidates` (relative to the repository's root) that exists.
fn find(candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates
        .iter()
        .map(|c| root().join(c))
        .find(|p| p.exists());
    if found.is_none() {
        println!("note: skipped, none of {candidates:?} exists");
    }
    found
}

#[test]
fn digits_csv() {
    let Some(path) = find(&[
        "dsl-examples/data/digits.csv.gz",
        "../shared/data/digits.csv.gz",
    ]) else {
        return;
    };
    let data = load_csv(&path, &LabelColumn::Last, Header::Auto).unwrap();
    assert_eq!(data.features.shape(), &[1797, 64]);
    assert_eq!(data.classes, Some(10));
    assert!(data.features.iter().all(|&v| (0.0..=16.0).contains(&v)));

    let spec = DataSpec {
        name: "digits".into(),
        source: Source::Csv {
            path: path.clone(),
            label: LabelColumn::Name("label".into()),
            header: Header::Auto,
        },
        validation: None,
        test: None,
        split: Split {
            train: 0.8,
            validation: 0.1,
            test: 0.1,
            stratified: true,
        },
        indices: None,
        scaling: Scaling::Standardize,
        seed: 0,
        limit: None,
    };
    let splits = load(&spec, Path::new("/")).unwrap();
    let (train, validation, test) = (
        &splits.train,
        splits.validation.unwrap(),
        splits.test.unwrap(),
    );
    assert_eq!(train.len() + validation.len() + test.len(), 1797);
    assert_eq!(test.len(), 180);
    // Each class is in the test set in proportion (about 18 of each digit).
    for class in 0..10 {
        let count = test.labels.iter().filter(|&&l| l == class as f32).count();
        assert!((17..=19).contains(&count), "class {class}: {count}");
    }
    assert!(splits.scaler.shift().iter().all(|m| m.is_finite()));
    assert!(
        train.features.iter().all(|v| v.is_finite()),
        "constant pixels stay finite"
    );
}

#[test]
fn mnist_10k_idx() {
    let Some(images) = find(&[
        "dsl-examples/data/mnist10k/train-images-idx3-ubyte.gz",
        "dsl-examples/data/train-images-idx3-ubyte.gz",
        "../shared/data/mnist10k/train-images-idx3-ubyte.gz",
    ]) else {
        return;
    };
    let dir = images.parent().expect("a file has a folder");
    let train = load_idx(
        &dir.join("train-images-idx3-ubyte.gz"),
        &dir.join("train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(train.features.shape(), &[8000, 784]);
    assert_eq!(train.feature_dims, vec![28, 28]);
    assert_eq!(train.classes, Some(10));
    assert_eq!(train.features.iter().copied().fold(0.0, f32::max), 255.0);
    let test = load_idx(
        &dir.join("t10k-images-idx3-ubyte.gz"),
        &dir.join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(test.len(), 2000);
}

#[test]
fn digits_with_the_reference_index_split() {
    let Some(path) = find(&["dsl-examples/data/digits.csv.gz"]) else {
        return;
    };
    let spec = |train: &str, validation: Option<&str>| DataSpec {
        name: "digits".into(),
        source: Source::Csv {
            path: path.clone(),
            label: LabelColumn::Last,
            header: Header::Auto,
        },
        validation: None,
        test: None,
        split: Split::default(),
        indices: Some(IndexSplit {
            path: root().join("dsl-examples/data/digits_split.json"),
            train: train.into(),
            validation: validation.map(Into::into),
            test: None,
        }),
        scaling: Scaling::Divide(16.0),
        seed: 0,
        limit: None,
    };
    let full = load(&spec("train", None), Path::new("/")).unwrap();
    let test = full.test.unwrap();
    assert_eq!((full.train.len(), test.len()), (1437, 360));
    assert!(full.validation.is_none());
    // The reference split is stratified: 35 to 37 test images of each digit.
    let mut per_class = [0usize; 10];
    test.labels.iter().for_each(|&y| per_class[y as usize] += 1);
    assert!(
        per_class.iter().all(|&c| (35..=37).contains(&c)),
        "{per_class:?}"
    );

    let small = load(&spec("small300", Some("small_validation")), Path::new("/")).unwrap();
    assert_eq!(small.train.len(), 300);
    assert_eq!(small.validation.unwrap().len(), 300);
    assert_eq!(small.test.unwrap(), test);
}
