//! Did-you-mean suggestions by edit distance.

/// The candidate closest to `name`, if it is close enough to be a typo: at most one edit per
/// three characters (and at least one), ties going to the first candidate.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        if name.len() >= 3 && c.starts_with(name) && best.is_none_or(|(bd, _)| bd > 0) {
            best = Some((0, c));
            continue;
        }
        let d = levenshtein(name, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// A help line: `did you mean `x`?` or the list of accepted names.
pub fn help_for<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
    what: &str,
) -> String {
    match did_you_mean(name, candidates.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = candidates.into_iter().collect();
            if all.is_empty() {
                format!("there are no {what}")
            } else {
                format!("{what}: {}", all.join(", "))
            }
        }
    }
}

/// Edit distance (insertions, deletions, substitutions and swaps of neighbours) between two
/// strings, by characters: the optimal string alignment distance.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("optimiser", ["optimizer", "epochs"]),
            Some("optimizer".into())
        );
        assert_eq!(did_you_mean("rleu", ["relu", "tanh"]), Some("relu".into()));
        assert_eq!(did_you_mean("softmax", ["relu", "tanh"]), None);
    }

    #[test]
    fn help_lists_candidates_when_nothing_is_close() {
        assert_eq!(help_for("zzz", ["a1", "b2"], "models"), "models: a1, b2");
        assert_eq!(help_for("a3", ["a1", "b2"], "models"), "did you mean `a1`?");
    }
}
