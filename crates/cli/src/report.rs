//! Printing diagnostics: graphical on stderr (coloured on a terminal), or JSON.

use knit_dsl::render::{render, to_json, Style};
use knit_dsl::source::SourceMap;
use knit_dsl::Diagnostics;
use std::io::IsTerminal;

/// The drawing style for stderr: colour only on a terminal.
fn style() -> Style {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    }
}

/// Prints every diagnostic to stderr, then a count of errors and warnings.
pub fn print(sources: &SourceMap, diags: &Diagnostics) {
    let style = style();
    for d in &diags.items {
        eprint!("{}", render(sources, d, style));
    }
    let (e, w) = (diags.error_count(), diags.warning_count());
    if e > 0 {
        eprintln!(
            "{e} error{}{}",
            plural(e),
            if w > 0 {
                format!(", {w} warning{}", plural(w))
            } else {
                String::new()
            }
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The diagnostics as a JSON array.
pub fn json(sources: &SourceMap, diags: &Diagnostics) -> serde_json::Value {
    serde_json::Value::Array(diags.items.iter().map(|d| to_json(sources, d)).collect())
}
