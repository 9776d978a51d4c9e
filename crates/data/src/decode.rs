//! Decoding packed binary numbers (the element types of IDX and NPY files) into `f32`, and
//! checking that a file's body holds exactly the values its header announces.

use std::path::Path;

use crate::huge_pages;
use crate::input::Input;
use crate::DataError;

/// The kind of number an element holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// IEEE float (4 or 8 bytes).
    Float,
    /// Two's-complement signed integer (1, 2, 4 or 8 bytes).
    Signed,
    /// Unsigned integer (1, 2, 4 or 8 bytes).
    Unsigned,
    /// One byte, zero for false.
    Bool,
}

/// An element type: kind, size and byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Element {
    /// The kind of number.
    pub(crate) kind: Kind,
    /// Its size in bytes.
    pub(crate) size: usize,
    /// Whether multi-byte values are stored most significant byte first.
    pub(crate) big_endian: bool,
}

impl Element {
    /// The element, if `kind` comes in `size` bytes.
    pub(crate) fn new(kind: Kind, size: usize, big_endian: bool) -> Option<Element> {
        let valid = match kind {
            Kind::Float => matches!(size, 4 | 8),
            Kind::Signed | Kind::Unsigned => matches!(size, 1 | 2 | 4 | 8),
            Kind::Bool => size == 1,
        };
        valid.then_some(Element {
            kind,
            size,
            big_endian,
        })
    }

    /// A name for messages: "unsigned bytes", "big-endian 4-byte floats"...
    pub(crate) fn describe(&self) -> String {
        let kind = match self.kind {
            Kind::Float => "float",
            Kind::Signed => "signed integer",
            Kind::Unsigned => "unsigned integer",
            Kind::Bool => "bool",
        };
        match (self.kind, self.size) {
            (Kind::Unsigned, 1) => "unsigned bytes".to_owned(),
            (Kind::Signed, 1) => "signed bytes".to_owned(),
            (Kind::Bool, _) => "bools".to_owned(),
            _ => {
                let order = if self.big_endian { "big" } else { "little" };
                format!("{order}-endian {}-byte {kind}s", self.size)
            }
        }
    }
}

/// "8000 × 28 × 28 unsigned bytes after the 16-byte header": what a header announces.
fn announced(header: u64, dims: &[usize], element: Element) -> String {
    let dims_text = match dims {
        [] => "1 (a scalar)".to_owned(),
        _ => dims
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" × "),
    };
    format!(
        "{dims_text} {} after the {header}-byte header",
        element.describe()
    )
}

/// Reads the body of a binary array file from `input`, positioned just after its header of
/// `header` bytes, which announces `dims` values of type `element`; the body must end the
/// stream.
///
/// The size is checked against the input's limit before anything is allocated
/// ([`DataError::ArrayTooLarge`], naming `dims_offset`, where the header's dimensions are);
/// the values go straight into a matrix on huge pages where they apply, so the raw bytes
/// are never held whole. Fails with [`DataError::Truncated`] when the stream is shorter
/// than announced and with [`DataError::TrailingBytes`] when it is longer.
pub(crate) fn read_body(
    input: &mut Input<'_>,
    header: u64,
    dims_offset: u64,
    dims: &[usize],
    element: Element,
) -> Result<Vec<f32>, DataError> {
    let count = input
        .limit
        .check_array(&input.path, dims_offset, dims, element.size)?;
    let expected = header + (count as u64) * element.size as u64;
    let mut values = huge_pages::zeroed(count);
    let mut chunk = vec![0u8; CHUNK_VALUES * element.size];
    let mut done = 0;
    while done < count {
        let n = (count - done).min(CHUNK_VALUES);
        let bytes = &mut chunk[..n * element.size];
        let got = input.fill(bytes)?;
        if got < bytes.len() {
            let what = announced(header, dims, element);
            return Err(DataError::Truncated {
                path: input.path.clone(),
                found: input.offset(),
                expected,
                what,
            });
        }
        decode_into(bytes, element, &mut values[done..done + n]);
        done += n;
    }
    let extra = input.count_rest()?;
    if extra > 0 {
        return Err(DataError::TrailingBytes {
            path: input.path.clone(),
            offset: expected,
            extra,
            what: announced(header, dims, element),
        });
    }
    huge_pages::collapse(&values);
    Ok(values)
}

/// How many values [`read_body`] reads and decodes at a time.
const CHUNK_VALUES: usize = 1 << 14;

/// The [`DataError::Truncated`] for a file of `bytes` that needed `expected` bytes for `what`.
pub(crate) fn truncated(path: &Path, bytes: &[u8], expected: u64, what: &str) -> DataError {
    DataError::Truncated {
        path: path.to_owned(),
        found: bytes.len() as u64,
        expected,
        what: what.to_owned(),
    }
}

/// Decodes `bytes` (a whole number of elements) into `f32` values, appended to `out`.
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8], element: Element, out: &mut Vec<f32>) {
    let start = out.len();
    out.resize(start + bytes.len() / element.size, 0.0);
    decode_into(bytes, element, &mut out[start..]);
}

/// Decodes `bytes` (`out.len()` elements) into `out`.
pub(crate) fn decode_into(bytes: &[u8], element: Element, out: &mut [f32]) {
    let big = element.big_endian;
    match (element.kind, element.size) {
        (Kind::Unsigned | Kind::Bool, 1) => fill(out, bytes.iter().map(|&b| f32::from(b))),
        (Kind::Signed, 1) => fill(out, bytes.iter().map(|&b| f32::from(b as i8))),
        (Kind::Signed, 2) => words(bytes, big, out, |w| f32::from(i16::from_le_bytes(w))),
        (Kind::Unsigned, 2) => words(bytes, big, out, |w| f32::from(u16::from_le_bytes(w))),
        (Kind::Signed, 4) => words(bytes, big, out, |w| i32::from_le_bytes(w) as f32),
        (Kind::Unsigned, 4) => words(bytes, big, out, |w| u32::from_le_bytes(w) as f32),
        (Kind::Float, 4) => words(bytes, big, out, f32::from_le_bytes),
        (Kind::Signed, 8) => words(bytes, big, out, |w| i64::from_le_bytes(w) as f32),
        (Kind::Unsigned, 8) => words(bytes, big, out, |w| u64::from_le_bytes(w) as f32),
        (Kind::Float, 8) => words(bytes, big, out, |w| f64::from_le_bytes(w) as f32),
        (kind, size) => unreachable!("Element::new admits no {size}-byte {kind:?}"),
    }
}

/// Writes `values` into `out`, one each.
fn fill(out: &mut [f32], values: impl Iterator<Item = f32>) {
    out.iter_mut().zip(values).for_each(|(o, v)| *o = v);
}

/// Writes `convert(word)` for each `N`-byte word of `bytes` into `out`, handing `convert`
/// the word in little-endian order (reversed first when the data is big-endian).
fn words<const N: usize>(
    bytes: &[u8],
    big_endian: bool,
    out: &mut [f32],
    convert: impl Fn([u8; N]) -> f32,
) {
    let values = bytes.chunks_exact(N).map(|chunk| {
        let mut word: [u8; N] = chunk.try_into().expect("chunks_exact yields N bytes");
        if big_endian {
            word.reverse();
        }
        convert(word)
    });
    fill(out, values);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Kind, size: usize, big: bool, bytes: &[u8]) -> Vec<f32> {
        let mut out = Vec::new();
        decode(bytes, Element::new(kind, size, big).unwrap(), &mut out);
        out
    }

    #[test]
    fn every_element_type_decodes_in_both_orders() {
        assert_eq!(run(Kind::Unsigned, 1, true, &[0, 255]), [0.0, 255.0]);
        assert_eq!(run(Kind::Signed, 1, false, &[0xff, 3]), [-1.0, 3.0]);
        assert_eq!(run(Kind::Bool, 1, false, &[0, 1]), [0.0, 1.0]);
        assert_eq!(
            run(Kind::Signed, 2, true, &(-300i16).to_be_bytes()),
            [-300.0]
        );
        assert_eq!(
            run(Kind::Signed, 2, false, &(-300i16).to_le_bytes()),
            [-300.0]
        );
        assert_eq!(
            run(Kind::Unsigned, 2, false, &60000u16.to_le_bytes()),
            [60000.0]
        );
        assert_eq!(
            run(Kind::Signed, 4, true, &(-70000i32).to_be_bytes()),
            [-70000.0]
        );
        assert_eq!(
            run(Kind::Unsigned, 4, false, &70000u32.to_le_bytes()),
            [70000.0]
        );
        assert_eq!(run(Kind::Float, 4, true, &1.5f32.to_be_bytes()), [1.5]);
        assert_eq!(
            run(Kind::Float, 4, false, &(-2.25f32).to_le_bytes()),
            [-2.25]
        );
        assert_eq!(run(Kind::Signed, 8, false, &(-5i64).to_le_bytes()), [-5.0]);
        assert_eq!(run(Kind::Unsigned, 8, true, &9u64.to_be_bytes()), [9.0]);
        assert_eq!(run(Kind::Float, 8, true, &0.125f64.to_be_bytes()), [0.125]);
        assert_eq!(run(Kind::Float, 8, false, &0.125f64.to_le_bytes()), [0.125]);
    }

    /// [`read_body`] over `bytes`, whose first `header` bytes are the header.
    fn body(
        bytes: &[u8],
        header: usize,
        dims: &[usize],
        element: Element,
        path: &Path,
    ) -> Result<Vec<f32>, DataError> {
        let reader = Box::new(std::io::Cursor::new(bytes.to_vec()));
        let mut input = Input::new(reader, path, false, crate::Limit::exactly(1 << 20));
        input.read_up_to(header, &mut Vec::new())?;
        read_body(&mut input, header as u64, 0, dims, element)
    }

    #[test]
    fn body_checks_the_length() {
        let element = Element::new(Kind::Unsigned, 2, true).unwrap();
        let path = Path::new("b");
        assert_eq!(
            body(&[9, 0, 1, 0, 2], 1, &[2], element, path).unwrap(),
            [1.0, 2.0]
        );
        let err = body(&[9, 0, 1, 0], 1, &[2], element, path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b: truncated: the file ends at byte offset 4, expected 5 bytes (2 big-endian 2-byte \
             unsigned integers after the 1-byte header)"
        );
        let err = body(&[9, 0, 1, 0, 2, 7], 1, &[2], element, path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b: 1 unexpected byte(s) after the data at byte offset 5; expected the file to end \
             there (2 big-endian 2-byte unsigned integers after the 1-byte header)"
        );
        assert_eq!(body(&[0, 4], 0, &[], element, path).unwrap(), [4.0]);
    }

    #[test]
    fn impossible_sizes_are_refused() {
        assert!(Element::new(Kind::Float, 2, false).is_none());
        assert!(Element::new(Kind::Signed, 3, false).is_none());
        assert!(Element::new(Kind::Bool, 2, false).is_none());
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            Element::new(Kind::Unsigned, 1, true).unwrap().describe(),
            "unsigned bytes"
        );
        assert_eq!(
            Element::new(Kind::Float, 4, true).unwrap().describe(),
            "big-endian 4-byte floats"
        );
    }
}
