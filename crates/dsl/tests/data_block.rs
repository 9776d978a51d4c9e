//! The data block's `limit` line and its files: special files are refused at check time,
//! without blocking on them.

mod common;

use knit_dsl::{check_text, format_text};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// A fresh folder under the system's temporary folder, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("knit-dsl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A program whose data block is `data` and whose model fits 2 features and 2 classes.
fn program(data: &str) -> String {
    format!(
        "data d {{\n{data}\n}}\n\nmodel m(x: [2]) -> [2] {{\n  out = x |> dense(2)\n}}\n\n\
         train m on d {{\n  loss      cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch     4\n  \
         epochs    1\n}}\n"
    )
}

/// The error messages of checking `text` as `dir/p.net`.
fn errors(dir: &Path, text: &str) -> Vec<String> {
    common::error_messages(&dir.join("p.net"), text)
}

#[test]
fn a_limit_line_sets_the_data_limit_in_bytes() {
    let text = program("  source synthetic(moons, samples: 10)\n  limit  1.5 GiB");
    let checked = check_text(Path::new("p.net"), &text);
    let plan = checked.plan.expect("a plan");
    assert_eq!(plan.data.limit, Some(3 << 29));
    assert!(
        plan.program.contains("  limit  1.5 GiB\n"),
        "{}",
        plan.program
    );
    let plain = program("  source synthetic(moons, samples: 10)");
    let plan = check_text(Path::new("p.net"), &plain).plan.expect("a plan");
    assert_eq!(plan.data.limit, None);
}

#[test]
fn a_limit_needs_a_known_unit_and_a_positive_size() {
    let dir = Path::new(".");
    let missing = program("  source synthetic(moons, samples: 10)\n  limit  8");
    assert_eq!(errors(dir, &missing), ["`limit` needs a unit"]);
    let unknown = program("  source synthetic(moons, samples: 10)\n  limit  8 GB");
    assert_eq!(errors(dir, &unknown), ["unknown unit `GB`"]);
    let zero = program("  source synthetic(moons, samples: 10)\n  limit  0 MiB");
    assert_eq!(
        errors(dir, &zero),
        ["a data limit must be at least 1 byte and below 16 EiB, found 0 MiB"]
    );
    let twice = program("  source synthetic(moons, samples: 10)\n  limit 1 GiB\n  limit 2 GiB");
    assert_eq!(errors(dir, &twice), ["`limit` is given twice"]);
}

#[test]
fn the_formatter_keeps_a_limit_line() {
    let text = program("  source synthetic(moons, samples: 10)\n  limit  64 MiB");
    let formatted = format_text(&text).expect("formats");
    assert!(formatted.contains("  limit  64 MiB\n"), "{formatted}");
    assert_eq!(format_text(&formatted).unwrap(), formatted);
}

#[test]
fn devices_and_folders_as_data_files_are_errors() {
    let dir = Scratch::new("devices");
    let text = program("  source csv(\"/dev/zero\", label: last)");
    assert_eq!(
        errors(dir.path(), &text),
        ["data file /dev/zero is a character device, not a regular file"]
    );
    let text = program("  source csv(\".\", label: last)");
    let errs = errors(dir.path(), &text);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].ends_with("is a folder, not a regular file"),
        "{errs:?}"
    );
}

#[test]
fn a_fifo_as_an_index_file_is_an_error_and_check_does_not_wait() {
    let dir = Scratch::new("fifo");
    let fifo = dir.path().join("split.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let text = program(
        "  source synthetic(moons, samples: 10)\n  split  indices(\"split.json\", train: \"train\")",
    );
    let (tx, rx) = mpsc::channel();
    let path = dir.path().to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(errors(&path, &text));
    });
    let errs = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("knit check returns on a FIFO");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].ends_with("split.json is a named pipe (FIFO), not a regular file"),
        "{errs:?}"
    );
}
