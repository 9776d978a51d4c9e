//! An experiment file compiled into a [`Plan`] with the study's seed, and its data loaded: the
//! library calls `knit train` makes, without the binary.

use crate::StudyError;
use knit_data::Splits;
use knit_dsl::ast::{Item, TrainKind};
use knit_dsl::render::{render, Style};
use knit_dsl::source::FileId;
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

/// `text` with its program seed replaced by `seed`: the top-level `seed N`, else the train
/// block's `seed N`, else a `seed` line added at the top. The seed drives initialization,
/// so it must be set in the text, before compiling (as `knit train --seed` does). Text that
/// does not parse is returned unchanged, so that checking it reports the syntax errors.
pub fn with_seed(text: &str, seed: u64) -> String {
    let (program, diags) = knit_dsl::parse(FileId(0), text);
    if diags.has_errors() {
        return text.to_string();
    }
    let top = program.items.iter().find_map(|item| match item {
        Item::Seed(s) => Some(s.value.span()),
        _ => None,
    });
    let in_train = program.items.iter().find_map(|item| match item {
        Item::Train(t) => t.settings.iter().find_map(|s| match &s.kind {
            TrainKind::Seed(e) => Some(e.span()),
            _ => None,
        }),
        _ => None,
    });
    let mut out = text.to_string();
    match top.or(in_train) {
        Some(span) => out.replace_range(span.start..span.end, &seed.to_string()),
        None => out.insert_str(0, &format!("seed {seed}\n")),
    }
    out
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
    let outcome = knit_dsl::check_source(path, &with_seed(text, seed));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_level_seed_is_replaced() {
        let text = "seed 7\nlet k = 1\n";
        assert_eq!(with_seed(text, 12), "seed 12\nlet k = 1\n");
    }

    #[test]
    fn a_seed_is_added_when_the_program_has_none() {
        assert_eq!(with_seed("let k = 1\n", 3), "seed 3\nlet k = 1\n");
    }
}
