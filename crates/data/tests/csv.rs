//! CSV loading: round trips of every header and label-column option, gzip, and each
//! malformed-file error by its message.

mod common;

use common::{gzip, scratch, write};
use knit_data::{load_csv, load_features_csv, DataError, Header, LabelColumn};
use ndarray::array;

const TABLE: &str = "a,b,label\n1,2,0\n3.5,-4,1\n5e1,6,2\n";

#[test]
fn header_is_detected_and_label_taken_from_the_last_column() {
    let dir = scratch();
    let path = write(dir.path(), "t.csv", TABLE.as_bytes());
    let data = load_csv(&path, &LabelColumn::Last, Header::Auto).unwrap();
    assert_eq!(data.features, array![[1.0, 2.0], [3.5, -4.0], [50.0, 6.0]]);
    assert_eq!(data.labels, array![0.0, 1.0, 2.0]);
    assert_eq!(data.feature_dims, vec![2]);
    assert_eq!(data.classes, Some(3));
}

#[test]
fn label_column_by_name_first_and_index() {
    let dir = scratch();
    let path = write(dir.path(), "t.csv", b"id,x,y\n7,1,0.5\n8,2,1.5\n");
    let by_name = load_csv(&path, &LabelColumn::Name("x".into()), Header::Yes).unwrap();
    assert_eq!(by_name.features, array![[7.0, 0.5], [8.0, 1.5]]);
    assert_eq!(by_name.labels, array![1.0, 2.0]);
    let first = load_csv(&path, &LabelColumn::First, Header::Auto).unwrap();
    assert_eq!(first.labels, array![7.0, 8.0]);
    assert_eq!(first.classes, Some(9));
    let index = load_csv(&path, &LabelColumn::Index(2), Header::Auto).unwrap();
    assert_eq!(index.labels, array![0.5, 1.5]);
    assert_eq!(
        index.classes, None,
        "real-valued labels are regression targets"
    );
}

#[test]
fn files_without_header() {
    let dir = scratch();
    let path = write(dir.path(), "t.csv", b"1,2,1\n3,4,0\n");
    for header in [Header::Auto, Header::No] {
        let data = load_csv(&path, &LabelColumn::Last, header).unwrap();
        assert_eq!(data.features, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(data.labels, array![1.0, 0.0]);
    }
    let data = load_csv(&path, &LabelColumn::Last, Header::Yes).unwrap();
    assert_eq!(data.len(), 1, "header = yes takes the first row as names");
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let dir = scratch();
    let plain = load_csv(
        &write(dir.path(), "p.csv", TABLE.as_bytes()),
        &LabelColumn::Last,
        Header::Auto,
    )
    .unwrap();
    for name in ["t.csv.gz", "compressed-without-suffix.csv"] {
        let path = write(dir.path(), name, &gzip(TABLE.as_bytes()));
        assert_eq!(
            load_csv(&path, &LabelColumn::Last, Header::Auto).unwrap(),
            plain
        );
    }
}

#[test]
fn quotes_blanks_crlf_and_blank_lines_are_accepted() {
    let dir = scratch();
    let path = write(
        dir.path(),
        "t.csv",
        b"\"a\", \"b c\" ,label\r\n 1 ,\"2\",0\r\n\r\n3,4,1\r\n",
    );
    let data = load_csv(&path, &LabelColumn::Name("label".into()), Header::Auto).unwrap();
    assert_eq!(data.features, array![[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(data.labels, array![0.0, 1.0]);
}

#[test]
fn features_only_with_and_without_a_label_column() {
    let dir = scratch();
    let path = write(dir.path(), "t.csv", TABLE.as_bytes());
    let all = load_features_csv(&path, Header::Auto, None).unwrap();
    assert_eq!(all.shape(), &[3, 3]);
    assert_eq!(all.column(2), array![0.0, 1.0, 2.0]);
    let features = load_features_csv(
        &path,
        Header::Auto,
        Some(&LabelColumn::Name("label".into())),
    )
    .unwrap();
    assert_eq!(features, array![[1.0, 2.0], [3.5, -4.0], [50.0, 6.0]]);
    let one_column = write(dir.path(), "one.csv", b"0.5\n1.5\n");
    assert_eq!(
        load_features_csv(&one_column, Header::Auto, None).unwrap(),
        array![[0.5], [1.5]]
    );
}

/// The message of loading `text` as `name` with the last column as label.
fn error(name: &str, text: &[u8], label: LabelColumn, header: Header) -> (DataError, String) {
    let dir = scratch();
    let path = write(dir.path(), name, text);
    let err = load_csv(&path, &label, header).unwrap_err();
    let message = err
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    (err, message)
}

#[test]
fn ragged_row_names_line_and_counts() {
    let mut text = String::from("a,b,c\n");
    for i in 0..15 {
        text.push_str(&format!("{i},1,0\n"));
    }
    text.push_str("9,9\n");
    let (err, message) = error("x.csv", text.as_bytes(), LabelColumn::Last, Header::Auto);
    assert!(matches!(
        err,
        DataError::RaggedRow {
            line: 17,
            found: 2,
            expected: 3,
            ..
        }
    ));
    assert_eq!(message, "x.csv: line 17 has 2 fields, expected 3");
}

#[test]
fn non_numeric_cell_names_line_column_and_text() {
    let (_, message) = error(
        "x.csv",
        b"a,b,label\n1,2,0\n1,two,1\n",
        LabelColumn::Last,
        Header::Auto,
    );
    assert_eq!(
        message,
        "x.csv: line 3, column 2 (\"b\"): expected a finite number, found \"two\""
    );
    let (_, message) = error("x.csv", b"1,2,0\n1,,1\n", LabelColumn::Last, Header::Auto);
    assert_eq!(
        message,
        "x.csv: line 2, column 2: expected a finite number, found \"\""
    );
    let (_, message) = error(
        "x.csv",
        b"1,2,0\n1,NaN,1\n",
        LabelColumn::Last,
        Header::Auto,
    );
    assert_eq!(
        message,
        "x.csv: line 2, column 2: expected a finite number, found \"NaN\""
    );
}

#[test]
fn unknown_label_name_lists_the_header_and_suggests() {
    let (err, message) = error(
        "x.csv",
        TABLE.as_bytes(),
        LabelColumn::Name("lable".into()),
        Header::Auto,
    );
    assert!(matches!(err, DataError::UnknownColumn { .. }));
    assert_eq!(
        message,
        "x.csv: no column named \"lable\" (did you mean \"label\"?); the header has \"a\", \"b\", \
         \"label\""
    );
    let (_, message) = error(
        "x.csv",
        TABLE.as_bytes(),
        LabelColumn::Name("target".into()),
        Header::Auto,
    );
    assert_eq!(
        message,
        "x.csv: no column named \"target\"; the header has \"a\", \"b\", \"label\""
    );
}

#[test]
fn label_name_without_header_and_index_out_of_range() {
    let (_, message) = error(
        "x.csv",
        b"1,2\n3,4\n",
        LabelColumn::Name("y".into()),
        Header::Auto,
    );
    assert_eq!(
        message,
        "x.csv: the label column is given by name (\"y\"), but the file has no header row; \
         expected a header, or give the column by position"
    );
    let (_, message) = error("x.csv", b"1,2\n3,4\n", LabelColumn::Index(5), Header::Auto);
    assert_eq!(
        message,
        "x.csv: label column index 5 (0-based) does not exist; the rows have 2 columns"
    );
    let (_, message) = error("x.csv", b"1\n3\n", LabelColumn::Last, Header::Auto);
    assert_eq!(
        message,
        "x.csv: line 1 has 1 column(s); expected at least 2 (features and a label)"
    );
}

#[test]
fn empty_files_and_header_only_files() {
    let (err, message) = error("x.csv", b"", LabelColumn::Last, Header::Auto);
    assert!(matches!(err, DataError::EmptyFile { .. }));
    assert_eq!(
        message,
        "x.csv: the file is empty; expected a header or data rows"
    );
    let (_, message) = error("x.csv", b"\n\n", LabelColumn::Last, Header::Auto);
    assert_eq!(
        message,
        "x.csv: the file is empty; expected a header or data rows"
    );
    let (_, message) = error("x.csv", b"a,b\n", LabelColumn::Last, Header::Auto);
    assert_eq!(message, "x.csv: no examples; expected at least one");
    let (_, message) = error("x.csv.gz", &gzip(b""), LabelColumn::Last, Header::Auto);
    assert_eq!(
        message,
        "x.csv.gz: the file is empty; expected a header or data rows"
    );
}

#[test]
fn missing_file_and_corrupt_gzip() {
    let dir = scratch();
    let missing = dir.path().join("nope.csv");
    let err = load_csv(&missing, &LabelColumn::Last, Header::Auto).unwrap_err();
    assert!(err
        .to_string()
        .starts_with(&format!("{}: cannot open the file:", missing.display())));
    let mut broken = gzip(TABLE.as_bytes());
    broken.truncate(broken.len() / 2);
    let path = write(dir.path(), "broken.csv.gz", &broken);
    let err = load_csv(&path, &LabelColumn::Last, Header::Auto).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}: cannot decompress the gzip data:",
            path.display()
        )),
        "{err}"
    );
}
