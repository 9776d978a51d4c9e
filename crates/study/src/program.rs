//! An experiment file compiled into a [`Plan`] with the study's seed, and its data loaded: the
//! library calls `knit train` makes, without the binary.

use crate::StudyError;
use knit_data::Splits;
use knit_dsl::render::{render, Style};
use knit_train::Plan;
use std::path::{Path, PathBuf};

/// A compiled experiment: its plan and data.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The file it came from (named in errors).
    pub path: PathBuf,
    /// The plan, initialized with the requested seed.
    pub plan: Plan,
    /// Its training, validation and test sets.
    pub splits: Splits,
}

/// Reads `path`.
fn read(path: &Path) -> Result<String, StudyError> {
    std::fs::read_to_string(path).map_err(|source| StudyError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads, checks and compiles `path` with the program seed `seed`.
pub fn compile(path: &Path, seed: u64) -> Result<Plan, StudyError> {
    compile_text(path, &read(path)?, seed)
}

/// Checks and compiles `text` as if read from `path` (imports and data paths are resolved
/// against its folder) with the program seed `seed`.
pub fn compile_text(path: &Path, text: &str, seed: u64) -> Result<Plan, StudyError> {
    // The seed drives initialization, so it is set in the text, as `knit train --seed` does.
    let overrides = knit_dsl::Overrides {
        seed: Some(seed),
        ..knit_dsl::Overrides::default()
    };
    let text = knit_dsl::apply_overrides(text, &overrides).expect("a seed alone always applies");
    let outcome = knit_dsl::check_source(path, &text);
    let diagnostics = &outcome.checked.diagnostics;
    if diagnostics.has_errors() {
        let rendered = diagnostics
            .items
            .iter()
            .filter(|d| d.is_error())
            .map(|d| render(&outcome.loaded.sources, d, Style::Plain))
            .collect();
        return Err(StudyError::Diagnostics {
            path: path.to_path_buf(),
            rendered,
        });
    }
    outcome.checked.plan.ok_or_else(|| StudyError::NoTrain {
        path: path.to_path_buf(),
    })
}

/// Compiles `path` with `seed` and loads its data.
pub fn load(path: &Path, seed: u64) -> Result<Experiment, StudyError> {
    load_text(path, &read(path)?, seed)
}

/// Compiles `text` as if read from `path` with `seed` and loads its data (knit-dsl already
/// resolved the data paths against the file's folder).
pub fn load_text(path: &Path, text: &str, seed: u64) -> Result<Experiment, StudyError> {
    let plan = compile_text(path, text, seed)?;
    let splits = knit_data::load(&plan.data, Path::new("")).map_err(|source| StudyError::Data {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    Ok(Experiment {
        path: path.to_path_buf(),
        plan,
        splits,
    })
}
