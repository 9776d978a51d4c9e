//! Rendering diagnostics: miette's graphical report (with or without colour) and a JSON form
//! for tools.

use crate::diagnostic::{Diagnostic, Severity};
use crate::excerpt::Excerpt;
use crate::source::{floor_char_boundary, FileId, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{json, Value};
use std::fmt;

/// How to draw reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode box drawing with ANSI colours (a terminal).
    Color,
    /// Unicode box drawing without colours (files, pipes, snapshots).
    Plain,
}

/// One file's part of a diagnostic, as miette sees it.
#[derive(Debug)]
struct Part {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Part>,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Part {}

impl miette::Diagnostic for Part {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty())
            .then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = LabeledSpan>>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic))
                as Box<dyn Iterator<Item = _>>
        })
    }
}

/// A span clamped to its file's text and to character boundaries, in the shown text.
fn clamp(text: &str, excerpt: Option<&Excerpt>, start: usize, end: usize) -> SourceSpan {
    let s = floor_char_boundary(text, start.min(text.len()));
    let e = floor_char_boundary(text, end.min(text.len())).max(s);
    match excerpt {
        Some(x) => SourceSpan::new(x.map(s).into(), x.map(e) - x.map(s)),
        None => SourceSpan::new(s.into(), e - s),
    }
}

fn part(sources: &SourceMap, d: &Diagnostic) -> Part {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut files: Vec<FileId> = Vec::new();
    for l in &d.labels {
        if !files.contains(&l.file) {
            files.push(l.file);
        }
    }
    let excerpts: Vec<Option<Excerpt>> = files
        .iter()
        .map(|&file| {
            let spans: Vec<(usize, usize)> = d
                .labels
                .iter()
                .filter(|l| l.file == file)
                .map(|l| (l.span.start, l.span.end))
                .collect();
            Excerpt::new(&sources.get(file).text, &spans)
        })
        .collect();
    let excerpt_of = |file: FileId| {
        files
            .iter()
            .position(|&f| f == file)
            .and_then(|i| excerpts[i].as_ref())
    };
    let labels_in = |file: FileId, primary: bool| -> Vec<LabeledSpan> {
        let text = &sources.get(file).text;
        d.labels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.file == file)
            .map(|(i, l)| {
                let span = clamp(text, excerpt_of(file), l.span.start, l.span.end);
                if i == 0 && primary {
                    LabeledSpan::new_primary_with_span(Some(l.text.clone()), span)
                } else {
                    LabeledSpan::new_with_span(Some(l.text.clone()), span)
                }
            })
            .collect()
    };
    let named = |file: FileId| {
        let f = sources.get(file);
        let text = excerpt_of(file).map_or_else(|| f.text.clone(), |x| x.text.clone());
        NamedSource::new(f.name.clone(), text)
    };
    let related = files
        .iter()
        .skip(1)
        .map(|&file| Part {
            message: format!("see also {}", sources.get(file).name),
            code: None,
            severity: miette::Severity::Advice,
            help: None,
            source: Some(named(file)),
            labels: labels_in(file, false),
            related: vec![],
        })
        .collect();
    Part {
        message: d.message.clone(),
        code: Some(d.code.as_str().to_string()),
        severity,
        help: with_cut_note(d.help.clone(), files.first().and_then(|&f| excerpt_of(f))),
        source: files.first().map(|&f| named(f)),
        labels: files
            .first()
            .map(|&f| labels_in(f, true))
            .unwrap_or_default(),
        related,
    }
}

/// `help`, followed by where the shown lines were cut, so that the column miette prints
/// (counted in the shown text) can be read against the file.
fn with_cut_note(help: Option<String>, excerpt: Option<&Excerpt>) -> Option<String> {
    let cuts = excerpt.map(|x| x.cut_lines.as_slice()).unwrap_or_default();
    if cuts.is_empty() {
        return help;
    }
    let notes: Vec<String> = cuts
        .iter()
        .take(3)
        .map(|(line, len, from)| match from {
            0 => format!("line {line} has {len} bytes, shown in part"),
            _ => format!(
                "line {line} has {len} bytes, shown from byte {} (its columns count from there)",
                from + 1
            ),
        })
        .collect();
    let note = format!("({})", notes.join("; "));
    Some(match help {
        Some(h) => format!("{h}\n{note}"),
        None => note,
    })
}

/// A diagnostic drawn with its source lines, `file:line:col`, labels, code and hint.
pub fn render(sources: &SourceMap, d: &Diagnostic, style: Style) -> String {
    let theme = match style {
        Style::Color => GraphicalTheme::unicode(),
        Style::Plain => GraphicalTheme::unicode_nocolor(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(110)
        .with_links(false);
    let mut out = String::new();
    let report = part(sources, d);
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", d.code, d.message);
    }
    out
}

/// A diagnostic as JSON: severity, code, message, help, and labels with file, line and column
/// (1-based) and byte offsets.
pub fn to_json(sources: &SourceMap, d: &Diagnostic) -> Value {
    let labels: Vec<Value> = d
        .labels
        .iter()
        .map(|l| {
            let f = sources.get(l.file);
            let (line, column) = f.line_col(l.span.start);
            let (end_line, end_column) = f.line_col(l.span.end);
            json!({
                "file": f.name, "line": line, "column": column, "end_line": end_line, "end_column": end_column,
                "start": l.span.start, "end": l.span.end, "text": l.text,
            })
        })
        .collect();
    json!({
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "code": d.code.as_str(),
        "message": d.message,
        "help": d.help,
        "labels": labels,
    })
}
