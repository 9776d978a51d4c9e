//! The text a report shows of a file: lines longer than [`MAX_SHOWN_LINE`] bytes cut to a
//! window around their labels, and control characters (a NUL byte, an escape) drawn as
//! their visible symbols (`␀`, `␛`), so that a diagnostic on a 200 KB line stays a few lines
//! long and never writes raw control bytes to a terminal.

use crate::source::floor_char_boundary;

/// The longest line shown whole, in bytes.
pub(crate) const MAX_SHOWN_LINE: usize = 160;
/// Bytes kept before a label on a cut line.
const CONTEXT: usize = 60;
/// What stands for the cut part of a line.
const CUT: &str = "…";

/// A file's text as shown, and the map from offsets in the file to offsets in it.
pub(crate) struct Excerpt {
    /// The text to show.
    pub text: String,
    /// `(offset in the file, offset in the text, same bytes)`, sorted: from each mark to the
    /// next, the file's bytes are copied unchanged (`true`) or stand for one replacement
    /// (`false`: a cut or an escaped character).
    marks: Vec<(usize, usize, bool)>,
    /// The 1-based lines that were cut, with their length in bytes and the first byte shown.
    pub cut_lines: Vec<(usize, usize, usize)>,
}

impl Excerpt {
    /// The excerpt of `text` for labels at `spans` (byte ranges), or `None` when the text can
    /// be shown as it is.
    pub(crate) fn new(text: &str, spans: &[(usize, usize)]) -> Option<Excerpt> {
        let needs = text
            .split('\n')
            .any(|l| l.len() > MAX_SHOWN_LINE || l.chars().any(is_hidden));
        if !needs {
            return None;
        }
        let mut e = Excerpt {
            text: String::with_capacity(text.len().min(1 << 16)),
            marks: Vec::new(),
            cut_lines: Vec::new(),
        };
        let mut start = 0;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let content = line.strip_suffix('\n').unwrap_or(line);
            let (lo, hi) = window(content, start, spans);
            if lo > 0 || hi < content.len() {
                e.cut_lines.push((number + 1, content.len(), lo));
            }
            if lo > 0 {
                e.replace(start, CUT);
            }
            e.copy(start + lo, &content[lo..hi]);
            if hi < content.len() {
                e.replace(start + hi, CUT);
            }
            if line.len() > content.len() {
                e.copy(start + content.len(), "\n");
            }
            start += line.len();
        }
        e.marks.push((text.len(), e.text.len(), true));
        Some(e)
    }

    /// The offset in the shown text of `offset` in the file.
    pub(crate) fn map(&self, offset: usize) -> usize {
        let i = self
            .marks
            .partition_point(|m| m.0 <= offset)
            .saturating_sub(1);
        match self.marks.get(i) {
            Some(&(from, to, true)) => to + (offset - from),
            Some(&(_, to, false)) => to,
            None => 0,
        }
    }

    /// Copies `part` (from `offset` in the file), escaping hidden characters.
    fn copy(&mut self, offset: usize, part: &str) {
        let mut run_start: Option<usize> = None;
        for (i, c) in part.char_indices() {
            if is_hidden(c) {
                run_start = None;
                let symbol = char::from_u32(if c == '\u{7f}' {
                    0x2421
                } else {
                    0x2400 + c as u32
                })
                .unwrap_or('?');
                self.replace(offset + i, symbol.encode_utf8(&mut [0; 4]));
            } else if run_start.is_none() {
                run_start = Some(i);
                self.marks.push((offset + i, self.text.len(), true));
                self.text.push_str(&part[i..i + c.len_utf8()]);
            } else {
                self.text.push(c);
            }
        }
    }

    /// Shows `with` for the file's bytes from `offset` to the next mark.
    fn replace(&mut self, offset: usize, with: &str) {
        self.marks.push((offset, self.text.len(), false));
        self.text.push_str(with);
    }
}

/// Characters a terminal would not show as themselves (tabs are left alone).
fn is_hidden(c: char) -> bool {
    (c.is_ascii_control() && !matches!(c, '\t' | '\r' | '\n')) || c == '\u{7f}'
}

/// The byte range of `line` (starting at `start` in the file) to show: all of it when
/// short, else a window around the first label on it (or its beginning).
fn window(line: &str, start: usize, spans: &[(usize, usize)]) -> (usize, usize) {
    if line.len() <= MAX_SHOWN_LINE {
        return (0, line.len());
    }
    let end = start + line.len();
    let label = spans
        .iter()
        .filter(|(s, _)| (start..=end).contains(s))
        .map(|(s, _)| s - start)
        .min();
    let lo = floor_char_boundary(line, label.map_or(0, |s| s.saturating_sub(CONTEXT)));
    let hi = floor_char_boundary(line, (lo + MAX_SHOWN_LINE).min(line.len()));
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_clean_text_is_shown_as_it_is() {
        assert!(Excerpt::new("a = 1\nb = 2\n", &[(0, 1)]).is_none());
    }

    #[test]
    fn a_long_line_is_cut_around_its_label_and_offsets_follow() {
        let line = format!("let x = {}bad{}", "1".repeat(100_000), "2".repeat(100_000));
        let text = format!("seed 1\n{line}\nlet y = 2\n");
        let at = text.find("bad").unwrap();
        let e = Excerpt::new(&text, &[(at, at + 3)]).unwrap();
        assert!(e.text.len() < 400, "{} bytes shown", e.text.len());
        let shown = e.map(at);
        assert_eq!(&e.text[shown..shown + 3], "bad");
        assert_eq!(e.map(at + 3) - shown, 3);
        assert!(e.text.starts_with("seed 1\n…"));
        assert!(e.text.ends_with("…\nlet y = 2\n"));
        assert_eq!(e.cut_lines, vec![(2, line.len(), at - 7 - CONTEXT)]);
        let y = text.find("let y").unwrap();
        assert_eq!(&e.text[e.map(y)..], "let y = 2\n");
    }

    #[test]
    fn control_characters_are_drawn_as_symbols() {
        let text = "a\0b\u{1b}c\n";
        let e = Excerpt::new(text, &[(4, 5)]).unwrap();
        assert_eq!(e.text, "a␀b␛c\n");
        assert_eq!(&e.text[e.map(4)..e.map(5)], "c");
        assert_eq!(&e.text[e.map(1)..e.map(2)], "␀");
    }
}
