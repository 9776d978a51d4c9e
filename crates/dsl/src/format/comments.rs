//! Comments, found by scanning the text (the grammar skips them), so the formatter keeps them.

use crate::span::Span;

/// One `#` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// From `#` to the end of the line (without the line break).
    pub span: Span,
    /// Its text, `#` included, trailing spaces removed.
    pub text: String,
}

/// Every comment of `text` in order. A `#` inside a string literal starts no comment.
pub fn scan(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '#' => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let body = text[i..end].trim_end();
                out.push(Comment {
                    span: Span::new(i, i + body.len()),
                    text: body.to_string(),
                });
                for _ in text[i..end].chars().skip(1) {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings() {
        let found = scan("a # one\nsource \"x#y\" # two  \n#three");
        let texts: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# one", "# two", "#three"]);
    }
}
