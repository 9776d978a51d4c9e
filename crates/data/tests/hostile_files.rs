//! Hostile data files, by class: special files, data past the limit (gzip bombs, headers
//! that announce huge arrays, archive members that lie about their size), malformed files of
//! every format, and bad labels. Each asserts the error's text: the file, the place and what
//! was wrong. Small bombs only (tens of MiB decoded against a low limit); nothing large is
//! written to disk.

mod common;

use common::*;
use knit_data::{
    load, load_csv_within, load_for, load_idx_within, load_npy_within, load_npz_within, parse_npy,
    DataSpec, Header, IndexSplit, LabelColumn, LabelRule, Limit, Scaling, Source, Split,
};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A low limit for the bombs: 1 MiB.
const LOW: u64 = 1 << 20;

/// The message of `result`'s error, with the scratch folder `dir` written as `DIR`.
fn message<T: std::fmt::Debug>(dir: &Path, result: Result<T, knit_data::DataError>) -> String {
    result
        .expect_err("an error")
        .to_string()
        .replace(&dir.display().to_string(), "DIR")
}

/// Runs `f` on another thread and fails the test if it has not returned within 10 s (a
/// loader that blocks on a FIFO never would).
fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the loader returns instead of waiting")
}

/// A named pipe at `dir/name`.
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let c = std::ffi::CString::new(path.to_str().expect("a UTF-8 path")).expect("no NUL");
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    path
}

/// A data spec for `source`, split as `split`.
fn spec(source: Source, split: Split) -> DataSpec {
    DataSpec {
        name: "d".into(),
        source,
        validation: None,
        test: None,
        split,
        indices: None,
        scaling: Scaling::None,
        seed: 1,
        limit: None,
    }
}

/// A CSV source with the label last and no header.
fn csv(path: PathBuf) -> Source {
    Source::Csv {
        path,
        label: LabelColumn::Last,
        header: Header::No,
    }
}

/// `train`/`validation`/`test` fractions, stratified or not.
fn split(train: f64, validation: f64, test: f64, stratified: bool) -> Split {
    Split {
        train,
        validation,
        test,
        stratified,
    }
}

/// A gzip bomb: `decoded` bytes of CSV rows `0.000000000000000,0` (20 bytes a row for two
/// values), compressed about a thousandfold.
fn csv_bomb(decoded: usize) -> Vec<u8> {
    let rows = ROW.repeat(decoded / ROW.len());
    gzip(rows.as_bytes())
}

/// A CSV row of long numbers: the text is larger than its values as `f32`.
const ROW: &str = "0.000000000000000,0\n";

// ------------------------------------------------------------------ special files

#[test]
fn devices_fifos_and_folders_are_refused_by_every_loader() {
    let dir = scratch();
    let zero = PathBuf::from("/dev/zero");
    let rule = LabelRule::Any;
    let limit = Limit::default();
    let expected = "/dev/zero: is a character device, not a regular file";
    let h = Header::Auto;
    assert_eq!(
        message(
            dir.path(),
            load_csv_within(&zero, &LabelColumn::Last, h, limit, rule)
        ),
        expected
    );
    assert_eq!(
        message(dir.path(), load_idx_within(&zero, &zero, limit, rule)),
        expected
    );
    assert_eq!(
        message(dir.path(), load_npy_within(&zero, &zero, limit, rule)),
        expected
    );
    assert_eq!(
        message(dir.path(), load_npz_within(&zero, "x", "y", limit, rule)),
        expected
    );
    let folder = dir.path().to_owned();
    assert_eq!(
        message(dir.path(), load_idx_within(&folder, &folder, limit, rule)),
        "DIR: is a folder, not a regular file"
    );
}

#[test]
fn a_fifo_as_a_data_file_is_refused_without_waiting_for_a_writer() {
    let dir = scratch();
    let pipe = fifo(dir.path(), "pipe.csv");
    let shown = dir.path().to_owned();
    let err = within_seconds(move || {
        let limit = Limit::default();
        message(
            &shown,
            load_csv_within(&pipe, &LabelColumn::Last, Header::No, limit, LabelRule::Any),
        )
    });
    assert_eq!(
        err,
        "DIR/pipe.csv: is a named pipe (FIFO), not a regular file"
    );
}

#[test]
fn a_fifo_or_a_device_as_an_index_file_is_refused_without_waiting() {
    let dir = scratch();
    write(dir.path(), "a.csv", b"1,0\n2,1\n3,0\n");
    let pipe = fifo(dir.path(), "split.json");
    for (index, expected) in [
        (
            pipe,
            "DIR/split.json: is a named pipe (FIFO), not a regular file",
        ),
        (
            PathBuf::from("/dev/zero"),
            "/dev/zero: is a character device, not a regular file",
        ),
    ] {
        let mut spec = spec(csv(dir.path().join("a.csv")), Split::default());
        spec.indices = Some(IndexSplit {
            path: index,
            train: "train".into(),
            validation: None,
            test: None,
        });
        let shown = dir.path().to_owned();
        let err = within_seconds(move || message(&shown, load(&spec, Path::new(""))));
        assert_eq!(err, expected);
    }
}

// ------------------------------------------------------------------ past the limit

#[test]
fn a_gzip_bomb_csv_stops_at_the_limit_while_decompressing() {
    let dir = scratch();
    let bomb = csv_bomb(64 << 20);
    assert!(bomb.len() < LOW as usize / 4, "the bomb is small on disk");
    let path = write(dir.path(), "bomb.csv.gz", &bomb);
    let err = message(
        dir.path(),
        load_csv_within(
            &path,
            &LabelColumn::Last,
            Header::No,
            Limit::exactly(LOW),
            LabelRule::Any,
        ),
    );
    assert_eq!(
        err,
        "DIR/bomb.csv.gz: the gzip data decompresses to more than 1 MiB (at decompressed byte \
         offset 1048576); expected at most 1 MiB, the data block's `limit`"
    );
}

#[test]
fn a_plain_csv_past_the_limit_is_refused() {
    let dir = scratch();
    let path = write(dir.path(), "big.csv", ROW.repeat(100).as_bytes());
    let err = message(
        dir.path(),
        load_csv_within(
            &path,
            &LabelColumn::Last,
            Header::No,
            Limit::exactly(1000),
            LabelRule::Any,
        ),
    );
    assert_eq!(
        err,
        "DIR/big.csv: the file holds more than 1000 bytes (at byte offset 1000); expected at \
         most 1000 bytes, the data block's `limit`"
    );
}

#[test]
fn a_limit_in_the_spec_applies_to_every_file() {
    let dir = scratch();
    write(dir.path(), "a.csv", ROW.repeat(100).as_bytes());
    let mut spec = spec(csv(dir.path().join("a.csv")), Split::default());
    spec.limit = Some(64);
    let err = message(dir.path(), load(&spec, Path::new("")));
    assert!(
        err.starts_with("DIR/a.csv: the file holds more than 64 bytes"),
        "{err}"
    );
}

#[test]
fn csv_values_held_past_the_limit_are_refused() {
    // Two bytes of text a value ("0,") take four as f32: the values pass the limit first.
    let dir = scratch();
    let path = write(dir.path(), "short.csv", "0,0\n".repeat(1000).as_bytes());
    let err = message(
        dir.path(),
        load_csv_within(
            &path,
            &LabelColumn::Last,
            Header::No,
            Limit::exactly(1000),
            LabelRule::Any,
        ),
    );
    assert_eq!(
        err,
        "DIR/short.csv: line 126: the values read up to here take more than 1000 bytes as f32; \
         expected at most 1000 bytes, the data block's `limit`"
    );
}

#[test]
fn a_gzip_bomb_idx_stops_at_the_limit() {
    let dir = scratch();
    // A header announcing 64 MiB of pixels, and the pixels, compressed to a few KiB.
    let mut raw = idx(0x08, &[1 << 16, 32, 32], &[]);
    raw.resize(raw.len() + (64 << 20), 0);
    let images = write(dir.path(), "bomb-images.gz", &gzip(&raw));
    let labels = write(dir.path(), "labels", &idx(0x08, &[1], &[0]));
    let err = message(
        dir.path(),
        load_idx_within(&images, &labels, Limit::exactly(LOW), LabelRule::Any),
    );
    assert_eq!(
        err,
        "DIR/bomb-images.gz: byte offset 4: the header's dimensions 65536 × 32 × 32 make 67108864 \
         values (256 MiB as f32), more than 1 MiB; expected at most 1 MiB, the data block's \
         `limit`"
    );
}

#[test]
fn idx_and_npy_headers_announcing_huge_arrays_are_refused_before_allocating() {
    let dir = scratch();
    let images = write(
        dir.path(),
        "huge.idx",
        &idx(0x08, &[u32::MAX, u32::MAX, 4], &[1, 2, 3]),
    );
    let labels = write(dir.path(), "labels.idx", &idx(0x08, &[1], &[0]));
    let err = message(
        dir.path(),
        load_idx_within(&images, &labels, Limit::default(), LabelRule::Any),
    );
    assert!(
        err.starts_with(
            "DIR/huge.idx: byte offset 4: the header's dimensions 4294967295 × 4294967295 × 4 make"
        ),
        "{err}"
    );
    let bytes = npy("<f8", false, &[1 << 40, 1 << 20], &[]);
    let err = parse_npy(&bytes, Path::new("h.npy"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "h.npy: byte offset 60: the header's dimensions 1099511627776 × 1048576 make"
        ),
        "{err}"
    );
}

#[test]
fn an_npz_member_that_decompresses_past_the_limit_is_stopped() {
    let dir = scratch();
    let mut big = npy("|u1", false, &[64 << 20], &[]);
    big.resize(big.len() + (64 << 20), 7);
    let archive = zip(&[("x.npy", big), ("y.npy", npy_f32(&[1], &[0.0]))], true);
    assert!(archive.len() < (1 << 20), "the archive is small on disk");
    let path = write(dir.path(), "bomb.npz", &archive);
    let err = message(
        dir.path(),
        load_npz_within(&path, "x", "y", Limit::exactly(LOW), LabelRule::Any),
    );
    assert!(
        err.starts_with(
            "DIR/bomb.npz/x.npy: byte offset 60: the header's dimensions 67108864 make 67108864 values"
        ),
        "{err}"
    );
}

#[test]
fn an_npz_member_whose_declared_size_lies_is_bounded() {
    let dir = scratch();
    // The header tells the truth (4 floats) but the member holds 32 MiB more; its sizes in
    // the archive are patched to claim 80 bytes.
    let mut data = npy_f32(&[4], &[1.0, 2.0, 3.0, 4.0]);
    let honest = data.len() as u32;
    data.resize(data.len() + (32 << 20), 0);
    let mut archive = zip(
        &[("x.npy", data), ("y.npy", npy_f32(&[4], &[0.0; 4]))],
        true,
    );
    let real = (honest + (32 << 20)).to_le_bytes();
    let lie = honest.to_le_bytes();
    // Patch the uncompressed size in the local header (offset 22) and the central directory.
    let mut patched = 0;
    for i in 0..archive.len().saturating_sub(4) {
        if archive[i..i + 4] == real {
            archive[i..i + 4].copy_from_slice(&lie);
            patched += 1;
        }
    }
    assert!(patched >= 1, "the size field was found");
    let path = write(dir.path(), "lie.npz", &archive);
    let err = message(
        dir.path(),
        load_npz_within(&path, "x", "y", Limit::exactly(LOW), LabelRule::Any),
    );
    assert!(err.starts_with("DIR/lie.npz"), "{err}");
}

// ------------------------------------------------------------------ malformed files

#[test]
fn truncated_and_overlong_binary_files_name_the_offset() {
    let dir = scratch();
    let labels = write(dir.path(), "l.idx", &idx(0x08, &[2], &[0, 1]));
    let short = write(dir.path(), "short.idx", &idx(0x08, &[2, 2], &[1, 2, 3]));
    let err = message(
        dir.path(),
        load_idx_within(&short, &labels, Limit::default(), LabelRule::Any),
    );
    assert_eq!(
        err,
        "DIR/short.idx: truncated: the file ends at byte offset 15, expected 16 bytes (2 × 2 \
         unsigned bytes after the 12-byte header)"
    );
    let gz = write(
        dir.path(),
        "long.idx.gz",
        &gzip(&idx(0x08, &[2, 1], &[1, 2, 3, 4])),
    );
    let err = message(
        dir.path(),
        load_idx_within(&gz, &labels, Limit::default(), LabelRule::Any),
    );
    assert_eq!(
        err,
        "DIR/long.idx.gz: 2 unexpected byte(s) after the data at byte offset 14; expected the \
         file to end there (2 × 1 unsigned bytes after the 12-byte header)"
    );
    let err = parse_npy(b"\x93NUMPY\x01\x00\xff", Path::new("t.npy"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "t.npy: truncated: the file ends at byte offset 9, expected 10 bytes (the NPY preamble)"
    );
}

#[test]
fn wrong_magic_numbers_are_named() {
    let dir = scratch();
    let images = write(dir.path(), "png.idx", b"\x89PNG\r\n\x1a\n");
    let err = message(
        dir.path(),
        load_idx_within(&images, &images, Limit::default(), LabelRule::Any),
    );
    assert!(
        err.starts_with("DIR/png.idx: byte offset 0: wrong magic number 0x89504E47"),
        "{err}"
    );
    let not_zip = write(dir.path(), "x.npz", b"not a zip at all");
    let err = message(
        dir.path(),
        load_npz_within(&not_zip, "x", "y", Limit::default(), LabelRule::Any),
    );
    assert!(
        err.starts_with("DIR/x.npz: not a readable NPZ (zip) archive"),
        "{err}"
    );
}

#[test]
fn unsupported_npy_dtypes_name_their_offset_and_text() {
    for descr in ["<c8", "|O", "<f2"] {
        let bytes = npy(descr, false, &[1], &[0; 8]);
        let err = parse_npy(&bytes, Path::new("d.npy"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "d.npy: byte offset 20: unsupported NPY dtype \"{descr}\"; expected a float"
            )),
            "{err}"
        );
    }
}

#[test]
fn deeply_nested_npy_headers_are_refused_without_overflowing_the_stack() {
    let header = format!("{{'descr': {}", "(".repeat(100_000));
    let bytes = npy_with_header(header.as_bytes());
    let err = parse_npy(&bytes, Path::new("n.npy"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad NPY header: expected at most 32 nested brackets"),
        "{err}"
    );
}

/// An NPY v2 file whose header is `header` as is.
fn npy_with_header(header: &[u8]) -> Vec<u8> {
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(header);
    bytes
}

#[test]
fn non_utf8_text_is_named_with_its_place() {
    let dir = scratch();
    let path = write(dir.path(), "latin1.csv", b"1,2,0\n3,\xe9,1\n");
    let err = message(
        dir.path(),
        load_csv_within(
            &path,
            &LabelColumn::Last,
            Header::No,
            Limit::default(),
            LabelRule::Any,
        ),
    );
    assert_eq!(
        err,
        "DIR/latin1.csv: line 2, column 2: expected a finite number, found \"\u{fffd}\""
    );
    write(dir.path(), "a.csv", b"1,0\n2,1\n");
    write(dir.path(), "split.json", b"{\"train\": [0\xff]}");
    let mut spec = spec(csv(dir.path().join("a.csv")), Split::default());
    spec.indices = Some(IndexSplit {
        path: dir.path().join("split.json"),
        train: "train".into(),
        validation: None,
        test: None,
    });
    assert_eq!(
        message(dir.path(), load(&spec, Path::new(""))),
        "DIR/split.json: the file is not UTF-8 text (byte 12)"
    );
}

// ------------------------------------------------------------------ labels

#[test]
fn csv_labels_past_the_model_classes_name_the_line() {
    let dir = scratch();
    let mut text = String::new();
    for i in 0..700 {
        text.push_str(&format!("{i},{}\n", i % 10));
    }
    text.push_str("700,2.5\n");
    let path = write(dir.path(), "digits.csv", text.as_bytes());
    let plain = spec(csv(path.clone()), split(0.8, 0.2, 0.0, false));
    let err = message(dir.path(), load_for(&plain, Path::new(""), Some(10)));
    assert_eq!(
        err,
        "DIR/digits.csv: line 701, column 2: the label is 2.5; expected a class index, an \
         integer in 0..10 (the model predicts 10 classes)"
    );
    let path = write(dir.path(), "ten.csv", b"1,9\n2,10\n");
    let err = message(
        dir.path(),
        load_for(&spec(csv(path), Split::default()), Path::new(""), Some(10)),
    );
    assert_eq!(
        err,
        "DIR/ten.csv: line 2, column 2: the label is 10; expected a class index, an integer in \
         0..10 (the model predicts 10 classes)"
    );
}

#[test]
fn stratified_splits_name_the_first_label_that_is_not_a_class() {
    let dir = scratch();
    for bad in ["-1", "2.5", "1e30", "65536"] {
        let path = write(
            dir.path(),
            "s.csv",
            format!("1,0\n2,1\n3,{bad}\n").as_bytes(),
        );
        let err = message(
            dir.path(),
            load(&spec(csv(path), split(0.5, 0.0, 0.5, true)), Path::new("")),
        );
        assert_eq!(
            err,
            format!(
                "DIR/s.csv: line 3, column 2: the label is {bad}; expected a class index, an \
                 integer in 0..65536, as a stratified split needs"
            )
        );
    }
}

#[test]
fn idx_and_npy_labels_name_the_byte_offset_and_index() {
    let dir = scratch();
    let images = write(dir.path(), "i.idx", &idx(0x08, &[3, 1], &[0, 0, 0]));
    let labels = write(dir.path(), "l.idx", &idx(0x08, &[3], &[1, 200, 2]));
    let err = message(
        dir.path(),
        load_idx_within(&images, &labels, Limit::default(), LabelRule::Classes(10)),
    );
    assert_eq!(
        err,
        "DIR/l.idx: byte offset 9 (label 1): the label is 200; expected a class index, an \
         integer in 0..10 (the model predicts 10 classes)"
    );
    let x = write(dir.path(), "x.npy", &npy_f32(&[2, 1], &[0.0, 1.0]));
    let y = write(dir.path(), "y.npy", &npy_f32(&[2], &[1.0, 3.0]));
    let err = message(
        dir.path(),
        load_npy_within(&x, &y, Limit::default(), LabelRule::Classes(3)),
    );
    assert_eq!(
        err,
        "DIR/y.npy: byte offset 132 (label 1): the label is 3; expected a class index, an \
         integer in 0..3 (the model predicts 3 classes)"
    );
}

// ------------------------------------------------------------------ splits

#[test]
fn a_one_row_file_split_three_ways_leaves_a_set_empty() {
    let dir = scratch();
    let path = write(dir.path(), "one.csv", b"1,2,0\n");
    let err = message(
        dir.path(),
        load(&spec(csv(path), split(0.8, 0.1, 0.1, false)), Path::new("")),
    );
    assert_eq!(
        err,
        "split: the validation fraction 0.1 of 1 examples gives no example; expected at least \
         one (use more data or a larger fraction)"
    );
}

/// The long variant: a 1 GiB gzip bomb against the default limit (run with `--ignored`).
#[test]
#[ignore]
fn a_large_gzip_bomb_is_stopped_by_a_4_gib_limit() {
    let dir = scratch();
    let path = write(dir.path(), "bomb.csv.gz", &csv_bomb(1 << 30));
    let err = message(
        dir.path(),
        load_csv_within(
            &path,
            &LabelColumn::Last,
            Header::No,
            Limit::exactly(256 << 20),
            LabelRule::Any,
        ),
    );
    assert!(err.contains("decompresses to more than 256 MiB"), "{err}");
}

#[test]
fn a_synthetic_set_past_the_limit_is_refused_before_it_is_generated() {
    let source = Source::Synthetic {
        kind: knit_data::Synthetic::Uniform {
            features: 1 << 20,
            classes: 10,
        },
        samples: 100_000_000,
        noise: 0.0,
    };
    let mut spec = spec(source, Split::default());
    spec.limit = Some(1 << 30);
    let err = load(&spec, Path::new("")).unwrap_err().to_string();
    assert_eq!(
        err,
        "synthetic uniform: 100000000 examples of 1048576 features take more than 1 GiB as f32; \
         expected at most 1 GiB, the data block's `limit`"
    );
}
