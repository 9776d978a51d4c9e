//! Command-line overrides of a program, applied to its text before it is checked: a new seed
//! (`knit train --seed 3`) and new values (`--set hidden=256`, `--set epochs=5`). Editing the
//! text, rather than the compiled plan, means checking, initialization and the resolved
//! program (`plan.program`) all see the overrides, and a bad value gets a diagnostic like
//! any other.

use crate::ast::{Item, Program, TrainKind};
use crate::diagnostic::Severity;
use crate::parser::TRAIN_SETTINGS;
use crate::source::FileId;

/// The `train` block settings a block may give several times (or, for `seed`, that
/// [`Overrides::seed`] sets): [`Overrides::set`] cannot replace them.
const NOT_SETTABLE: [&str; 6] = [
    "penalty",
    "lr_mult",
    "weight_decay",
    "freeze",
    "tie",
    "seed",
];

/// The `train` block settings [`Overrides::set`] can replace (or add), in the reference's
/// order: those a block gives at most once.
pub fn settable() -> impl Iterator<Item = &'static str> {
    TRAIN_SETTINGS
        .into_iter()
        .filter(|s| !NOT_SETTABLE.contains(s))
}

/// Overrides of a program's text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces the program's seed (top-level, else the train block's; added if absent).
    pub seed: Option<u64>,
    /// `key=value` pairs: each replaces the value of the top-level `let key`, or else the
    /// whole `key` line of every `train` block (added when a block has none).
    pub set: Vec<String>,
    /// Replaces the epoch count of every `train` block's `epochs` line, keeping the rest of
    /// the line (its early stopping), after `set` (`knit train --epochs N`); a block without
    /// the line gains `epochs N`.
    pub epochs: Option<u64>,
}

/// Why overrides cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// A `set` entry without `=`.
    #[error("--set {0:?}: expected key=value (a top-level `let` constant or a train setting)")]
    NotKeyValue(String),
    /// A value that makes the program's text unparseable (`--set hidden=abc(`).
    #[error("--set {key}={value}: the value is not valid here: {message}")]
    BadValue {
        /// The key given.
        key: String,
        /// The value given.
        value: String,
        /// What the parser says of the program with this value.
        message: String,
    },
    /// A key that is neither a constant nor a settable train setting.
    #[error(
        "--set {key}: the program has no top-level `let {key}` (its constants: {}) and `{key}` \
         is not a train setting (those: {})",
        if constants.is_empty() { "none".to_string() } else { constants.join(", ") },
        settable().collect::<Vec<_>>().join(", ")
    )]
    UnknownKey {
        /// The key given.
        key: String,
        /// The program's top-level constants.
        constants: Vec<String>,
    },
}

/// `text` with `overrides` applied. Text that does not parse is returned unchanged, so that
/// checking it reports the syntax errors.
pub fn apply_overrides(text: &str, overrides: &Overrides) -> Result<String, OverrideError> {
    let text = apply_seed_and_sets(text, overrides)?;
    let Some(epochs) = overrides.epochs else {
        return Ok(text);
    };
    let (program, diags) = crate::parse(FileId(0), &text);
    if diags.has_errors() {
        return Ok(text);
    }
    let edits = program
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Train(t) => Some(
                match t.settings.iter().find_map(|s| match &s.kind {
                    TrainKind::Epochs { count, .. } => Some(count.span()),
                    _ => None,
                }) {
                    Some(span) => (span.start, span.end, epochs.to_string()),
                    None => {
                        let end = t.settings.last().map_or(t.span.start, |s| s.span.end);
                        (end, end, format!("\n  epochs {epochs}"))
                    }
                },
            ),
            _ => None,
        })
        .collect();
    Ok(edited(&text, edits))
}

/// The seed and `key=value` overrides of `overrides` applied to `text`.
fn apply_seed_and_sets(text: &str, overrides: &Overrides) -> Result<String, OverrideError> {
    if overrides.seed.is_none() && overrides.set.is_empty() {
        return Ok(text.to_string());
    }
    let (program, diags) = crate::parse(FileId(0), text);
    if diags.has_errors() {
        return Ok(text.to_string());
    }
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for set in &overrides.set {
        let Some((key, value)) = set.split_once('=') else {
            return Err(OverrideError::NotKeyValue(set.clone()));
        };
        let (key, value) = (key.trim(), value.trim());
        let constant = program.items.iter().find_map(|item| match item {
            Item::Let(l) if l.name.name == key => Some(l.value.span()),
            _ => None,
        });
        let own: Vec<(usize, usize, String)> = if let Some(span) = constant {
            vec![(span.start, span.end, value.to_string())]
        } else if settable().any(|s| s == key) {
            train_setting_edits(&program, key, value)
        } else {
            return Err(OverrideError::UnknownKey {
                key: key.to_string(),
                constants: program
                    .items
                    .iter()
                    .filter_map(|item| match item {
                        Item::Let(l) => Some(l.name.name.clone()),
                        _ => None,
                    })
                    .collect(),
            });
        };
        // Each value alone must leave a program that parses, so that a syntax error in a
        // value is reported against the `--set` that brought it, not at a line of the file.
        let (_, diags) = crate::parse(FileId(0), &edited(text, own.clone()));
        if let Some(d) = diags.items.iter().find(|d| d.severity == Severity::Error) {
            return Err(OverrideError::BadValue {
                key: key.to_string(),
                value: value.to_string(),
                message: d.message.clone(),
            });
        }
        edits.extend(own);
    }
    if let Some(seed) = overrides.seed {
        edits.push(seed_edit(&program, seed));
    }
    Ok(edited(text, edits))
}

/// `text` with every `(start, end, replacement)` edit applied (the edits do not overlap).
fn edited(text: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, value) in edits {
        out.replace_range(start..end, &value);
    }
    out
}

/// The edit that sets the program's seed: the top-level `seed N`, else the train block's,
/// else a `seed` line added at the top.
fn seed_edit(program: &Program, seed: u64) -> (usize, usize, String) {
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
    match top.or(in_train) {
        Some(span) => (span.start, span.end, seed.to_string()),
        None => (0, 0, format!("seed {seed}\n")),
    }
}

/// Edits that make every `train` block say `key value`: the line with that setting is
/// replaced, or a line is added after the block's last setting.
fn train_setting_edits(program: &Program, key: &str, value: &str) -> Vec<(usize, usize, String)> {
    program
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Train(t) => {
                let line = format!("{key} {value}");
                Some(match t.settings.iter().find(|s| s.kind.keyword() == key) {
                    Some(s) => (s.span.start, s.span.end, line),
                    None => {
                        let end = t.settings.last().map_or(t.span.start, |s| s.span.end);
                        (end, end, format!("\n  {line}"))
                    }
                })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "let hidden = 8\nmodel m(x: [2]) -> [2] {\n  out = x |> dense(hidden) |> dense(2)\n}\ntrain m on d {\n  epochs 3\n}\n";

    fn set(seed: Option<u64>, set: &[&str]) -> Result<String, OverrideError> {
        apply_overrides(
            PROGRAM,
            &Overrides {
                seed,
                set: set.iter().map(|s| s.to_string()).collect(),
                epochs: None,
            },
        )
    }

    #[test]
    fn an_epoch_count_replaces_only_the_count_or_adds_the_line() {
        let with_stop = "train m on d {\n  epochs 40, early_stop(patience: 5)\n}\n";
        let overrides = Overrides {
            epochs: Some(2),
            set: vec!["epochs=9, early_stop(patience: 1)".into()],
            ..Overrides::default()
        };
        assert_eq!(
            apply_overrides(with_stop, &overrides).unwrap(),
            "train m on d {\n  epochs 2, early_stop(patience: 1)\n}\n"
        );
        let overrides = Overrides {
            epochs: Some(2),
            ..Overrides::default()
        };
        assert_eq!(
            apply_overrides(with_stop, &overrides).unwrap(),
            "train m on d {\n  epochs 2, early_stop(patience: 5)\n}\n"
        );
        let without = "train m on d {\n  batch 8\n}\n";
        let overrides = Overrides {
            epochs: Some(3),
            ..Overrides::default()
        };
        assert_eq!(
            apply_overrides(without, &overrides).unwrap(),
            "train m on d {\n  batch 8\n  epochs 3\n}\n"
        );
    }

    #[test]
    fn constants_and_train_lines_are_replaced_or_added() {
        let out = set(Some(5), &["hidden = 16", "epochs=7", "clip=norm(1)"]).unwrap();
        assert_eq!(
            out,
            "seed 5\nlet hidden = 16\nmodel m(x: [2]) -> [2] {\n  out = x |> dense(hidden) |> dense(2)\n}\ntrain m on d {\n  epochs 7\n  clip norm(1)\n}\n"
        );
    }

    #[test]
    fn the_existing_seed_is_replaced() {
        let text = "seed 1\nlet a = 2\n";
        let out = apply_overrides(
            text,
            &Overrides {
                seed: Some(9),
                set: vec![],
                epochs: None,
            },
        );
        assert_eq!(out.unwrap(), "seed 9\nlet a = 2\n");
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            set(None, &["hidden"]).unwrap_err().to_string(),
            "--set \"hidden\": expected key=value (a top-level `let` constant or a train setting)"
        );
        assert_eq!(
            set(None, &["width=3"]).unwrap_err().to_string(),
            "--set width: the program has no top-level `let width` (its constants: hidden) and \
             `width` is not a train setting (those: loss, optimizer, schedule, batch, epochs, \
             clip, prune, adversarial, bagging, start, save, precision)"
        );
    }
}
