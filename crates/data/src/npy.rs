//! NPY files (NumPy's `np.save` format), versions 1.0, 2.0 and 3.0.
//!
//! Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length (u16
//! little-endian for version 1, u32 for versions 2 and 3), then the header — a Python dict
//! literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` — then the
//! raw values. Element types: floats (f4, f8), signed and unsigned integers (1, 2, 4 and 8
//! bytes) and bools, little- or big-endian. Fortran-ordered arrays are transposed into row-major
//! order on load.
//!
//! The parser is written here rather than taken from a crate: the format is tiny, and owning
//! it lets every error name the byte offset and what was expected.

use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use crate::dataset::{from_arrays, Array, Dataset};
use crate::decode::{read_body, truncated, Element, Kind};
use crate::input::Input;
use crate::{DataError, LabelRule, Limit};

/// The six bytes every NPY file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The longest NPY header read (NumPy itself refuses headers over 10,000 bytes by default).
const MAX_HEADER: usize = 1 << 20;

/// Reads an NPY file (plain or gzip-compressed) as an `f32` array of its shape, in row-major
/// order, within the default [`Limit`].
pub fn read_npy(path: &Path) -> Result<ArrayD<f32>, DataError> {
    Ok(read(path, Limit::default())?.array)
}

/// Loads a features file `[n, ...]` and a labels file `[n]` (or `[n, 1]`) as a dataset,
/// within the default [`Limit`], the labels checked by [`LabelRule::Any`].
pub fn load_npy(features: &Path, labels: &Path) -> Result<Dataset, DataError> {
    load_npy_within(features, labels, Limit::default(), LabelRule::Any)
}

/// [`load_npy`] within `limit` (per file), each label checked by `rule`.
pub fn load_npy_within(
    features: &Path,
    labels: &Path,
    limit: Limit,
    rule: LabelRule,
) -> Result<Dataset, DataError> {
    let x = read(features, limit)?;
    let y = read(labels, limit)?;
    from_arrays(x.array, features, y, labels, rule)
}

/// Reads the NPY file at `path` within `limit`.
fn read(path: &Path, limit: Limit) -> Result<Array, DataError> {
    parse(&mut Input::open(path, limit)?)
}

/// Parses the bytes of an NPY file, within the default [`Limit`] (the array a header
/// announces is refused before it is allocated); `path` names it in errors.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<ArrayD<f32>, DataError> {
    let limit = Limit::default();
    let mut input = Input::new(Box::new(bytes), path, false, limit);
    Ok(parse(&mut input)?.array)
}

/// Parses the (decompressed) stream of an NPY file.
pub(crate) fn parse(input: &mut Input<'_>) -> Result<Array, DataError> {
    let path = input.path.clone();
    let header_error = |offset: usize, message: String| DataError::NpyHeader {
        path: path.clone(),
        offset: offset as u64,
        message,
    };
    let mut bytes = Vec::with_capacity(12);
    input.read_up_to(10, &mut bytes)?;
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            path,
            expected: "an NPY header",
        });
    }
    if !bytes.starts_with(MAGIC) {
        if MAGIC.starts_with(&bytes) {
            return Err(truncated(&path, &bytes, 10, "the NPY preamble"));
        }
        let found = bytes
            .iter()
            .take(6)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from);
        return Err(DataError::NpyMagic {
            path,
            found: found.collect(),
        });
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(truncated(&path, &bytes, 10, "the NPY preamble")),
    };
    let (length_bytes, start) = match (major, minor) {
        (1, 0) => (2, 10),
        (2 | 3, 0) => (4, 12),
        _ => return Err(DataError::NpyVersion { path, major, minor }),
    };
    input.read_up_to(start - bytes.len(), &mut bytes)?;
    let Some(length) = bytes.get(8..8 + length_bytes) else {
        return Err(truncated(&path, &bytes, start as u64, "the NPY preamble"));
    };
    let length = length
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if length > MAX_HEADER {
        let message = format!("the header length is {length} bytes; expected at most {MAX_HEADER}");
        return Err(header_error(8, message));
    }
    let end = start + length;
    input.read_up_to(length, &mut bytes)?;
    let Some(text) = bytes.get(start..end) else {
        let what = format!("the {length}-byte NPY header");
        return Err(truncated(&path, &bytes, end as u64, &what));
    };
    if major == 3 && std::str::from_utf8(text).is_err() {
        return Err(header_error(
            start,
            "expected UTF-8 text (format version 3)".to_owned(),
        ));
    }
    let header =
        Header::parse(text, start).map_err(|(offset, message)| header_error(offset, message))?;
    let element = header.element(&path)?;
    let shape_offset = header.shape_offset as u64;
    let values = read_body(input, end as u64, shape_offset, &header.shape, element)?;
    let shape = IxDyn(&header.shape);
    let bad_shape = || DataError::BadShape {
        path: path.clone(),
        found: header.shape.clone(),
        expected: "a shape whose product fits in memory",
    };
    let array = if header.fortran_order {
        let columns = ArrayD::from_shape_vec(shape.clone().f(), values).map_err(|_| bad_shape())?;
        let mut rows = ArrayD::zeros(shape);
        rows.assign(&columns);
        rows
    } else {
        ArrayD::from_shape_vec(shape, values).map_err(|_| bad_shape())?
    };
    Ok(Array {
        array,
        body_offset: end as u64,
        element_size: element.size,
    })
}

/// The three fields of an NPY header.
#[derive(Debug, PartialEq)]
struct Header {
    /// The dtype string, e.g. `<f4`; `None` for a structured (list) dtype, with its text.
    descr: Result<String, String>,
    /// The byte offset of the `descr` value in the file.
    descr_offset: usize,
    /// The byte offset of the `shape` value in the file.
    shape_offset: usize,
    /// Whether values are stored column-major.
    fortran_order: bool,
    /// The array's shape.
    shape: Vec<usize>,
}

impl Header {
    /// Parses the header text found at byte offset `start`; errors carry a file offset.
    fn parse(text: &[u8], start: usize) -> Result<Header, (usize, String)> {
        let mut parser = Parser {
            text,
            pos: 0,
            depth: 0,
        };
        let dict = match parser.value() {
            Ok(Literal::Dict(entries)) => entries,
            Ok(_) => return Err((start, "expected a dict {'descr': ..., ...}".to_owned())),
            Err((pos, message)) => return Err((start + pos, message)),
        };
        let mut descr = None;
        let mut fortran_order = None;
        let mut shape = None;
        let (mut descr_offset, mut shape_offset) = (start, start);
        for (key, at, value) in dict {
            let at = start + at;
            match key.as_str() {
                "descr" => descr_offset = at,
                "shape" => shape_offset = at,
                _ => {}
            }
            match (key.as_str(), value) {
                ("descr", Literal::Str(s)) => descr = Some(Ok(s)),
                ("descr", other) => descr = Some(Err(other.to_string())),
                ("fortran_order", Literal::Bool(b)) => fortran_order = Some(b),
                ("shape", Literal::Tuple(items)) => {
                    let dims: Option<Vec<usize>> = items
                        .into_iter()
                        .map(|item| match item {
                            Literal::Int(d) => usize::try_from(d).ok(),
                            _ => None,
                        })
                        .collect();
                    let message = "expected 'shape' to be a tuple of non-negative integers";
                    shape = Some(dims.ok_or((at, message.to_owned()))?);
                }
                ("fortran_order" | "shape", other) => {
                    let message = format!("unexpected value {other} for '{key}'");
                    return Err((at, message));
                }
                _ => {}
            }
        }
        match (descr, fortran_order, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header {
                descr,
                descr_offset,
                shape_offset,
                fortran_order,
                shape,
            }),
            _ => Err((
                start,
                "expected the keys 'descr', 'fortran_order' and 'shape', some are missing"
                    .to_owned(),
            )),
        }
    }

    /// The element type named by `descr`.
    fn element(&self, path: &Path) -> Result<Element, DataError> {
        let unsupported = |descr: &str| DataError::NpyDtype {
            path: path.to_owned(),
            offset: self.descr_offset as u64,
            descr: descr.to_owned(),
        };
        let descr = self.descr.as_ref().map_err(|text| unsupported(text))?;
        let (big_endian, rest) = match descr.as_bytes().first() {
            Some(b'>') => (true, &descr[1..]),
            Some(b'<' | b'|') => (false, &descr[1..]),
            Some(b'=') => (cfg!(target_endian = "big"), &descr[1..]),
            _ => (cfg!(target_endian = "big"), descr.as_str()),
        };
        let kind = match rest.as_bytes().first() {
            Some(b'f') => Kind::Float,
            Some(b'i') => Kind::Signed,
            Some(b'u') => Kind::Unsigned,
            Some(b'b') => Kind::Bool,
            _ => return Err(unsupported(descr)),
        };
        rest[1..]
            .parse::<usize>()
            .ok()
            .and_then(|size| Element::new(kind, size, big_endian))
            .ok_or_else(|| unsupported(descr))
    }
}

/// A Python literal as it appears in NPY headers.
#[derive(Debug, PartialEq)]
enum Literal {
    /// `'text'` or `"text"`.
    Str(String),
    /// A non-negative integer (`3` or Python 2's `3L`).
    Int(u64),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// `(a, b, ...)`.
    Tuple(Vec<Literal>),
    /// `[a, b, ...]`.
    List(Vec<Literal>),
    /// `{'key': value, ...}` (string keys), each value with its position in the text.
    Dict(Vec<(String, usize, Literal)>),
}

impl std::fmt::Display for Literal {
    /// Python's spelling of the literal.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        /// Writes `items` separated by ", " between `open` and `close`.
        fn join<T>(
            f: &mut std::fmt::Formatter<'_>,
            open: &str,
            items: &[T],
            close: &str,
            each: impl Fn(&mut std::fmt::Formatter<'_>, &T) -> std::fmt::Result,
        ) -> std::fmt::Result {
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                each(f, item)?;
            }
            f.write_str(close)
        }
        match self {
            Literal::Str(s) => write!(f, "'{s}'"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Bool(true) => f.write_str("True"),
            Literal::Bool(false) => f.write_str("False"),
            Literal::None => f.write_str("None"),
            Literal::Tuple(items) => join(f, "(", items, ")", |f, item| write!(f, "{item}")),
            Literal::List(items) => join(f, "[", items, "]", |f, item| write!(f, "{item}")),
            Literal::Dict(entries) => join(f, "{", entries, "}", |f, (key, _, value)| {
                write!(f, "'{key}': {value}")
            }),
        }
    }
}

/// A recursive-descent reader of [`Literal`]s; errors carry a position within the text.
struct Parser<'a> {
    /// The header text.
    text: &'a [u8],
    /// The next byte to read.
    pos: usize,
    /// How many dicts, tuples and lists are open around the current position.
    depth: usize,
}

/// The deepest nesting of dicts, tuples and lists read (a real header nests 3 deep; a
/// hostile one could nest a million deep and overflow the stack).
const MAX_DEPTH: usize = 32;

impl Parser<'_> {
    /// The next non-blank byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while self.text.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        self.text.get(self.pos).copied()
    }

    /// An error at the current position.
    fn error<T>(&self, expected: &str) -> Result<T, (usize, String)> {
        let found = match self.text.get(self.pos) {
            Some(&b) => format!("{:?}", char::from(b)),
            None => "the end of the header".to_owned(),
        };
        Err((self.pos, format!("expected {expected}, found {found}")))
    }

    /// Consumes `byte` (after blanks) or fails.
    fn expect(&mut self, byte: u8) -> Result<(), (usize, String)> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(&format!("{:?}", char::from(byte)))
        }
    }

    /// One literal.
    fn value(&mut self) -> Result<Literal, (usize, String)> {
        match self.peek() {
            Some(b'{') => {
                let entries = self.sequence(b'{', b'}', |p| {
                    let key = match p.value()? {
                        Literal::Str(key) => key,
                        _ => return p.error("a string key"),
                    };
                    p.expect(b':')?;
                    p.peek();
                    let at = p.pos;
                    Ok((key, at, p.value()?))
                })?;
                Ok(Literal::Dict(entries))
            }
            Some(b'(') => Ok(Literal::Tuple(self.sequence(b'(', b')', Parser::value)?)),
            Some(b'[') => Ok(Literal::List(self.sequence(b'[', b']', Parser::value)?)),
            Some(quote @ (b'\'' | b'"')) => {
                let begin = self.pos + 1;
                let Some(len) = self.text[begin..].iter().position(|&b| b == quote) else {
                    self.pos = self.text.len();
                    return self.error("a closing quote");
                };
                self.pos = begin + len + 1;
                Ok(Literal::Str(
                    String::from_utf8_lossy(&self.text[begin..begin + len]).into_owned(),
                ))
            }
            Some(b'0'..=b'9') => {
                let begin = self.pos;
                while self.text.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let digits = std::str::from_utf8(&self.text[begin..self.pos]).unwrap_or_default();
                let Ok(value) = digits.parse::<u64>() else {
                    self.pos = begin;
                    return self.error("an integer that fits in 64 bits");
                };
                if self.text.get(self.pos) == Some(&b'L') {
                    self.pos += 1;
                }
                Ok(Literal::Int(value))
            }
            Some(b'A'..=b'Z') => {
                for (word, literal) in [
                    ("True", Literal::Bool(true)),
                    ("False", Literal::Bool(false)),
                    ("None", Literal::None),
                ] {
                    if self.text[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(literal);
                    }
                }
                self.error("True, False or None")
            }
            _ => self.error("a value (a dict, tuple, list, string, integer, True, False or None)"),
        }
    }

    /// `open item, item, ... [,] close`, each item read by `item`.
    fn sequence<T>(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T, (usize, String)>,
    ) -> Result<Vec<T>, (usize, String)> {
        if self.depth >= MAX_DEPTH {
            return self.error(&format!("at most {MAX_DEPTH} nested brackets"));
        }
        self.expect(open)?;
        self.depth += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                self.depth -= 1;
                return Ok(items);
            }
            items.push(item(self)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {}
                _ => return self.error(&format!("',' or {:?}", char::from(close))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NPY v1 file with the given header dict and raw data.
    fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut header = dict.as_bytes().to_vec();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn header_literals() {
        let text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4), }";
        let header = Header::parse(text, 10).unwrap();
        assert_eq!(
            header,
            Header {
                descr: Ok("<f8".into()),
                descr_offset: 10 + 10,
                shape_offset: 10 + 50,
                fortran_order: false,
                shape: vec![3, 4]
            }
        );
        let scalar = Header::parse(
            b"{\"descr\":\"|u1\",\"fortran_order\":True,\"shape\":()}",
            0,
        );
        assert_eq!(scalar.unwrap().shape, Vec::<usize>::new());
    }

    #[test]
    fn header_errors_carry_the_file_offset() {
        let (offset, message) =
            Header::parse(b"{'descr': '<f4', 'shape': (2,) 'x'}", 10).unwrap_err();
        assert_eq!(offset, 10 + 31);
        assert_eq!(message, "expected ',' or '}', found '\\''");
        let (_, message) = Header::parse(b"{'descr': '<f4', 'shape': (2,)}", 0).unwrap_err();
        assert!(message.contains("'fortran_order'"), "{message}");
        let (_, message) = Header::parse(b"{'descr': '<f4", 0).unwrap_err();
        assert_eq!(
            message,
            "expected a closing quote, found the end of the header"
        );
    }

    #[test]
    fn reads_fortran_order_as_row_major() {
        // [[1, 2, 3], [4, 5, 6]] stored column by column.
        let data: Vec<u8> = [1i16, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let bytes = npy(
            "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        );
        let array = parse_npy(&bytes, Path::new("f.npy")).unwrap();
        assert_eq!(array.shape(), &[2, 3]);
        assert_eq!(
            array.iter().copied().collect::<Vec<_>>(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
    }

    #[test]
    fn version_2_and_3_headers() {
        for major in [2u8, 3] {
            let dict = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n";
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&[major, 0]);
            bytes.extend_from_slice(&(dict.len() as u32).to_le_bytes());
            bytes.extend_from_slice(dict);
            bytes.extend_from_slice(&[7, 9]);
            let array = parse_npy(&bytes, Path::new("v.npy")).unwrap();
            assert_eq!(array.iter().copied().collect::<Vec<_>>(), [7.0, 9.0]);
        }
    }

    #[test]
    fn unsupported_dtypes_and_versions() {
        let bytes = npy(
            "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
            &[0, 0],
        );
        let err = parse_npy(&bytes, Path::new("h.npy")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("h.npy: byte offset 20: unsupported NPY dtype \"<f2\""),
            "{err}"
        );
        let bytes = npy(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        let err = parse_npy(&bytes, Path::new("s.npy")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("s.npy: byte offset 20: unsupported NPY dtype \"[('a', '<f4')]\""),
            "{err}"
        );
        let mut bytes = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }",
            &[],
        );
        bytes[6] = 4;
        let err = parse_npy(&bytes, Path::new("v.npy")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "v.npy: byte offset 6: NPY format version 4.0; expected 1.0, 2.0 or 3.0"
        );
    }

    #[test]
    fn wrong_magic_and_short_files() {
        let err = parse_npy(b"PK\x03\x04rest", Path::new("z.npy")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "z.npy: byte offset 0: not an NPY file; expected the magic \"\\x93NUMPY\", found \"PK\\\\x03\\\\x04re\""
        );
        let err = parse_npy(b"\x93NUM", Path::new("t.npy")).unwrap_err();
        assert!(
            err.to_string()
                .contains("truncated: the file ends at byte offset 4"),
            "{err}"
        );
        let err = parse_npy(b"", Path::new("e.npy")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "e.npy: the file is empty; expected an NPY header"
        );
    }
}
