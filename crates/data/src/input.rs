//! Opening data files: regular files only (opened without blocking, so a FIFO cannot hang
//! knit), plain or gzip-compressed (told apart by the gzip magic bytes `1f 8b`, not by the
//! file name), decoded within a [`Limit`].

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use knit_io::{Bounded, LimitExceeded};

use crate::{DataError, Limit};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A file opened for reading, decompressed on the fly when it is gzip, that fails once it
/// has yielded more bytes than its limit.
pub(crate) struct Input<'a> {
    /// The decompressed byte stream, bounded.
    pub(crate) reader: Bounded<Box<dyn Read + 'a>>,
    /// The file, for messages.
    pub(crate) path: PathBuf,
    /// Whether the file is gzip-compressed.
    pub(crate) gzip: bool,
    /// The limit the stream is bounded by.
    pub(crate) limit: Limit,
}

impl<'a> Input<'a> {
    /// Opens `path` (a regular file), detecting gzip by its first bytes.
    pub(crate) fn open(path: &Path, limit: Limit) -> Result<Input<'static>, DataError> {
        let file = knit_io::open_regular(path)?;
        let mut buffered = BufReader::with_capacity(1 << 16, file);
        let head = buffered.fill_buf().map_err(|source| DataError::Io {
            path: path.to_owned(),
            action: "read the file",
            source,
        })?;
        let gzip = head.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn Read> = if gzip {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Input::new(reader, path, gzip, limit))
    }

    /// A stream already opened (an archive member), bounded by `limit`.
    pub(crate) fn new(reader: Box<dyn Read + 'a>, path: &Path, gzip: bool, limit: Limit) -> Self {
        Input {
            reader: Bounded::new(reader, limit.bytes),
            path: path.to_owned(),
            gzip,
            limit,
        }
    }

    /// The error for a failed read of this input: the limit passed, or the system's error.
    pub(crate) fn read_error(&self, source: std::io::Error) -> DataError {
        read_error(&self.path, self.gzip, self.limit, source)
    }

    /// Reads up to `len` more bytes (fewer only at the end of the stream) into `out`.
    pub(crate) fn read_up_to(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), DataError> {
        let start = out.len();
        let result = (&mut self.reader).take(len as u64).read_to_end(out);
        debug_assert!(out.len() - start <= len);
        result.map(|_| ()).map_err(|e| self.read_error(e))
    }

    /// Fills `buf` as far as the stream goes; returns how many bytes were read (less than
    /// `buf.len()` only at the end of the stream).
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<usize, DataError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(filled)
    }

    /// How many bytes the stream still holds (bounded by the limit).
    pub(crate) fn count_rest(&mut self) -> Result<u64, DataError> {
        std::io::copy(&mut self.reader, &mut std::io::sink()).map_err(|e| self.read_error(e))
    }

    /// How many (decompressed) bytes have been read.
    pub(crate) fn offset(&self) -> u64 {
        self.reader.consumed()
    }
}

/// The error for a failed read of `path`: the limit passed, or the system's error (naming
/// decompression when the file is gzip).
pub(crate) fn read_error(
    path: &Path,
    gzip: bool,
    limit: Limit,
    source: std::io::Error,
) -> DataError {
    if LimitExceeded::find(&source).is_some() {
        return limit.exceeded(path, gzip);
    }
    DataError::Io {
        path: path.to_owned(),
        action: if gzip {
            "decompress the gzip data"
        } else {
            "read the file"
        },
        source,
    }
}
