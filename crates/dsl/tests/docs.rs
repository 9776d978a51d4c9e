//! The code blocks of `docs/language.md` are checked: a `net` block must check without error,
//! a `net error=CODE` block must fail with that code.

use knit_dsl::check_text;
use std::path::Path;

/// The `net` blocks of a markdown text: (info string, code, line).
fn blocks(markdown: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String, usize)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) if info.starts_with("net") => {
                current = Some((info.to_string(), String::new(), i + 1))
            }
            (Some(_), Some("")) => out.extend(current.take()),
            (Some((_, code, _)), _) => {
                code.push_str(line);
                code.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_block_of_the_reference_checks_as_marked() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/language.md");
    let markdown = std::fs::read_to_string(&path).unwrap();
    let blocks = blocks(&markdown);
    assert!(blocks.len() >= 20, "only {} blocks", blocks.len());
    let mut failures = Vec::new();
    for (info, code, line) in blocks {
        let checked = check_text(Path::new("docs/example.net"), &code);
        let errors: Vec<&str> = checked
            .diagnostics
            .items
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.as_str())
            .collect();
        match info.strip_prefix("net error=") {
            Some(expected) if !errors.contains(&expected) => {
                failures.push(format!("line {line}: expected {expected}, got {errors:?}"))
            }
            None if !errors.is_empty() => {
                failures.push(format!("line {line}: {:?}", checked.diagnostics))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
