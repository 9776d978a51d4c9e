//! Helpers shared by the CLI's end-to-end tests.
#![allow(dead_code)]

pub mod compose;
pub mod pytorch;

use std::path::Path;
use std::process::{Command, Output};

/// The absolute path of `name` under `dsl-examples/`, as text for an argument.
pub fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dsl-examples")
        .join(name)
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

/// Runs the built `knit` binary in `dir` with `args`, colours off.
pub fn knit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knit"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Bytes of an output stream as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that `out` exited with `code` and that its standard error contains `needle`.
pub fn assert_failure(out: &Output, code: i32, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
}
