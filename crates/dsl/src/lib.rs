//! # knit-dsl
//!
//! The `.net` language of knit: a grammar (`grammar.pest`), a typed syntax tree with byte
//! spans ([`ast`]), checks that report every error at once with file, line, column, labelled
//! spans, a code and a hint ([`diagnostic`], rendered by [`render`]), the canonical formatter
//! ([`format`]), the resolved program ([`explain_text`]) and the compiler to knit-train's
//! [`Plan`](knit_train::Plan).
//!
//! ```
//! use knit_dsl::{check_text, format_text};
//! use std::path::Path;
//!
//! let text = "model m(x: [2]) -> [2] {\n  out = x |> dense(8) |> relu |> dense(2)\n}\n";
//! let checked = check_text(Path::new("m.net"), text);
//! assert!(!checked.diagnostics.has_errors());
//! assert_eq!(checked.summary.models[0].params, 2 * 8 + 8 + 8 * 2 + 2);
//! assert_eq!(format_text(text).unwrap(), text);
//! ```

#![warn(missing_docs)]

pub mod ast;
mod builtins;
mod check;
pub mod diagnostic;
mod excerpt;
mod explain;
pub mod format;
mod loader;
mod overrides;
mod parser;
pub mod render;
mod seed;
pub mod source;
pub mod span;
pub mod suggest;

pub use check::{
    readable, thousands, Checked, LayerRow, ModelSummary, Summary, TrainSummary, MAX_EPOCHS,
};
pub use diagnostic::{Code, Diagnostic, Diagnostics, Label, Severity};
pub use loader::{load_file, load_text, read_error, read_source, Loaded, Module};
pub use overrides::{apply_overrides, settable, OverrideError, Overrides};
pub use parser::parse;
pub use seed::derive_seed;

use std::path::Path;

/// The outcome of checking a program: what was read and what checking found.
#[derive(Debug)]
pub struct Outcome {
    /// The files read (for rendering diagnostics).
    pub loaded: Loaded,
    /// Diagnostics, summary, plan and resolved program.
    pub checked: Checked,
}

/// Reads, parses and checks the program in `path` and everything it imports.
pub fn check_file(path: &Path) -> Outcome {
    let (loaded, diags) = load_file(path);
    finish(loaded, diags)
}

/// Parses and checks `text` as if read from `path` (its imports are read from disk).
pub fn check_text(path: &Path, text: &str) -> Checked {
    let (loaded, diags) = load_text(path, text);
    finish(loaded, diags).checked
}

/// Like [`check_text`], keeping the files read (to render the diagnostics).
pub fn check_source(path: &Path, text: &str) -> Outcome {
    let (loaded, diags) = load_text(path, text);
    finish(loaded, diags)
}

fn finish(loaded: Loaded, diags: Diagnostics) -> Outcome {
    if diags.has_errors() {
        let checked = Checked {
            diagnostics: diags,
            summary: Summary::default(),
            plan: None,
            explained: None,
        };
        return Outcome { loaded, checked };
    }
    let mut checked = check::check(&loaded);
    let mut all = diags;
    all.extend(checked.diagnostics);
    checked.diagnostics = all;
    Outcome { loaded, checked }
}

/// The canonical formatting of `text`, or its syntax errors.
pub fn format_text(text: &str) -> Result<String, Diagnostics> {
    let (program, diags) = parse(source::FileId(0), text);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(format::format_program(text, &program))
}

/// The resolved program of `path` (what `knit explain` prints), or the diagnostics that
/// prevent resolving it.
pub fn explain_text(outcome: &Outcome) -> Option<&str> {
    outcome.checked.explained.as_deref()
}
