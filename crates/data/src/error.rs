//! [`DataError`]: everything that can go wrong while loading, splitting or scaling data.
//!
//! Every message names the file (or the source, for generated data), the place in it — a
//! 1-based line and column for text files, a 0-based byte offset for binary ones (counted in
//! the decompressed bytes for gzip files) — and what was expected there.

use std::fmt::Write as _;
use std::path::PathBuf;

use thiserror::Error;

/// An error while reading, checking, splitting or scaling a dataset.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened, read or decompressed.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("open the file", "decompress the gzip data"...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A data file is not a regular file (a device, a FIFO, a folder), or cannot be opened.
    #[error(transparent)]
    File(#[from] knit_io::FileError),

    /// A file decodes (decompresses) to more bytes than the data limit allows.
    #[error(
        "{}: {} more than {} (at {}byte offset {limit}); expected at most {}",
        path.display(),
        if *gzip { "the gzip data decompresses to" } else { "the file holds" },
        crate::limit::bytes_text(*limit),
        if *gzip { "decompressed " } else { "" },
        origin.explain(*limit)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
        /// Where the limit comes from.
        origin: crate::LimitOrigin,
        /// Whether the bytes counted are decompressed gzip bytes.
        gzip: bool,
    },

    /// A text file's values, held as `f32`, pass the data limit.
    #[error(
        "{}: line {line}: the values read up to here take more than {} as f32; expected at \
         most {}",
        path.display(),
        crate::limit::bytes_text(*limit),
        origin.explain(*limit)
    )]
    ValuesTooLarge {
        /// The file.
        path: PathBuf,
        /// The 1-based line where the limit was passed.
        line: u64,
        /// The limit, in bytes.
        limit: u64,
        /// Where the limit comes from.
        origin: crate::LimitOrigin,
    },

    /// A header announces an array whose values would not fit within the data limit; refused
    /// before anything is allocated.
    #[error(
        "{}: byte offset {offset}: the header's dimensions {} make {values} values ({} as f32), \
         more than {}; expected at most {}",
        path.display(),
        dims_text(dims),
        crate::limit::bytes_text(values.saturating_mul(4)),
        crate::limit::bytes_text(*limit),
        origin.explain(*limit)
    )]
    ArrayTooLarge {
        /// The file.
        path: PathBuf,
        /// Where the dimensions are in the file.
        offset: u64,
        /// The dimensions the header gives.
        dims: Vec<u64>,
        /// Their product (saturated at `u64::MAX`).
        values: u64,
        /// The limit, in bytes.
        limit: u64,
        /// Where the limit comes from.
        origin: crate::LimitOrigin,
    },

    /// A label is not what the program needs (a class index below the model's class count).
    #[error("{}: {place}: the label is {value}; expected {expected}", path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Where: "line 701, column 65" for CSV, "byte offset 8 (label 0)" for binary files.
        place: String,
        /// The label as written (CSV) or decoded (binary files).
        value: String,
        /// What was expected.
        expected: String,
    },

    /// The file holds no bytes at all.
    #[error("{}: the file is empty; expected {expected}", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        expected: &'static str,
    },

    /// The file (or generated source) is well formed but holds no example.
    #[error("{}: no examples; expected at least one", path.display())]
    NoExamples {
        /// The file.
        path: PathBuf,
    },

    /// A CSV row has a different number of fields from the first row.
    #[error("{}: line {line} has {found} fields, expected {expected}", path.display())]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// The 1-based line where the row starts.
        line: u64,
        /// How many fields it has.
        found: usize,
        /// How many the first row has.
        expected: usize,
    },

    /// A CSV cell is not a finite number.
    #[error(
        "{}: line {line}, column {column}{}: expected a finite number, found {text:?}",
        path.display(),
        column_name(name)
    )]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The 1-based column.
        column: usize,
        /// The column's header name, if the file has a header.
        name: Option<String>,
        /// The cell's text.
        text: String,
    },

    /// The label column is named, but no header column has that name.
    #[error(
        "{}: no column named {name:?}{}; the header has {}",
        path.display(),
        did_you_mean(suggestion),
        list(columns)
    )]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The requested name.
        name: String,
        /// The header's names.
        columns: Vec<String>,
        /// The closest header name, if one is close.
        suggestion: Option<String>,
    },

    /// The label column is named, but the file has no header row.
    #[error(
        "{}: the label column is given by name ({name:?}), but the file has no header row; \
         expected a header, or give the column by position",
        path.display()
    )]
    NameWithoutHeader {
        /// The file.
        path: PathBuf,
        /// The requested name.
        name: String,
    },

    /// The label column position is past the last column.
    #[error(
        "{}: label column index {index} (0-based) does not exist; the rows have {columns} columns",
        path.display()
    )]
    ColumnOutOfRange {
        /// The file.
        path: PathBuf,
        /// The requested 0-based position.
        index: usize,
        /// How many columns the rows have.
        columns: usize,
    },

    /// A CSV file with labels has fewer than two columns.
    #[error(
        "{}: line {line} has {found} column(s); expected at least 2 (features and a label)",
        path.display()
    )]
    TooFewColumns {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the first row.
        line: u64,
        /// How many columns it has.
        found: usize,
    },

    /// The CSV reader rejected the text.
    #[error("{}: line {line}: {message}", path.display())]
    CsvSyntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The reader's message.
        message: String,
    },

    /// An IDX file does not start with a known magic number.
    #[error(
        "{}: byte offset 0: wrong magic number 0x{found:08X}; expected {expected}",
        path.display()
    )]
    IdxMagic {
        /// The file.
        path: PathBuf,
        /// The first four bytes, big-endian.
        found: u32,
        /// The magic number that was expected, explained.
        expected: &'static str,
    },

    /// An IDX file has the wrong number of dimensions for its role.
    #[error(
        "{}: byte offset 3: the {role} file has {found} dimension(s) (magic 0x{magic:08X}); \
         expected {expected}",
        path.display()
    )]
    IdxDims {
        /// The file.
        path: PathBuf,
        /// "images" or "labels".
        role: &'static str,
        /// The magic number read.
        magic: u32,
        /// The number of dimensions it declares.
        found: u8,
        /// What was expected.
        expected: &'static str,
    },

    /// A binary file ends before the data its header announces.
    #[error(
        "{}: truncated: the file ends at byte offset {found}, expected {expected} bytes ({what})",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The file's length in (decompressed) bytes: the offset where it ends.
        found: u64,
        /// The length its header implies.
        expected: u64,
        /// What the header announces ("8000 × 28 × 28 unsigned bytes after the 16-byte header").
        what: String,
    },

    /// A binary file has bytes after the data its header announces.
    #[error(
        "{}: {extra} unexpected byte(s) after the data at byte offset {offset}; expected the \
         file to end there ({what})",
        path.display()
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Where the data should end.
        offset: u64,
        /// How many bytes follow.
        extra: u64,
        /// What the header announces.
        what: String,
    },

    /// The features and the labels hold different numbers of examples.
    #[error(
        "{}: {features} examples, but {}: {labels} labels; expected the same count",
        features_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The features (images) file.
        features_path: PathBuf,
        /// How many examples it holds.
        features: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// How many labels it holds.
        labels: usize,
    },

    /// An array has a shape that does not fit its role.
    #[error("{}: the array has shape {found:?}; expected {expected}", path.display())]
    BadShape {
        /// The file.
        path: PathBuf,
        /// Its shape.
        found: Vec<usize>,
        /// What was expected.
        expected: &'static str,
    },

    /// A value read from a binary file is NaN or infinite.
    #[error(
        "{}: {} of example {example} is {value}; expected finite values",
        path.display(),
        feature_name(feature)
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The 0-based example.
        example: usize,
        /// The 0-based flattened feature, or `None` for the label.
        feature: Option<usize>,
        /// The value.
        value: f32,
    },

    /// A file does not start with the NPY magic string.
    #[error(
        "{}: byte offset 0: not an NPY file; expected the magic \"\\x93NUMPY\", found {found:?}",
        path.display()
    )]
    NpyMagic {
        /// The file.
        path: PathBuf,
        /// The first bytes, escaped.
        found: String,
    },

    /// An NPY file has a format version other than 1.0, 2.0 or 3.0.
    #[error(
        "{}: byte offset 6: NPY format version {major}.{minor}; expected 1.0, 2.0 or 3.0",
        path.display()
    )]
    NpyVersion {
        /// The file.
        path: PathBuf,
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },

    /// An NPY header dictionary is malformed.
    #[error("{}: byte offset {offset}: bad NPY header: {message}", path.display())]
    NpyHeader {
        /// The file.
        path: PathBuf,
        /// Where in the file the problem is.
        offset: u64,
        /// What was found and what was expected.
        message: String,
    },

    /// An NPY array has an element type knit does not read.
    #[error(
        "{}: byte offset {offset}: unsupported NPY dtype {descr:?}; expected a float (f4, f8), a \
         signed (i1, i2, i4, i8) or unsigned (u1, u2, u4, u8) integer or a bool (b1), in either \
         byte order",
        path.display()
    )]
    NpyDtype {
        /// The file.
        path: PathBuf,
        /// The byte offset of the `descr` value in the file.
        offset: u64,
        /// The `descr` field as written.
        descr: String,
    },

    /// A file is not a readable NPZ (zip) archive.
    #[error("{}: not a readable NPZ (zip) archive: {message}", path.display())]
    Archive {
        /// The file.
        path: PathBuf,
        /// The zip reader's message.
        message: String,
    },

    /// An NPZ archive has no array with the requested name.
    #[error("{}: no array named {name:?}; the archive has {}", path.display(), list(available))]
    NpzMember {
        /// The archive.
        path: PathBuf,
        /// The requested array.
        name: String,
        /// The arrays it holds.
        available: Vec<String>,
    },

    /// A split's index file is not a JSON object of lists of row indices.
    #[error("{}: {message}", path.display())]
    IndexFile {
        /// The index file.
        path: PathBuf,
        /// What is wrong, naming the list and position.
        message: String,
    },

    /// A split's index file has no list under the key the program names.
    #[error("{}: there is no list \"{key}\"; the file has {}", path.display(), list(available))]
    IndexKey {
        /// The index file.
        path: PathBuf,
        /// The key asked for.
        key: String,
        /// The keys holding lists, sorted.
        available: Vec<String>,
    },

    /// A split's index file names a row the main source does not have.
    #[error(
        "{}: \"{key}\"[{position}] is row {index}, but the main source has {examples} examples \
         (rows 0 to {})",
        path.display(),
        examples.saturating_sub(1)
    )]
    IndexRange {
        /// The index file.
        path: PathBuf,
        /// The list.
        key: String,
        /// The position in the list.
        position: usize,
        /// The row index found.
        index: u64,
        /// How many rows the main source has.
        examples: usize,
    },

    /// A set comes both from a separate source and from the split's index file.
    #[error(
        "split: the {which} set comes from a separate source and from {rows} rows of the \
         split's index file; expected one of them"
    )]
    IndexConflict {
        /// "validation" or "test".
        which: &'static str,
        /// How many rows the index file gives it.
        rows: usize,
    },

    /// A split fraction is outside [0, 1].
    #[error("split: the {which} fraction is {value}; expected a number in [0, 1]")]
    SplitFraction {
        /// "train", "validation" or "test".
        which: &'static str,
        /// The fraction.
        value: f64,
    },

    /// The split fractions do not sum to 1.
    #[error(
        "split: train {train} + validation {validation} + test {test} = {sum}; expected a sum of 1"
    )]
    SplitSum {
        /// Training fraction.
        train: f64,
        /// Validation fraction.
        validation: f64,
        /// Test fraction.
        test: f64,
        /// Their sum.
        sum: f64,
    },

    /// A set comes both from a separate source and from a split fraction.
    #[error(
        "split: the {which} set comes from a separate source and from a split fraction of \
         {fraction}; expected one of them (set the {which} fraction to 0)"
    )]
    SplitConflict {
        /// "validation" or "test".
        which: &'static str,
        /// The fraction given.
        fraction: f64,
    },

    /// A split with a positive fraction ends up with no example.
    #[error(
        "split: the {which} fraction {fraction} of {examples} examples gives no example; \
         expected at least one (use more data or a larger fraction)"
    )]
    EmptySplit {
        /// "train", "validation" or "test".
        which: &'static str,
        /// The fraction.
        fraction: f64,
        /// How many examples the main source has.
        examples: usize,
    },

    /// A stratified split was asked for real-valued labels.
    #[error(
        "split: a stratified split needs class labels (non-negative integers), but the main \
         source's labels are real-valued"
    )]
    StratifyRegression,

    /// A validation or test source's examples differ in shape from the main source's.
    #[error(
        "{source_name}: the {which} examples have shape {found:?}; expected {expected:?} like \
         the main source's"
    )]
    FeatureMismatch {
        /// The source.
        source_name: String,
        /// "validation" or "test".
        which: &'static str,
        /// Its per-example shape.
        found: Vec<usize>,
        /// The main source's per-example shape.
        expected: Vec<usize>,
    },

    /// A validation or test source has real-valued labels while the main source has classes.
    #[error(
        "{source_name}: the {which} labels are real-valued; expected class indices 0..{classes} \
         like the main source's"
    )]
    LabelKindMismatch {
        /// The source.
        source_name: String,
        /// "validation" or "test".
        which: &'static str,
        /// The main source's class count.
        classes: usize,
    },

    /// A synthetic generator's parameter is out of range.
    #[error("synthetic {kind}: {name} = {value}; expected {expected}")]
    SyntheticParam {
        /// The generator ("xor", "spirals", "moons", "blobs").
        kind: &'static str,
        /// The parameter.
        name: &'static str,
        /// Its value, as written.
        value: String,
        /// The valid range.
        expected: &'static str,
    },

    /// A synthetic set too large for the data limit, refused before it is generated.
    #[error(
        "synthetic {kind}: {samples} examples of {features} features take more than {} as \
         f32; expected at most {}",
        crate::limit::bytes_text(*limit),
        origin.explain(*limit)
    )]
    SyntheticSize {
        /// The generator.
        kind: &'static str,
        /// The examples asked for.
        samples: usize,
        /// Features per example.
        features: usize,
        /// The limit, in bytes.
        limit: u64,
        /// Where the limit comes from.
        origin: crate::LimitOrigin,
    },

    /// `Scaling::Divide` with a zero or non-finite divisor.
    #[error("scaling: divide by {value}; expected a finite, non-zero divisor")]
    DivideBy {
        /// The divisor.
        value: f64,
    },

    /// Features and labels given to [`crate::Dataset::new`] do not fit together.
    #[error(
        "dataset: {rows} feature rows of width {columns} with per-example shape \
         {feature_dims:?} and {labels} labels; expected one label per row and a shape whose \
         product is the width"
    )]
    DatasetShape {
        /// Rows of the feature matrix.
        rows: usize,
        /// Columns of the feature matrix.
        columns: usize,
        /// The per-example shape given.
        feature_dims: Vec<usize>,
        /// Number of labels.
        labels: usize,
    },

    /// Inputs have a different number of features from the fitted scaling.
    #[error("scaling: the inputs have {found} features, but the scaling was fitted on {expected}")]
    ScalerWidth {
        /// The fitted width.
        expected: usize,
        /// The inputs' width.
        found: usize,
    },

    /// Stored scaling arrays (from a checkpoint) are missing or inconsistent.
    #[error("stored feature scaling: {message}")]
    ScalerState {
        /// What is wrong and what was expected.
        message: String,
    },

    /// An augmentation's image shape or a transform's setting is out of range.
    #[error("augmentation: {message}")]
    Augmentation {
        /// What is wrong and what was expected.
        message: String,
    },
}

/// " (\"name\")" for a named column, nothing otherwise.
fn column_name(name: &Option<String>) -> String {
    name.as_ref()
        .map(|n| format!(" ({n:?})"))
        .unwrap_or_default()
}

/// " (did you mean \"x\"?)" when there is a suggestion.
fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default()
}

/// "the label" or "feature j".
fn feature_name(feature: &Option<usize>) -> String {
    match feature {
        Some(j) => format!("feature {j}"),
        None => "the label".to_owned(),
    }
}

/// "60000 × 28 × 28".
fn dims_text(dims: &[u64]) -> String {
    let text: Vec<String> = dims.iter().map(u64::to_string).collect();
    text.join(" × ")
}

/// How many names [`list`] shows before summarizing the rest.
const LISTED: usize = 12;

/// "no names", or up to [`LISTED`] quoted names and a count of the rest.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "no names".to_owned();
    }
    let mut out = String::new();
    for (i, name) in names.iter().take(LISTED).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{name:?}");
    }
    if names.len() > LISTED {
        let _ = write!(out, " and {} more", names.len() - LISTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_name_lists_are_summarized() {
        let names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let text = list(&names);
        assert!(text.starts_with("\"p0\", \"p1\""), "{text}");
        assert!(text.ends_with("\"p11\" and 8 more"), "{text}");
        assert_eq!(list(&[]), "no names");
    }

    #[test]
    fn not_a_number_names_the_column() {
        let err = DataError::NotANumber {
            path: "a.csv".into(),
            line: 3,
            column: 2,
            name: Some("p1".into()),
            text: "x".into(),
        };
        assert_eq!(
            err.to_string(),
            "a.csv: line 3, column 2 (\"p1\"): expected a finite number, found \"x\""
        );
    }
}
