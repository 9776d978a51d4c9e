//! Text to syntax tree: pest's parser for `grammar.pest`, read item by item so that one
//! broken item does not hide the errors of the others, then converted to the typed AST.

mod build;
mod limits;
pub use limits::{MAX_FILE_BYTES, MAX_PROGRAM_BYTES};
mod syntax_error;

pub(crate) use syntax_error::TRAIN_SETTINGS;

use crate::ast::Program;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::FileId;
use crate::span::Span;
use pest::Parser as _;

/// The pest parser generated from `grammar.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
pub(crate) struct KnitParser;

/// The words that start a top-level item, where the parser resumes after a syntax error.
const ITEM_KEYWORDS: [&str; 8] = [
    "import", "seed", "let", "param", "data", "model", "block", "train",
];

/// Parses one file. Returns the items that parsed and a diagnostic for every item that did
/// not (the program is only checked further when there is none).
pub fn parse(file: FileId, text: &str) -> (Program, Diagnostics) {
    let mut program = Program::default();
    let mut diags = Diagnostics::default();
    if let Some(d) = limits::check(file, text) {
        diags.push(d);
        return (program, diags);
    }
    pest::set_error_detail(true);
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if KnitParser::parse(Rule::blank, rest).is_ok() {
            break;
        }
        match KnitParser::parse(Rule::item_line, rest) {
            Ok(mut pairs) => {
                let Some(line) = pairs.next() else { break };
                let consumed = line.as_span().end();
                match build::item_line(line, pos) {
                    Ok(item) => program.items.push(item),
                    Err(build::BuildError::Internal(message)) => diags.push(
                        Diagnostic::error(
                            Code::Syntax,
                            format!("internal parser error: {message}"),
                        )
                        .label(
                            file,
                            Span::new(pos, pos + consumed),
                            "while reading this item",
                        ),
                    ),
                    Err(build::BuildError::TooComplex(span)) => diags.push(
                        Diagnostic::error(
                            Code::TooComplex,
                            format!(
                                "more than {} operators in one expression",
                                limits::MAX_OPERATORS
                            ),
                        )
                        .label(file, span, "this expression")
                        .help("name parts of it with `let` or with named nodes"),
                    ),
                    Err(build::BuildError::NotFinite(span)) => diags.push(
                        Diagnostic::error(
                            Code::BadValue,
                            "this number is too large: it is beyond the range of a float (about 1.8e308)",
                        )
                        .label(file, span, "not a finite number"),
                    ),
                }
                if consumed == 0 {
                    break;
                }
                pos += consumed;
            }
            Err(error) => {
                let d = syntax_error::convert(file, text, pos, &error);
                let at = d.labels.first().map_or(text.len(), |l| l.span.start);
                diags.push(d);
                match next_item_start(text, at.max(pos + 1)) {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        }
    }
    (program, diags)
}

/// The start of the first line after `from` that begins (in column 1) with an item keyword.
fn next_item_start(text: &str, from: usize) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if start < from {
            continue;
        }
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ITEM_KEYWORDS.contains(&word.as_str()) {
            return Some(start);
        }
    }
    None
}
