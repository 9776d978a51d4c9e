//! IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! An IDX file is a 4-byte big-endian magic number — two zero bytes, a type code (0x08
//! unsigned byte, 0x09 signed byte, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64) and the number of
//! dimensions — then one big-endian u32 per dimension, then the values, big-endian, in
//! row-major order. Labels files have 1 dimension (magic 0x00000801), image files 3
//! (0x00000803). Values become `f32` unchanged (pixels stay 0..255; scaling is separate).

use std::path::Path;

use ndarray::{ArrayD, IxDyn};

use crate::dataset::{from_arrays, Array, Dataset};
use crate::decode::{read_body, truncated, Element, Kind};
use crate::input::Input;
use crate::{DataError, LabelRule, Limit};

/// What an IDX file is read as, which decides the dimensions it may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Examples: at least one dimension (the count).
    Images,
    /// Labels: exactly one dimension.
    Labels,
}

impl Role {
    /// The role's name in messages.
    fn name(self) -> &'static str {
        match self {
            Role::Images => "images",
            Role::Labels => "labels",
        }
    }

    /// The magic number expected, explained, for [`DataError::IdxMagic`].
    fn expected_magic(self) -> &'static str {
        match self {
            Role::Images => {
                "0x00000803 for IDX images (two zero bytes, type 0x08 = unsigned byte, 3 \
                 dimensions), or another IDX type code (0x09, 0x0B, 0x0C, 0x0D, 0x0E) in byte 2"
            }
            Role::Labels => {
                "0x00000801 for IDX labels (two zero bytes, type 0x08 = unsigned byte, 1 dimension)"
            }
        }
    }
}

/// Reads an IDX file of any type and number of dimensions as an `f32` array of its shape,
/// within the default [`Limit`].
pub fn read_idx(path: &Path) -> Result<ArrayD<f32>, DataError> {
    Ok(read(path, Role::Images, Limit::default())?.array)
}

/// Loads an images file `[n, ...]` and a labels file `[n]` as a dataset whose
/// `feature_dims` are the images' per-example shape (`[28, 28]` for MNIST), within the
/// default [`Limit`], the labels checked by [`LabelRule::Any`].
pub fn load_idx(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    load_idx_within(images, labels, Limit::default(), LabelRule::Any)
}

/// [`load_idx`] within `limit` (per file), each label checked by `rule`.
pub fn load_idx_within(
    images: &Path,
    labels: &Path,
    limit: Limit,
    rule: LabelRule,
) -> Result<Dataset, DataError> {
    let features = read(images, Role::Images, limit)?;
    let targets = read(labels, Role::Labels, limit)?;
    from_arrays(features.array, images, targets, labels, rule)
}

/// Reads the IDX file at `path` as `role`.
fn read(path: &Path, role: Role, limit: Limit) -> Result<Array, DataError> {
    parse(&mut Input::open(path, limit)?, role)
}

/// The element type of an IDX type code.
fn element_of(code: u8) -> Option<Element> {
    let (kind, size) = match code {
        0x08 => (Kind::Unsigned, 1),
        0x09 => (Kind::Signed, 1),
        0x0B => (Kind::Signed, 2),
        0x0C => (Kind::Signed, 4),
        0x0D => (Kind::Float, 4),
        0x0E => (Kind::Float, 8),
        _ => return None,
    };
    Element::new(kind, size, true)
}

/// Parses the (decompressed) stream of an IDX file read as `role`.
fn parse(input: &mut Input<'_>, role: Role) -> Result<Array, DataError> {
    let path = input.path.clone();
    let mut bytes = Vec::with_capacity(4);
    input.read_up_to(4, &mut bytes)?;
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            path,
            expected: "an IDX header",
        });
    }
    let Some(magic_bytes) = bytes.first_chunk::<4>().copied() else {
        return Err(truncated(&path, &bytes, 4, "the 4-byte magic number"));
    };
    let magic = u32::from_be_bytes(magic_bytes);
    let element = match (magic_bytes[0], magic_bytes[1], element_of(magic_bytes[2])) {
        (0, 0, Some(element)) => element,
        _ => {
            let expected = role.expected_magic();
            return Err(DataError::IdxMagic {
                path,
                found: magic,
                expected,
            });
        }
    };
    let ndims = magic_bytes[3];
    let expected_dims = match role {
        Role::Labels if ndims != 1 => {
            Some("1, as in 0x00000801 (are the images and labels files swapped?)")
        }
        Role::Images if ndims == 0 => Some("at least 1 (the example count)"),
        _ => None,
    };
    if let Some(expected) = expected_dims {
        let role = role.name();
        return Err(DataError::IdxDims {
            path,
            role,
            magic,
            found: ndims,
            expected,
        });
    }

    let header = 4 + 4 * usize::from(ndims);
    input.read_up_to(header - 4, &mut bytes)?;
    if bytes.len() < header {
        let what = format!("the {header}-byte header for {ndims} dimension(s)");
        return Err(truncated(&path, &bytes, header as u64, &what));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let values = read_body(input, header as u64, 4, &dims, element)?;
    let array = ArrayD::from_shape_vec(IxDyn(&dims), values).map_err(|_| DataError::BadShape {
        path,
        found: dims.clone(),
        expected: "dimensions whose product fits in memory",
    })?;
    Ok(Array {
        array,
        body_offset: header as u64,
        element_size: element.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `bytes` as an IDX file named `path` read as `role`.
    fn parse(bytes: &[u8], path: &Path, role: Role) -> Result<ArrayD<f32>, DataError> {
        let reader = Box::new(std::io::Cursor::new(bytes.to_vec()));
        let mut input = Input::new(reader, path, false, Limit::exactly(1 << 20));
        Ok(super::parse(&mut input, role)?.array)
    }

    /// An IDX file's bytes: magic with `code` and `dims.len()`, the dims, then `data`.
    fn idx(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn parses_unsigned_images() {
        let array = parse(
            &idx(0x08, &[2, 1, 2], &[1, 2, 3, 255]),
            Path::new("i"),
            Role::Images,
        )
        .unwrap();
        assert_eq!(array.shape(), &[2, 1, 2]);
        assert_eq!(
            array.iter().copied().collect::<Vec<_>>(),
            [1.0, 2.0, 3.0, 255.0]
        );
    }

    #[test]
    fn parses_big_endian_floats_and_shorts() {
        let mut data = Vec::new();
        data.extend_from_slice(&1.5f32.to_be_bytes());
        data.extend_from_slice(&(-2.0f32).to_be_bytes());
        let array = parse(&idx(0x0D, &[2], &data), Path::new("f"), Role::Images).unwrap();
        assert_eq!(array.iter().copied().collect::<Vec<_>>(), [1.5, -2.0]);
        let data = [(-3i16).to_be_bytes(), 7i16.to_be_bytes()].concat();
        let array = parse(&idx(0x0B, &[2], &data), Path::new("s"), Role::Labels).unwrap();
        assert_eq!(array.iter().copied().collect::<Vec<_>>(), [-3.0, 7.0]);
    }

    #[test]
    fn unknown_type_code_is_a_magic_error() {
        let err = parse(&idx(0x07, &[1], &[0]), Path::new("x"), Role::Labels).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x: byte offset 0: wrong magic number 0x00000701; expected 0x00000801 for IDX labels \
             (two zero bytes, type 0x08 = unsigned byte, 1 dimension)"
        );
    }

    #[test]
    fn image_file_without_dimensions_is_refused() {
        let err = parse(&idx(0x08, &[], &[]), Path::new("x"), Role::Images).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected at least 1 (the example count)"),
            "{err}"
        );
    }

    #[test]
    fn tiny_files_are_truncated_or_empty() {
        let err = parse(&[], Path::new("x"), Role::Images).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x: the file is empty; expected an IDX header"
        );
        let err = parse(&[0, 0], Path::new("x"), Role::Images).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x: truncated: the file ends at byte offset 2, expected 4 bytes (the 4-byte magic number)"
        );
        let err = parse(&[0, 0, 8, 3, 0, 0, 0, 1], Path::new("x"), Role::Images).unwrap_err();
        assert!(err
            .to_string()
            .contains("expected 16 bytes (the 16-byte header for 3 dimension(s))"));
    }
}
