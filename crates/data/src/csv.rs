//! CSV files: numbers separated by commas, an optional header row, one label column, plain
//! or gzip-compressed (detected from the first bytes).
//!
//! Fields are trimmed; quoted fields and CRLF line ends are accepted; blank lines are skipped.
//! Every data cell must parse as a finite number. Lines and columns in messages are 1-based.

use std::path::Path;

use ::csv::{ByteRecord, ErrorKind, ReaderBuilder, Trim};
use ndarray::{Array1, Array2};

use crate::dataset::Dataset;
use crate::input::{read_error, Input};
use crate::{huge_pages, DataError, Header, LabelColumn, LabelRule, Limit};

/// Loads a CSV file as a dataset: every column but `label` is a feature (`feature_dims` is
/// `[columns - 1]`); the label column gives the labels. Within the default [`Limit`], the
/// labels checked by [`LabelRule::Any`].
pub fn load_csv(path: &Path, label: &LabelColumn, header: Header) -> Result<Dataset, DataError> {
    load_csv_within(path, label, header, Limit::default(), LabelRule::Any)
}

/// [`load_csv`] within `limit` (decoded bytes, and bytes of values held), each label
/// checked by `rule` where it is read (a bad one names its line and column).
pub fn load_csv_within(
    path: &Path,
    label: &LabelColumn,
    header: Header,
    limit: Limit,
    rule: LabelRule,
) -> Result<Dataset, DataError> {
    let options = Options { limit, rule };
    let table = read_table(path, header, Some(label), options)?;
    let width = table.width;
    let (features, labels) = table.into_parts();
    Dataset::new(features, vec![width], Array1::from_vec(labels))
}

/// How a table is read: within a limit, its labels checked by a rule.
#[derive(Clone, Copy)]
struct Options {
    /// The most bytes decoded, and held as values.
    limit: Limit,
    /// What each label must be.
    rule: LabelRule,
}

/// Loads the features of a CSV file only (for predictions on new inputs): every column, or
/// every column but `label` when the file has a label column to ignore.
pub fn load_features_csv(
    path: &Path,
    header: Header,
    label: Option<&LabelColumn>,
) -> Result<Array2<f32>, DataError> {
    let options = Options {
        limit: Limit::default(),
        rule: LabelRule::Any,
    };
    Ok(read_table(path, header, label, options)?.into_parts().0)
}

/// The numbers of a CSV file, features and labels apart.
struct Table {
    /// Row-major features.
    features: Vec<f32>,
    /// One label per row (empty when no label column was asked for).
    labels: Vec<f32>,
    /// Number of data rows.
    rows: usize,
    /// Features per row.
    width: usize,
}

impl Table {
    /// The features as a `[rows, width]` matrix, and the labels.
    fn into_parts(self) -> (Array2<f32>, Vec<f32>) {
        let features = Array2::from_shape_vec((self.rows, self.width), self.features)
            .expect("read_table keeps rows × width features");
        (features, self.labels)
    }
}

/// What the first row of a file tells about all of them.
struct Layout {
    /// Fields per row.
    columns: usize,
    /// The header's names, when the first row is a header.
    names: Option<Vec<String>>,
    /// The 0-based label column, when one was asked for.
    label: Option<usize>,
    /// How the table is read.
    options: Options,
}

/// The cell's value, if it is a finite number.
fn number(cell: &[u8]) -> Option<f32> {
    std::str::from_utf8(cell)
        .ok()?
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
}

/// A CSV file being read record by record.
struct Records {
    /// The CSV reader over the decompressed bytes.
    reader: ::csv::Reader<knit_io::Bounded<Box<dyn std::io::Read>>>,
    /// The file, for messages.
    path: std::path::PathBuf,
    /// Whether the file is gzip-compressed, for messages.
    gzip: bool,
    /// The limit the stream is bounded by, for messages.
    limit: Limit,
}

impl Records {
    /// Reads the next record into `record`; `false` at the end of the file.
    fn next(&mut self, record: &mut ByteRecord) -> Result<bool, DataError> {
        self.reader.read_byte_record(record).map_err(|err| {
            let line = err.position().map_or(0, ::csv::Position::line);
            let message = err.to_string();
            match err.into_kind() {
                ErrorKind::Io(source) => read_error(&self.path, self.gzip, self.limit, source),
                _ => DataError::CsvSyntax {
                    path: self.path.clone(),
                    line,
                    message,
                },
            }
        })
    }
}

/// Reads the whole table, checking every row.
fn read_table(
    path: &Path,
    header: Header,
    label: Option<&LabelColumn>,
    options: Options,
) -> Result<Table, DataError> {
    let input = Input::open(path, options.limit)?;
    let gzip = input.gzip;
    let reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .from_reader(input.reader);
    let mut records = Records {
        reader,
        path: path.to_owned(),
        gzip,
        limit: options.limit,
    };
    let mut record = ByteRecord::new();
    if !records.next(&mut record)? {
        return Err(DataError::EmptyFile {
            path: path.to_owned(),
            expected: "a header or data rows",
        });
    }
    let line = record.position().map_or(0, ::csv::Position::line);
    let columns = record.len();
    let is_header = match header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => record.iter().any(|cell| number(cell).is_none()),
    };
    let names: Option<Vec<String>> = is_header.then(|| {
        record
            .iter()
            .map(|cell| String::from_utf8_lossy(cell).into_owned())
            .collect()
    });
    let label = label
        .map(|label| label_position(label, path, names.as_deref(), columns, line))
        .transpose()?;
    let layout = Layout {
        columns,
        names,
        label,
        options,
    };
    let width = columns - usize::from(label.is_some());
    let mut table = Table {
        features: Vec::new(),
        labels: Vec::new(),
        rows: 0,
        width,
    };
    let mut has_row = !is_header || records.next(&mut record)?;
    while has_row {
        push_row(&mut table, &record, &layout, path)?;
        has_row = records.next(&mut record)?;
    }
    if table.rows == 0 {
        return Err(DataError::NoExamples {
            path: path.to_owned(),
        });
    }
    table.features.shrink_to_fit();
    huge_pages::collapse(&table.features);
    Ok(table)
}

/// Checks one data row and appends its numbers to `table`.
fn push_row(
    table: &mut Table,
    record: &ByteRecord,
    layout: &Layout,
    path: &Path,
) -> Result<(), DataError> {
    let line = record.position().map_or(0, ::csv::Position::line);
    if record.len() != layout.columns {
        return Err(DataError::RaggedRow {
            path: path.to_owned(),
            line,
            found: record.len(),
            expected: layout.columns,
        });
    }
    for (j, cell) in record.iter().enumerate() {
        let Some(value) = number(cell) else {
            return Err(DataError::NotANumber {
                path: path.to_owned(),
                line,
                column: j + 1,
                name: layout.names.as_ref().map(|names| names[j].clone()),
                text: String::from_utf8_lossy(cell).into_owned(),
            });
        };
        if Some(j) == layout.label {
            if let Err(expected) = layout.options.rule.check(value) {
                return Err(DataError::BadLabel {
                    path: path.to_owned(),
                    place: format!("line {line}, column {}{}", j + 1, column_name(layout, j)),
                    value: String::from_utf8_lossy(cell).into_owned(),
                    expected,
                });
            }
            table.labels.push(value);
        } else {
            table.features.push(value);
        }
    }
    table.rows += 1;
    let held = (table.features.len() + table.labels.len()) * std::mem::size_of::<f32>();
    let limit = layout.options.limit;
    if held as u64 > limit.bytes {
        return Err(DataError::ValuesTooLarge {
            path: path.to_owned(),
            line,
            limit: limit.bytes,
            origin: limit.origin,
        });
    }
    Ok(())
}

/// " (\"name\")" for a column with a header name, nothing otherwise.
fn column_name(layout: &Layout, column: usize) -> String {
    match layout.names.as_ref().and_then(|names| names.get(column)) {
        Some(name) => format!(" ({name:?})"),
        None => String::new(),
    }
}

/// The 0-based position of the label column in rows of `columns` fields.
fn label_position(
    label: &LabelColumn,
    path: &Path,
    names: Option<&[String]>,
    columns: usize,
    line: u64,
) -> Result<usize, DataError> {
    if columns < 2 {
        return Err(DataError::TooFewColumns {
            path: path.to_owned(),
            line,
            found: columns,
        });
    }
    match label {
        LabelColumn::Last => Ok(columns - 1),
        LabelColumn::First => Ok(0),
        LabelColumn::Index(index) if *index < columns => Ok(*index),
        LabelColumn::Index(index) => Err(DataError::ColumnOutOfRange {
            path: path.to_owned(),
            index: *index,
            columns,
        }),
        LabelColumn::Name(name) => {
            let Some(names) = names else {
                return Err(DataError::NameWithoutHeader {
                    path: path.to_owned(),
                    name: name.clone(),
                });
            };
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| DataError::UnknownColumn {
                    path: path.to_owned(),
                    name: name.clone(),
                    columns: names.to_vec(),
                    suggestion: closest(name, names),
                })
        }
    }
}

/// The name in `names` closest to `name`, if it is close enough to be a likely typo.
fn closest(name: &str, names: &[String]) -> Option<String> {
    let wanted = name.to_lowercase();
    let limit = 1.max(wanted.chars().count() / 3);
    names
        .iter()
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(&wanted, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(b"1.5"), Some(1.5));
        assert_eq!(number(b"-2e3"), Some(-2000.0));
        assert_eq!(number(b"nan"), None);
        assert_eq!(number(b"inf"), None);
        assert_eq!(number(b""), None);
        assert_eq!(number(b"x"), None);
    }

    #[test]
    fn suggestions() {
        let names: Vec<String> = ["sepal", "label", "petal"].map(String::from).to_vec();
        assert_eq!(closest("lable", &names).as_deref(), Some("label"));
        assert_eq!(closest("Label", &names).as_deref(), Some("label"));
        assert_eq!(closest("target", &names), None);
    }
}
