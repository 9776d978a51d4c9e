//! Safe file access for knit, the promises every command keeps about the files it touches:
//!
//! - **Reads are bounded and never block.** [`read_bounded`] and [`open_regular`] open a
//!   file without blocking (a FIFO would wait for a writer forever), refuse anything that is
//!   not a regular file (`/dev/zero`, a FIFO, a directory) before reading a byte, and stop at
//!   a stated limit while reading, so no file can make knit read until memory runs out.
//!   [`Bounded`] does the same for a stream that grows as it is read (gzip output).
//! - **Writes keep the old file or give the new one.** [`write_atomically`] writes a
//!   temporary file beside the target, syncs it and renames it over the target, so a crash or
//!   a full disk never leaves half a file; a symlink is written through (its target is
//!   replaced, the link kept), a special file (`/dev/null`, a character device, a FIFO) is
//!   written to in place rather than replaced by a regular file, and temporaries left by a
//!   killed process for the same target are removed.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("report.json");
//! knit_io::write_atomically(&path, b"{}").unwrap();
//! assert_eq!(knit_io::read_bounded(&path, 1 << 20).unwrap(), b"{}");
//! let err = knit_io::read_bounded(&path, 1).unwrap_err();
//! assert!(err.to_string().contains("larger than 1 bytes"), "{err}");
//! ```

mod atomic;
mod bounded;
mod bytes;
mod error;
mod regular;

pub use atomic::{check_writable, temporary_path, write_atomically, write_target};
pub use bounded::{Bounded, LimitExceeded};
pub use bytes::bytes_text;
pub use error::FileError;
pub use regular::{file_kind, open_regular, read_bounded, read_text_bounded, FileKind};
