//! Matching a saved list of named entries against the keys a configuration expects.

use crate::OptimError;
use std::collections::HashMap;

/// Returns the entry for each of `expected` keys, in `expected` order.
///
/// Errors: a key of `expected` absent from `given` ([`OptimError::MissingState`], reported
/// first), a key of `given` not in `expected` ([`OptimError::UnexpectedState`]), or a key
/// given twice ([`OptimError::DuplicateState`]).
pub(crate) fn match_entries<'a, V>(
    who: &'static str,
    expected: &[String],
    given: &'a [(String, V)],
) -> Result<Vec<&'a V>, OptimError> {
    let index: HashMap<&str, usize> = expected
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut found: Vec<Option<&'a V>> = vec![None; expected.len()];
    let mut unexpected = None;
    for (key, value) in given {
        match index.get(key.as_str()) {
            None => {
                unexpected.get_or_insert(key);
            }
            Some(&i) if found[i].is_some() => {
                return Err(OptimError::DuplicateState {
                    who,
                    key: key.clone(),
                });
            }
            Some(&i) => found[i] = Some(value),
        }
    }
    if let Some(i) = found.iter().position(Option::is_none) {
        return Err(OptimError::MissingState {
            who,
            key: expected[i].clone(),
        });
    }
    if let Some(key) = unexpected {
        return Err(OptimError::UnexpectedState {
            who,
            key: key.clone(),
        });
    }
    Ok(found.into_iter().flatten().collect())
}
