//! IDX loading: round trips (plain and gzip, several element types) and each malformed-file
//! error by its message.

mod common;

use common::{gzip, idx, scratch, write};
use knit_data::{load_idx, read_idx, DataError};
use ndarray::array;

/// Three 2×2 "images" and their labels, as IDX bytes.
fn images_and_labels() -> (Vec<u8>, Vec<u8>) {
    let images = idx(
        0x08,
        &[3, 2, 2],
        &[0, 1, 2, 3, 10, 11, 12, 13, 252, 253, 254, 255],
    );
    let labels = idx(0x08, &[3], &[2, 0, 1]);
    (images, labels)
}

#[test]
fn round_trip_plain_and_gzip() {
    let dir = scratch();
    let (images, labels) = images_and_labels();
    let plain = load_idx(
        &write(dir.path(), "images-idx3-ubyte", &images),
        &write(dir.path(), "labels-idx1-ubyte", &labels),
    )
    .unwrap();
    assert_eq!(plain.feature_dims, vec![2, 2]);
    assert_eq!(plain.features.shape(), &[3, 4]);
    assert_eq!(plain.features.row(2), array![252.0, 253.0, 254.0, 255.0]);
    assert_eq!(plain.labels, array![2.0, 0.0, 1.0]);
    assert_eq!(plain.classes, Some(3));
    // gzip is told by the magic bytes: one file named .gz, the other not.
    let zipped = load_idx(
        &write(dir.path(), "images.gz", &gzip(&images)),
        &write(dir.path(), "labels-no-suffix", &gzip(&labels)),
    )
    .unwrap();
    assert_eq!(zipped, plain);
}

#[test]
fn other_element_types() {
    let dir = scratch();
    let floats: Vec<u8> = [0.5f32, -1.25, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let path = write(dir.path(), "f", &idx(0x0D, &[2, 2], &floats));
    assert_eq!(
        read_idx(&path).unwrap().into_iter().collect::<Vec<_>>(),
        [0.5, -1.25, 3.0, 4.0]
    );
    let doubles: Vec<u8> = [1e-3f64, 2.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let path = write(dir.path(), "d", &idx(0x0E, &[2], &doubles));
    assert_eq!(
        read_idx(&path).unwrap().into_iter().collect::<Vec<_>>(),
        [1e-3, 2.0]
    );
    let ints: Vec<u8> = [-5i32, 70_000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let path = write(dir.path(), "i", &idx(0x0C, &[2], &ints));
    assert_eq!(
        read_idx(&path).unwrap().into_iter().collect::<Vec<_>>(),
        [-5.0, 70_000.0]
    );
    let path = write(dir.path(), "b", &idx(0x09, &[2], &[0xfe, 7]));
    assert_eq!(
        read_idx(&path).unwrap().into_iter().collect::<Vec<_>>(),
        [-2.0, 7.0]
    );
}

/// The error of loading the given images and labels bytes, with the folder stripped.
fn error(images: &[u8], labels: &[u8]) -> (DataError, String) {
    let dir = scratch();
    let err = load_idx(
        &write(dir.path(), "images.idx", images),
        &write(dir.path(), "labels.idx", labels),
    )
    .unwrap_err();
    let message = err
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    (err, message)
}

#[test]
fn wrong_magic_number() {
    let (_, labels) = images_and_labels();
    let (err, message) = error(b"P5\n28 28\n255\n....", &labels);
    assert!(matches!(
        err,
        DataError::IdxMagic {
            found: 0x5035_0a32,
            ..
        }
    ));
    assert_eq!(
        message,
        "images.idx: byte offset 0: wrong magic number 0x50350A32; expected 0x00000803 for IDX \
         images (two zero bytes, type 0x08 = unsigned byte, 3 dimensions), or another IDX type \
         code (0x09, 0x0B, 0x0C, 0x0D, 0x0E) in byte 2"
    );
}

#[test]
fn swapped_files_are_caught_by_the_labels_dimensions() {
    let (images, labels) = images_and_labels();
    let (_, message) = error(&labels, &images);
    assert_eq!(
        message,
        "labels.idx: byte offset 3: the labels file has 3 dimension(s) (magic 0x00000803); \
         expected 1, as in 0x00000801 (are the images and labels files swapped?)"
    );
}

#[test]
fn image_and_label_counts_differ() {
    let (images, _) = images_and_labels();
    let (err, message) = error(&images, &idx(0x08, &[2], &[1, 0]));
    assert!(matches!(
        err,
        DataError::CountMismatch {
            features: 3,
            labels: 2,
            ..
        }
    ));
    assert_eq!(
        message,
        "images.idx: 3 examples, but labels.idx: 2 labels; expected the same count"
    );
}

#[test]
fn truncated_images() {
    let (mut images, labels) = images_and_labels();
    images.truncate(images.len() - 3);
    let (err, message) = error(&images, &labels);
    assert!(matches!(
        err,
        DataError::Truncated {
            found: 25,
            expected: 28,
            ..
        }
    ));
    assert_eq!(
        message,
        "images.idx: truncated: the file ends at byte offset 25, expected 28 bytes (3 × 2 × 2 \
         unsigned bytes after the 16-byte header)"
    );
    // The same inside gzip: offsets count decompressed bytes.
    let (_, message) = error(&gzip(&images), &labels);
    assert!(
        message.contains("ends at byte offset 25, expected 28 bytes"),
        "{message}"
    );
    // Cut inside the header.
    let (_, message) = error(&images[..10], &labels);
    assert_eq!(
        message,
        "images.idx: truncated: the file ends at byte offset 10, expected 16 bytes (the 16-byte \
         header for 3 dimension(s))"
    );
}

#[test]
fn trailing_bytes_and_empty_files() {
    let (images, mut labels) = images_and_labels();
    labels.push(9);
    let (_, message) = error(&images, &labels);
    assert_eq!(
        message,
        "labels.idx: 1 unexpected byte(s) after the data at byte offset 11; expected the file to \
         end there (3 unsigned bytes after the 8-byte header)"
    );
    let (_, message) = error(b"", &labels);
    assert_eq!(
        message,
        "images.idx: the file is empty; expected an IDX header"
    );
}

#[test]
fn zero_examples() {
    let (_, message) = error(&idx(0x08, &[0, 2, 2], &[]), &idx(0x08, &[0], &[]));
    assert_eq!(message, "images.idx: no examples; expected at least one");
}
