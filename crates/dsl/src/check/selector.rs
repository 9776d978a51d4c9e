//! Parameter selectors: glob patterns over parameter names (`*` any characters, dots
//! included; `?` one character).

use crate::ast::Selector;
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::source::FileId;
use crate::suggest::did_you_mean;

/// Whether `name` matches `pattern`, and what each `*` matched.
pub(crate) fn captures(pattern: &str, name: &str) -> Option<Vec<String>> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let mut caps = Vec::new();
    matches(&p, &n, &mut caps).then(|| caps.into_iter().rev().collect())
}

fn matches(p: &[char], n: &[char], caps: &mut Vec<String>) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => {
            // Shortest match first, so `*.weight` captures `h1` in `h1.weight`.
            for k in 0..=n.len() {
                if matches(rest, &n[k..], caps) {
                    caps.push(n[..k].iter().collect());
                    return true;
                }
            }
            false
        }
        Some(('?', rest)) => !n.is_empty() && matches(rest, &n[1..], caps),
        Some((c, rest)) => n.first() == Some(c) && matches(rest, &n[1..], caps),
    }
}

/// `pattern` with its `*`s replaced by `caps` in order.
pub(crate) fn substitute(pattern: &str, caps: &[String]) -> String {
    let mut out = String::new();
    let mut k = 0;
    for c in pattern.chars() {
        if c == '*' {
            out.push_str(caps.get(k).map_or("", String::as_str));
            k += 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// The names matched by any of `sels`, in the order of `names`. A selector that matches
/// nothing is an error with the closest name as a hint.
pub(crate) fn resolve(
    sink: &mut Sink,
    file: FileId,
    sels: &[Selector],
    names: &[String],
) -> Option<Vec<String>> {
    let mut ok = true;
    let mut hit = vec![false; names.len()];
    for sel in sels {
        let mut any = false;
        for (i, name) in names.iter().enumerate() {
            if captures(&sel.pattern, name).is_some() {
                hit[i] = true;
                any = true;
            }
        }
        if !any {
            ok = false;
            sink.push(empty(file, sel, names));
        }
    }
    ok.then(|| {
        names
            .iter()
            .zip(hit)
            .filter(|(_, h)| *h)
            .map(|(n, _)| n.clone())
            .collect()
    })
}

/// The error for a selector that matches no parameter.
pub(crate) fn empty(file: FileId, sel: &Selector, names: &[String]) -> Diagnostic {
    let help = match did_you_mean(&sel.pattern, names.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
            let more = if names.len() > 8 { ", ..." } else { "" };
            format!("the parameters are: {}{more}", shown.join(", "))
        }
    };
    Diagnostic::error(
        Code::EmptySelector,
        format!("`{}` matches no parameter", sel.pattern),
    )
    .label(file, sel.span, "matches nothing")
    .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_across_dots() {
        assert!(captures("*.weight", "a.h1.weight").is_some());
        assert!(captures("h?.bias", "h2.bias").is_some());
        assert!(captures("h1.*", "h2.weight").is_none());
        assert_eq!(
            captures("a.*.weight", "a.h1.weight"),
            Some(vec!["h1".to_string()])
        );
        assert_eq!(substitute("b.*.weight", &["h1".to_string()]), "b.h1.weight");
    }
}
