//! Hostile data through the `knit` binary: errors found only once the data is loaded are
//! reported with their place (a split at its `split` line, a label at its file and line), and
//! special files are refused at check time without blocking.

mod common;

use common::{assert_failure, knit};
use std::path::Path;

/// A classifier of 2 features and `classes` classes on `data.csv`, split as `split`.
fn program(split: &str, classes: usize) -> String {
    format!(
        "data d {{\n  source csv(\"data.csv\", label: last)\n  {split}\n}}\n\n\
         model m(x: [2]) -> [{classes}] {{\n  out = x |> dense({classes})\n}}\n\n\
         train m on d {{\n  loss      cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch     1\n  \
         epochs    1\n}}\n"
    )
}

/// Writes `program` and `data` into a fresh folder; returns it.
fn setup(program: &str, data: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.net"), program).unwrap();
    std::fs::write(dir.path().join("data.csv"), data).unwrap();
    dir
}

#[test]
fn a_split_that_leaves_a_set_empty_is_reported_at_the_split_line() {
    let dir = setup(
        &program("split  train 0.8, validation 0.1, test 0.1", 2),
        "1,2,0\n",
    );
    let out = knit(dir.path(), &["train", "p.net"]);
    assert_failure(
        &out,
        1,
        "the validation fraction 0.1 of 1 examples gives no example; expected at least one",
    );
    assert_failure(&out, 1, "p.net:3:3");
    assert_failure(&out, 1, "this split, for the data as loaded");
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn a_label_past_the_model_classes_names_the_file_and_line() {
    let mut rows = String::new();
    for i in 0..700 {
        rows.push_str(&format!("{i},1,{}\n", i % 3));
    }
    rows.push_str("700,1,2.5\n");
    let dir = setup(&program("split  train 1", 3), &rows);
    let out = knit(dir.path(), &["train", "p.net"]);
    assert_failure(
        &out,
        1,
        "data.csv: line 701, column 3: the label is 2.5; expected a class index, an integer in \
         0..3 (the model predicts 3 classes)",
    );
    let dir = setup(&program("split  train 1", 3), "1,2,0\n3,4,3\n");
    let out = knit(dir.path(), &["train", "p.net"]);
    assert_failure(&out, 1, "data.csv: line 2, column 3: the label is 3;");
}

#[test]
fn special_files_as_data_are_check_errors() {
    let dir = setup(&program("split  train 1", 2), "1,2,0\n");
    let text = program("split  train 1", 2).replace("\"data.csv\"", "\"/dev/zero\"");
    std::fs::write(dir.path().join("zero.net"), text).unwrap();
    let out = knit(dir.path(), &["check", "zero.net"]);
    assert_failure(
        &out,
        1,
        "data file /dev/zero is a character device, not a regular file",
    );
    let fifo = dir.path().join("split.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let text = program("split  indices(\"split.json\", train: \"train\")", 2);
    std::fs::write(dir.path().join("fifo.net"), text).unwrap();
    let out = knit(Path::new(dir.path()), &["check", "fifo.net"]);
    assert_failure(
        &out,
        1,
        "split.json is a named pipe (FIFO), not a regular file",
    );
}
