//! NPY and NPZ loading: round trips of element types, byte orders, Fortran order and
//! archives (stored and deflated), and the malformed-file errors by their messages.

mod common;

use common::{gzip, npy, npy_f32, scratch, write, zip};
use knit_data::{load_npy, load_npz, read_npy, DataError, Npz};
use ndarray::array;

#[test]
fn features_and_labels_round_trip() {
    let dir = scratch();
    let features = write(
        dir.path(),
        "x.npy",
        &npy_f32(&[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    );
    let labels: Vec<u8> = [1i64, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let labels = write(dir.path(), "y.npy", &npy("<i8", false, &[3], &labels));
    let data = load_npy(&features, &labels).unwrap();
    assert_eq!(data.features, array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    assert_eq!(data.labels, array![1.0, 0.0, 1.0]);
    assert_eq!(data.classes, Some(2));
    assert_eq!(data.feature_dims, vec![2]);
}

#[test]
fn element_types_and_byte_orders() {
    let dir = scratch();
    let cases: Vec<(&str, Vec<u8>, Vec<f32>)> = vec![
        (
            ">f8",
            [0.5f64, -2.0]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
            vec![0.5, -2.0],
        ),
        (
            "<f8",
            [0.25f64, 8.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            vec![0.25, 8.0],
        ),
        (
            ">f4",
            [1.5f32, 3.0].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![1.5, 3.0],
        ),
        ("|i1", vec![0xff, 0x05], vec![-1.0, 5.0]),
        ("|u1", vec![0xff, 0x05], vec![255.0, 5.0]),
        (
            ">i2",
            [-300i16, 2].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![-300.0, 2.0],
        ),
        (
            "<u2",
            [65535u16, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![65535.0, 2.0],
        ),
        (
            "<i4",
            [-7i32, 9].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![-7.0, 9.0],
        ),
        (
            ">u4",
            [7u32, 9].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![7.0, 9.0],
        ),
        (
            ">i8",
            [-1i64, 1].iter().flat_map(|v| v.to_be_bytes()).collect(),
            vec![-1.0, 1.0],
        ),
        (
            "<u8",
            [3u64, 4].iter().flat_map(|v| v.to_le_bytes()).collect(),
            vec![3.0, 4.0],
        ),
        ("|b1", vec![1, 0], vec![1.0, 0.0]),
    ];
    for (descr, data, expected) in cases {
        let path = write(dir.path(), "a.npy", &npy(descr, false, &[2], &data));
        let array = read_npy(&path).unwrap();
        assert_eq!(array.shape(), &[2], "{descr}");
        assert_eq!(array.into_iter().collect::<Vec<_>>(), expected, "{descr}");
    }
}

#[test]
fn fortran_order_images_become_row_major() {
    let dir = scratch();
    // Two 2×3 images with values 100·n + 10·r + c, stored column-major over [2, 2, 3].
    let mut column_major = Vec::new();
    for c in 0..3 {
        for r in 0..2 {
            for n in 0..2 {
                column_major.push((100 * n + 10 * r + c) as f32);
            }
        }
    }
    let data: Vec<u8> = column_major.iter().flat_map(|v| v.to_le_bytes()).collect();
    let features = write(dir.path(), "x.npy", &npy("<f4", true, &[2, 2, 3], &data));
    let labels = write(dir.path(), "y.npy", &npy_f32(&[2, 1], &[0.0, 1.0]));
    let loaded = load_npy(&features, &labels).unwrap();
    assert_eq!(loaded.feature_dims, vec![2, 3]);
    assert_eq!(
        loaded.features,
        array![
            [0.0, 1.0, 2.0, 10.0, 11.0, 12.0],
            [100.0, 101.0, 102.0, 110.0, 111.0, 112.0]
        ]
    );
}

#[test]
fn gzip_npy_is_read_too() {
    let dir = scratch();
    let path = write(dir.path(), "x.npy.gz", &gzip(&npy_f32(&[2], &[4.0, 5.0])));
    assert_eq!(
        read_npy(&path).unwrap().into_iter().collect::<Vec<_>>(),
        [4.0, 5.0]
    );
}

#[test]
fn npz_round_trip_stored_and_deflated() {
    let dir = scratch();
    for deflate in [false, true] {
        let archive = zip(
            &[
                ("images.npy", npy_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0])),
                ("targets.npy", npy_f32(&[2], &[0.5, 1.5])),
            ],
            deflate,
        );
        let path = write(dir.path(), "d.npz", &archive);
        let data = load_npz(&path, "images", "targets").unwrap();
        assert_eq!(data.features, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(data.labels, array![0.5, 1.5]);
        assert_eq!(data.classes, None);
        assert_eq!(Npz::open(&path).unwrap().names(), ["images", "targets"]);
    }
}

/// `err`'s message with the scratch folder stripped.
fn message(err: DataError, dir: &tempfile::TempDir) -> String {
    err.to_string()
        .replace(&format!("{}/", dir.path().display()), "")
}

#[test]
fn npz_errors_name_the_archive_and_member() {
    let dir = scratch();
    let archive = zip(
        &[
            ("x.npy", npy_f32(&[1], &[1.0])),
            ("y.npy", b"garbage".to_vec()),
        ],
        true,
    );
    let path = write(dir.path(), "d.npz", &archive);
    let err = load_npz(&path, "features", "y").unwrap_err();
    assert_eq!(
        message(err, &dir),
        "d.npz: no array named \"features\"; the archive has \"x\", \"y\""
    );
    let err = load_npz(&path, "x", "y").unwrap_err();
    assert!(matches!(err, DataError::NpyMagic { .. }));
    assert_eq!(
        message(err, &dir),
        "d.npz/y.npy: byte offset 0: not an NPY file; expected the magic \"\\x93NUMPY\", found \
         \"garbag\""
    );
    let not_zip = write(dir.path(), "n.npz", b"this is not a zip archive at all");
    let err = load_npz(&not_zip, "x", "y").unwrap_err();
    assert!(matches!(err, DataError::Archive { .. }), "{err}");
    assert!(message(err, &dir).starts_with("n.npz: not a readable NPZ (zip) archive: "));
}

#[test]
fn bad_headers_are_errors_with_offsets() {
    let dir = scratch();
    let mut bytes = npy_f32(&[2], &[1.0, 2.0]);
    // Break the header dict: "{'descr'" → "{'descr' 'f4'…" loses its colon.
    let colon = bytes.iter().position(|&b| b == b':').unwrap();
    bytes[colon] = b' ';
    let path = write(dir.path(), "bad.npy", &bytes);
    let err = read_npy(&path).unwrap_err();
    assert!(
        matches!(err, DataError::NpyHeader { offset: 20, .. }),
        "{err}"
    );
    assert_eq!(
        message(err, &dir),
        "bad.npy: byte offset 20: bad NPY header: expected ':', found '\\''"
    );
    let path = write(
        dir.path(),
        "keys.npy",
        b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}",
    );
    let err = read_npy(&path).unwrap_err();
    assert_eq!(
        message(err, &dir),
        "keys.npy: byte offset 10: bad NPY header: expected the keys 'descr', 'fortran_order' \
         and 'shape', some are missing"
    );
}

#[test]
fn truncated_and_oversized_data() {
    let dir = scratch();
    let mut bytes = npy_f32(&[3], &[1.0, 2.0, 3.0]);
    bytes.truncate(bytes.len() - 2);
    let err = read_npy(&write(dir.path(), "t.npy", &bytes)).unwrap_err();
    assert_eq!(
        message(err, &dir),
        "t.npy: truncated: the file ends at byte offset 138, expected 140 bytes (3 little-endian \
         4-byte floats after the 128-byte header)"
    );
    let mut bytes = npy_f32(&[1], &[1.0]);
    bytes.extend_from_slice(&[0; 4]);
    let err = read_npy(&write(dir.path(), "o.npy", &bytes)).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TrailingBytes {
                offset: 132,
                extra: 4,
                ..
            }
        ),
        "{err}"
    );
    let err = read_npy(&write(dir.path(), "h.npy", &npy_f32(&[1], &[1.0])[..30])).unwrap_err();
    assert_eq!(
        message(err, &dir),
        "h.npy: truncated: the file ends at byte offset 30, expected 128 bytes (the 118-byte NPY \
         header)"
    );
}

#[test]
fn label_shape_and_count_are_checked() {
    let dir = scratch();
    let features = write(dir.path(), "x.npy", &npy_f32(&[2, 2], &[0.0; 4]));
    let wide = write(dir.path(), "wide.npy", &npy_f32(&[2, 2], &[0.0; 4]));
    let err = load_npy(&features, &wide).unwrap_err();
    assert_eq!(
        message(err, &dir),
        "wide.npy: the array has shape [2, 2]; expected labels of shape [n] or [n, 1]"
    );
    let three = write(dir.path(), "three.npy", &npy_f32(&[3], &[0.0; 3]));
    let err = load_npy(&features, &three).unwrap_err();
    assert_eq!(
        message(err, &dir),
        "x.npy: 2 examples, but three.npy: 3 labels; expected the same count"
    );
    let nan = write(
        dir.path(),
        "nan.npy",
        &npy_f32(&[2, 2], &[0.0, 1.0, 2.0, f32::NAN]),
    );
    let labels = write(dir.path(), "y.npy", &npy_f32(&[2], &[0.0, 1.0]));
    let err = load_npy(&nan, &labels).unwrap_err();
    assert_eq!(
        message(err, &dir),
        "nan.npy: feature 1 of example 1 is NaN; expected finite values"
    );
}
