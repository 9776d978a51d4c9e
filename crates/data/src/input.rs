//! Opening data files: plain or gzip-compressed, told apart by the gzip magic bytes
//! (`1f 8b`), not by the file name.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use crate::DataError;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A file opened for reading, decompressed on the fly when it is gzip.
pub(crate) struct Input {
    /// The decompressed byte stream.
    pub(crate) reader: Box<dyn Read>,
    /// The file, for messages.
    pub(crate) path: PathBuf,
    /// Whether the file is gzip-compressed.
    pub(crate) gzip: bool,
}

impl Input {
    /// Opens `path`, detecting gzip by its first bytes.
    pub(crate) fn open(path: &Path) -> Result<Input, DataError> {
        let mut buffered = BufReader::with_capacity(1 << 16, open_file(path)?);
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
        Ok(Input {
            reader,
            path: path.to_owned(),
            gzip,
        })
    }

    /// The error for a failed read of this input.
    pub(crate) fn read_error(&self, source: std::io::Error) -> DataError {
        read_error(&self.path, self.gzip, source)
    }

    /// Reads the whole (decompressed) content.
    pub(crate) fn read_all(mut self) -> Result<Vec<u8>, DataError> {
        let mut bytes = Vec::new();
        match self.reader.read_to_end(&mut bytes) {
            Ok(_) => Ok(bytes),
            Err(source) => Err(self.read_error(source)),
        }
    }
}

/// Opens `path` for reading, as is.
pub(crate) fn open_file(path: &Path) -> Result<File, DataError> {
    File::open(path).map_err(|source| DataError::Io {
        path: path.to_owned(),
        action: "open the file",
        source,
    })
}

/// The error for a failed read of `path`, naming decompression when the file is gzip.
pub(crate) fn read_error(path: &Path, gzip: bool, source: std::io::Error) -> DataError {
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

/// Reads the whole (decompressed) content of `path`.
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>, DataError> {
    Input::open(path)?.read_all()
}
