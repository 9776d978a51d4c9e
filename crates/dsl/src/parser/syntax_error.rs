//! pest's parse errors, rewritten as knit diagnostics: positions in the whole file, friendly
//! names for what was expected, and a did-you-mean for a misspelled keyword.

use super::Rule;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{floor_char_boundary, FileId};
use crate::span::Span;
use crate::suggest::did_you_mean;
use pest::error::{Error, ErrorVariant, InputLocation};

/// The settings of a `train` block, in the order the reference lists them.
pub(crate) const TRAIN_SETTINGS: [&str; 18] = [
    "loss",
    "optimizer",
    "schedule",
    "batch",
    "epochs",
    "clip",
    "penalty",
    "lr_mult",
    "weight_decay",
    "freeze",
    "tie",
    "prune",
    "adversarial",
    "bagging",
    "start",
    "seed",
    "save",
    "precision",
];
/// The settings of a `data` block.
pub(crate) const DATA_SETTINGS: [&str; 8] = [
    "source",
    "validation_source",
    "test_source",
    "split",
    "scale",
    "seed",
    "limit",
    "augment",
];
/// The top-level items.
const ITEMS: [&str; 8] = [
    "import", "seed", "let", "param", "data", "model", "block", "train",
];

/// What the parser expected, in words.
#[derive(Default)]
struct Expected {
    keywords: Vec<String>,
    things: Vec<String>,
    operators: bool,
}

impl Expected {
    fn add_thing(&mut self, s: &str) {
        if !self.things.iter().any(|t| t == s) {
            self.things.push(s.to_string());
        }
    }

    fn add_keyword(&mut self, k: &str) {
        if !self.keywords.iter().any(|t| t == k) {
            self.keywords.push(k.to_string());
        }
    }

    fn add_rule(&mut self, rule: Rule) {
        let name = format!("{rule:?}");
        if let Some(k) = name.strip_prefix("kw_") {
            self.add_keyword(k);
            return;
        }
        match rule {
            Rule::pipe | Rule::add | Rule::sub | Rule::mul | Rule::div => self.operators = true,
            Rule::EOI => self.add_thing("end of file"),
            Rule::ident => self.add_thing("a name"),
            Rule::number => self.add_thing("a number"),
            Rule::string | Rule::string_inner => self.add_thing("a string in double quotes"),
            Rule::expr | Rule::paren | Rule::call | Rule::neg | Rule::boolean => {
                self.add_thing("a value or expression")
            }
            Rule::list => self.add_thing("a list such as [64]"),
            Rule::selector | Rule::selectors | Rule::start_selectors => {
                self.add_thing("a parameter selector such as *.weight")
            }
            Rule::body => self.add_thing("`{`"),
            Rule::assign => self.add_thing("a statement such as `h = x |> dense(64)`"),
            Rule::option => self.add_thing("an option such as `shuffle`"),
            Rule::split_part => self.add_thing("a part such as `train 0.8`"),
            Rule::scale_divide => self.add_thing("`x / <number>`"),
            Rule::block_param => self.add_thing("a parameter name"),
            Rule::arg => self.add_thing("an argument"),
            Rule::rename => self.add_keyword("rename"),
            Rule::on_clause => self.add_keyword("on"),
            Rule::retrain_clause => self.add_keyword("retrain"),
            Rule::floor_clause => self.add_keyword("floor"),
            Rule::scope_clause => self.add_keyword("scope"),
            Rule::bootstrap_clause => self.add_keyword("bootstrap"),
            Rule::combine_clause => self.add_keyword("combine"),
            Rule::program | Rule::item_line | Rule::blank => {
                for k in ITEMS {
                    self.add_keyword(k);
                }
            }
            _ => {}
        }
    }

    fn add_token(&mut self, token: &str) {
        match token {
            "\n" | "\r\n" | "\r" => self.add_thing("the end of the line"),
            "|>" | "+" | "-" | "*" | "/" => self.operators = true,
            // Spaces and comments fit anywhere; ranges and word characters are parts of
            // names and numbers, which the rules already name.
            " " | "\t" | "#" | "." | "?" | "_" => {}
            t if t.contains("..") && t.chars().count() == 4 => {}
            t if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {}
            t => self.add_thing(&format!("`{t}`")),
        }
    }

    /// Drops what a broader expectation already covers.
    fn simplify(&mut self) {
        if self.things.iter().any(|t| t == "a value or expression") {
            let covered = [
                "a list such as [64]",
                "a number",
                "a string in double quotes",
                "a name",
                "`\"`",
                "`(`",
                "`[`",
                "the end of the line",
            ];
            self.things.retain(|t| !covered.contains(&t.as_str()));
        }
    }

    /// The expected settings group, if the keywords are those of a block.
    fn group(&self) -> Option<(&'static str, &'static [&'static str])> {
        let has = |k: &str| self.keywords.iter().any(|x| x == k);
        if has("optimizer") && has("epochs") {
            Some(("a train setting", &TRAIN_SETTINGS))
        } else if has("source") && has("split") {
            Some(("a data setting", &DATA_SETTINGS))
        } else if has("model") && has("train") {
            Some(("an item", &ITEMS))
        } else {
            None
        }
    }

    fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match self.group() {
            Some((group, members)) => {
                parts.push(format!("{group} ({})", members.join(", ")));
                parts.extend(
                    self.keywords
                        .iter()
                        .filter(|k| !members.contains(&k.as_str()))
                        .map(|k| format!("`{k}`")),
                );
            }
            None => parts.extend(self.keywords.iter().map(|k| format!("`{k}`"))),
        }
        parts.extend(self.things.iter().cloned());
        if self.operators && parts.is_empty() {
            parts.push("an operator".into());
        }
        match parts.len() {
            0 => "something else".into(),
            1 => parts.remove(0),
            n => format!("{} or {}", parts[..n - 1].join(", "), parts[n - 1]),
        }
    }
}

/// Converts a pest error from parsing `text[base..]` into a diagnostic on the whole file.
pub(crate) fn convert(file: FileId, text: &str, base: usize, error: &Error<Rule>) -> Diagnostic {
    let mut at = base
        + match error.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let mut expected = Expected::default();
    match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().for_each(|r| expected.add_rule(*r))
        }
        ErrorVariant::CustomError { message } => {
            let at = floor_char_boundary(text, at.min(text.len()));
            return Diagnostic::error(Code::Syntax, message.clone()).label(
                file,
                Span::new(at, at),
                "here",
            );
        }
    }
    if let Some(attempts) = error.parse_attempts() {
        if base + attempts.max_position >= at {
            at = base + attempts.max_position;
            for token in attempts.expected_tokens() {
                expected.add_token(&token.to_string());
            }
        }
    }
    expected.simplify();
    let at = floor_char_boundary(text, at.min(text.len()));
    let (found_span, found) = token_at(text, at);
    let word = found
        .strip_prefix('`')
        .and_then(|f| f.strip_suffix('`'))
        .filter(|w| is_word(w));

    if let (Some(word), Some((group, members))) = (word, expected.group()) {
        let what = match group {
            "a train setting" => "setting in a `train` block",
            "a data setting" => "setting in a `data` block",
            _ => "item",
        };
        return Diagnostic::error(Code::UnknownSetting, format!("unknown {what}: `{word}`"))
            .label(file, found_span, format!("expected {group} here"))
            .help(match did_you_mean(word, members.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("{group} is one of: {}", members.join(", ")),
            });
    }
    let help = word.and_then(|w| did_you_mean(w, expected.keywords.iter().map(String::as_str)));
    let described = expected.describe();
    Diagnostic::error(Code::Syntax, format!("expected {described}, found {found}"))
        .label(file, found_span, format!("expected {described}"))
        .maybe_help(help.map(|s| format!("did you mean `{s}`?")))
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The token at `at` and how to name it.
fn token_at(text: &str, at: usize) -> (Span, String) {
    let rest = &text[at..];
    let Some(c) = rest.chars().next() else {
        return (Span::new(at, at), "the end of the file".into());
    };
    if c == '\n' || c == '\r' {
        return (Span::new(at, at), "the end of the line".into());
    }
    if c.is_ascii_alphanumeric() || c == '_' {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        return (Span::new(at, at + len), format!("`{}`", &rest[..len]));
    }
    (Span::new(at, at + c.len_utf8()), format!("`{c}`"))
}
