//! [`FileError`]: what can go wrong reading or writing a file, always naming the file.

use crate::FileKind;
use std::path::PathBuf;
use thiserror::Error;

/// An error opening, reading or writing a file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FileError {
    /// The operating system refused an operation.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("open the file", "read the file"...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A file that must be a regular file is something else (a device, a FIFO, a folder).
    #[error("{}: is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        kind: FileKind,
    },

    /// A file cannot be created because a part of its path is not a folder.
    #[error("{}: {} is {kind}, not a folder", path.display(), ancestor.display())]
    NotAFolder {
        /// The file.
        path: PathBuf,
        /// The part of its path that exists and is not a folder.
        ancestor: PathBuf,
        /// What that part is.
        kind: FileKind,
    },

    /// The file holds more bytes than the reader accepts.
    #[error(
        "{}: the file is larger than {limit} bytes, the most knit reads here",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The largest size accepted, in bytes.
        limit: u64,
    },

    /// A text file holds bytes that are not UTF-8.
    #[error("{}: the file is not UTF-8 text (byte {offset})", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The 0-based offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
}

impl FileError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            FileError::Io { path, .. }
            | FileError::NotRegular { path, .. }
            | FileError::NotAFolder { path, .. }
            | FileError::TooLarge { path, .. }
            | FileError::NotUtf8 { path, .. } => path,
        }
    }

    /// The message without the leading file name, for callers that print the file
    /// themselves (a diagnostic that already says "cannot read FILE").
    pub fn reason(&self) -> String {
        let full = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        full.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(full)
    }
}
