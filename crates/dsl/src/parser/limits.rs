//! Limits checked before parsing, so that no input can exhaust the stack or take long.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::FileId;
use crate::span::Span;

/// The largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// The most bytes a program and all its imports may hold together.
pub const MAX_PROGRAM_BYTES: usize = 4 << 20;
/// The deepest nesting of (), [] and {} accepted.
pub(crate) const MAX_NESTING: usize = 32;
/// The most operators accepted in one expression (bounds the depth of expression trees).
pub(crate) const MAX_OPERATORS: usize = 128;

/// A diagnostic if the text is beyond a limit.
pub(crate) fn check(file: FileId, text: &str) -> Option<Diagnostic> {
    if text.len() > MAX_FILE_BYTES {
        return Some(
            Diagnostic::error(
                Code::TooComplex,
                format!(
                    "the file has {} bytes; knit reads files of at most {MAX_FILE_BYTES}",
                    text.len()
                ),
            )
            .label(file, Span::new(0, 0), "this file")
            .help("split the program into files joined with `import`"),
        );
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut prev = '\0';
    for (i, c) in text.char_indices() {
        if c == '\n' {
            in_comment = false;
            in_string = false;
        } else if in_comment {
        } else if in_string {
            if c == '"' && prev != '\\' {
                in_string = false;
            }
        } else {
            match c {
                '#' => in_comment = true,
                '"' => in_string = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_NESTING {
                return Some(
                    Diagnostic::error(
                        Code::TooComplex,
                        format!("brackets nested more than {MAX_NESTING} deep"),
                    )
                    .label(file, Span::new(i, i + 1), "too deep"),
                );
            }
        }
        prev = c;
    }
    None
}
