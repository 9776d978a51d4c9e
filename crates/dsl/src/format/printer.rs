//! Line-level output: indentation, blank lines kept from the source (at most one), and the
//! source's comments put back before or after the line they belong to.

use super::comments::Comment;
use crate::span::Span;

/// Writes formatted lines and re-inserts comments by their position in the source.
pub(crate) struct Printer<'a> {
    source: &'a str,
    comments: Vec<Comment>,
    next: usize,
    /// End of the last source construct or comment written.
    last_end: usize,
    indent: usize,
    at_block_start: bool,
    out: String,
}

const INDENT: &str = "  ";

impl<'a> Printer<'a> {
    /// A printer for a file's text and its comments.
    pub(crate) fn new(source: &'a str, comments: Vec<Comment>) -> Self {
        Printer {
            source,
            comments,
            next: 0,
            last_end: 0,
            indent: 0,
            at_block_start: true,
            out: String::new(),
        }
    }

    /// The current indentation as text.
    pub(crate) fn indentation(&self) -> String {
        INDENT.repeat(self.indent)
    }

    /// Width of the current indentation.
    pub(crate) fn indent_width(&self) -> usize {
        INDENT.len() * self.indent
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        let (from, to) = (from.min(self.source.len()), to.min(self.source.len()));
        from < to
            && self
                .source
                .get(from..to)
                .is_some_and(|s| s.matches('\n').count() >= 2)
    }

    fn emit(&mut self, line: &str) {
        if !line.is_empty() {
            self.out.push_str(&self.indentation());
        }
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Writes the comments that start before `pos` on their own lines.
    fn flush_before(&mut self, pos: usize) {
        while let Some(c) = self.comments.get(self.next).cloned() {
            if c.span.start >= pos {
                break;
            }
            if !self.at_block_start && self.blank_between(self.last_end, c.span.start) {
                self.blank();
            }
            self.emit(&c.text);
            self.at_block_start = false;
            self.last_end = c.span.end;
            self.next += 1;
        }
    }

    /// Writes one construct of the source at `span` as `lines` (first line at the current
    /// indentation, further lines as given, already indented). Comments before it come first;
    /// comments inside its span go before it; a comment after it on the same line stays there.
    /// `force_blank` puts a blank line before it (between top-level blocks).
    pub(crate) fn construct(&mut self, span: Span, lines: &[String], force_blank: bool) {
        if force_blank && !self.at_block_start {
            self.blank();
        }
        self.flush_before(span.end);
        let blank =
            !self.at_block_start && !force_blank && self.blank_between(self.last_end, span.start);
        if blank {
            self.blank();
        }
        let trailing = self.comments.get(self.next).cloned().filter(|c| {
            self.source
                .get(span.end.min(c.span.start)..c.span.start)
                .is_some_and(|gap| !gap.contains('\n'))
        });
        for (i, line) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            match (&trailing, last) {
                (Some(c), true) => self.emit(&format!("{line}  {}", c.text)),
                _ => self.emit(line),
            }
        }
        if let Some(c) = trailing {
            self.last_end = c.span.end;
            self.next += 1;
        } else {
            self.last_end = span.end;
        }
        self.at_block_start = false;
    }

    /// Opens a braced block: what follows is indented one more level.
    pub(crate) fn open(&mut self) {
        self.indent += 1;
        self.at_block_start = true;
    }

    /// Closes a braced block at `close` (the span of its `}`), flushing the comments inside it.
    pub(crate) fn close(&mut self, close: Span) {
        self.flush_before(close.start);
        self.indent = self.indent.saturating_sub(1);
        self.at_block_start = true;
        self.construct(close, &["}".to_string()], false);
    }

    /// Flushes the remaining comments and returns the text.
    pub(crate) fn finish(mut self) -> String {
        self.flush_before(usize::MAX);
        self.out
    }
}
