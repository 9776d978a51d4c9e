//! Helpers shared by the integration tests (included with `mod common;`).

#![allow(dead_code)]

use knit_dsl::render::{render, Style};
use knit_dsl::Outcome;
use std::path::{Path, PathBuf};

/// The `.net` files directly in `dir` (relative to this crate), sorted.
pub fn net_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .expect("test folder exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "net"))
            .collect();
    files.sort();
    files
}

/// The file's name without extension.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

/// `path` relative to the crate, as diagnostics should show it.
pub fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Every diagnostic of an outcome, drawn without colour.
pub fn rendered(outcome: &Outcome) -> String {
    outcome
        .checked
        .diagnostics
        .items
        .iter()
        .map(|d| render(&outcome.loaded.sources, d, Style::Plain))
        .collect()
}

/// Runs `f` with the crate folder as the working directory, so relative paths resolve the
/// same in every test process.
pub fn in_crate_dir<T>(f: impl FnOnce() -> T) -> T {
    let _ = std::env::set_current_dir(env!("CARGO_MANIFEST_DIR"));
    f()
}

/// The error messages (no warnings) of checking `text` as the file `path`.
pub fn error_messages(path: &Path, text: &str) -> Vec<String> {
    knit_dsl::check_text(path, text)
        .diagnostics
        .items
        .iter()
        .filter(|d| d.severity == knit_dsl::Severity::Error)
        .map(|d| d.message.clone())
        .collect()
}
