//! Splits given as lists of row indices in a JSON file, for reproducing someone else's split
//! exactly (a paper's, or a reference run's in another framework).
//!
//! The file is a JSON object whose values are arrays of 0-based row indices into the main
//! source (the header of a CSV file excluded); other entries (a `"note"`, say) are ignored:
//!
//! ```json
//! { "note": "stratified 80/20", "train": [0, 3, 4], "test": [1, 2] }
//! ```
//!
//! Each part is returned in increasing row order, like a fraction split's; a row may not be
//! in two parts (that would leak test examples into training).

use std::path::Path;

use crate::split::Partition;
use crate::{DataError, IndexSplit, Limit};

/// Reads the parts `spec` names from its file, for a main source of `examples` rows.
///
/// The training key must exist. A validation or test key given explicitly must exist too; the
/// default keys (`"validation"`, `"test"`) are used only when the file has them.
///
/// The file must be a regular file (a FIFO or a device is refused without waiting on it)
/// of at most the default [`Limit`].
pub fn partition_by_indices(
    spec: &IndexSplit,
    base_dir: &Path,
    examples: usize,
) -> Result<Partition, DataError> {
    partition_within(spec, base_dir, examples, Limit::default())
}

/// [`partition_by_indices`], the file read within `limit` bytes.
pub(crate) fn partition_within(
    spec: &IndexSplit,
    base_dir: &Path,
    examples: usize,
    limit: Limit,
) -> Result<Partition, DataError> {
    let path = base_dir.join(&spec.path);
    let text = knit_io::read_text_bounded(&path, limit.bytes).map_err(|e| match e {
        knit_io::FileError::TooLarge { .. } => limit.exceeded(&path, false),
        other => DataError::File(other),
    })?;
    let format = |message: String| DataError::IndexFile {
        path: path.clone(),
        message,
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format(format!("not valid JSON ({e})")))?;
    let object = json
        .as_object()
        .ok_or_else(|| format("expected a JSON object of index lists".into()))?;
    let rows = |key: &str, required: bool| -> Result<Vec<usize>, DataError> {
        let Some(value) = object.get(key) else {
            if !required {
                return Ok(Vec::new());
            }
            let mut available: Vec<String> = object
                .iter()
                .filter(|(_, v)| v.is_array())
                .map(|(k, _)| k.clone())
                .collect();
            available.sort();
            return Err(DataError::IndexKey {
                path: path.clone(),
                key: key.to_string(),
                available,
            });
        };
        let list = value
            .as_array()
            .ok_or_else(|| format(format!("\"{key}\" is not a list of row indices")))?;
        let mut rows = Vec::with_capacity(list.len());
        for (position, item) in list.iter().enumerate() {
            let index = item.as_u64().ok_or_else(|| {
                format(format!(
                    "\"{key}\"[{position}] is {item}; expected a non-negative integer"
                ))
            })?;
            if index >= examples as u64 {
                return Err(DataError::IndexRange {
                    path: path.clone(),
                    key: key.to_string(),
                    position,
                    index,
                    examples,
                });
            }
            rows.push(index as usize);
        }
        rows.sort_unstable();
        if let Some(w) = rows.windows(2).find(|w| w[0] == w[1]) {
            return Err(format(format!("\"{key}\" lists row {} twice", w[0])));
        }
        Ok(rows)
    };
    // A validation or test list that the file has must list rows: the program was checked
    // expecting that set (early stopping on an empty validation set would fail mid-run).
    let part = |key: &Option<String>, default: &str| {
        let (name, required) = match key {
            Some(k) => (k.as_str(), true),
            None => (default, false),
        };
        let listed = rows(name, required)?;
        if listed.is_empty() && object.contains_key(name) {
            return Err(format(format!(
                "\"{name}\" lists no row; expected at least one (or leave the list out)"
            )));
        }
        Ok(listed)
    };
    let partition = Partition {
        train: rows(&spec.train, true)?,
        validation: part(&spec.validation, "validation")?,
        test: part(&spec.test, "test")?,
    };
    if partition.train.is_empty() {
        return Err(format(format!("\"{}\" lists no row", spec.train)));
    }
    let parts = [
        ("train", &partition.train),
        ("validation", &partition.validation),
        ("test", &partition.test),
    ];
    for (i, (first, a)) in parts.iter().enumerate() {
        for (second, b) in &parts[i + 1..] {
            if let Some(row) = a.iter().find(|r| b.binary_search(r).is_ok()) {
                return Err(format(format!(
                    "row {row} is in both the {first} and the {second} set"
                )));
            }
        }
    }
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn spec(train: &str, validation: Option<&str>, test: Option<&str>) -> IndexSplit {
        IndexSplit {
            path: PathBuf::from("split.json"),
            train: train.into(),
            validation: validation.map(Into::into),
            test: test.map(Into::into),
        }
    }

    fn read(json: &str, spec: &IndexSplit, examples: usize) -> Result<Partition, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("split.json"), json).unwrap();
        partition_by_indices(spec, dir.path(), examples).map_err(|e| {
            e.to_string()
                .replace(&dir.path().display().to_string(), "DIR")
        })
    }

    #[test]
    fn parts_come_sorted_and_default_keys_are_optional() {
        let p = read(
            r#"{"note": "x", "train": [4, 0, 2], "test": [3, 1]}"#,
            &spec("train", None, None),
            5,
        )
        .unwrap();
        assert_eq!(p.train, [0, 2, 4]);
        assert!(p.validation.is_empty());
        assert_eq!(p.test, [1, 3]);
    }

    #[test]
    fn named_keys_select_other_lists() {
        let p = read(
            r#"{"train": [0, 1, 2, 3], "small": [2, 0], "held": [4], "test": [5]}"#,
            &spec("small", Some("held"), None),
            6,
        )
        .unwrap();
        assert_eq!(
            (p.train, p.validation, p.test),
            (vec![0, 2], vec![4], vec![5])
        );
    }

    #[test]
    fn an_empty_validation_or_test_list_is_an_error() {
        assert_eq!(
            read(
                r#"{"train": [0], "validation": []}"#,
                &spec("train", None, None),
                5
            )
            .unwrap_err(),
            "DIR/split.json: \"validation\" lists no row; expected at least one (or leave the \
             list out)"
        );
        assert!(read(
            r#"{"train": [0], "held": []}"#,
            &spec("train", Some("held"), None),
            5
        )
        .unwrap_err()
        .contains("\"held\" lists no row"));
    }

    #[test]
    fn mistakes_are_reported_with_the_file_and_the_entry() {
        let s = spec("train", None, None);
        assert_eq!(
            read(r#"{"train": [0, 7]}"#, &s, 5).unwrap_err(),
            "DIR/split.json: \"train\"[1] is row 7, but the main source has 5 examples (rows 0 to 4)"
        );
        assert_eq!(
            read(r#"{"train": [0, -1]}"#, &s, 5).unwrap_err(),
            "DIR/split.json: \"train\"[1] is -1; expected a non-negative integer"
        );
        assert_eq!(
            read(r#"{"train": [0, 1], "test": [1]}"#, &s, 5).unwrap_err(),
            "DIR/split.json: row 1 is in both the train and the test set"
        );
        assert_eq!(
            read(
                r#"{"train": [0, 1], "b": [2], "a": [3]}"#,
                &spec("small", None, None),
                5
            )
            .unwrap_err(),
            "DIR/split.json: there is no list \"small\"; the file has \"a\", \"b\", \"train\""
        );
        assert_eq!(
            read(
                r#"{"train": [0], "test": [2]}"#,
                &spec("train", Some("val"), None),
                5
            )
            .unwrap_err(),
            "DIR/split.json: there is no list \"val\"; the file has \"test\", \"train\""
        );
        assert!(read("[1, 2]", &s, 5)
            .unwrap_err()
            .ends_with("expected a JSON object of index lists"));
        assert!(read("{\"train\": [1,", &s, 5)
            .unwrap_err()
            .starts_with("DIR/split.json: not valid JSON"));
        assert_eq!(
            read(r#"{"train": [1, 1]}"#, &s, 5).unwrap_err(),
            "DIR/split.json: \"train\" lists row 1 twice"
        );
    }
}
