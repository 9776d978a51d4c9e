//! Opening and reading regular files only, without blocking and within a size limit.

use crate::FileError;
use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a path names, for messages about files that must be regular.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A folder.
    Directory,
    /// A character device (`/dev/zero`, `/dev/null`, a terminal).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A symbolic link (only seen when links are not followed).
    Symlink,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Regular => "a regular file",
            FileKind::Directory => "a folder",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Fifo => "a named pipe (FIFO)",
            FileKind::Socket => "a socket",
            FileKind::Symlink => "a symbolic link",
        })
    }
}

/// The kind of file `metadata` describes.
pub fn file_kind(metadata: &Metadata) -> FileKind {
    let t = metadata.file_type();
    if t.is_file() {
        FileKind::Regular
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_char_device() {
        FileKind::CharDevice
    } else if t.is_block_device() {
        FileKind::BlockDevice
    } else if t.is_fifo() {
        FileKind::Fifo
    } else {
        FileKind::Socket
    }
}

/// Opens `path` for reading if it is a regular file (symlinks followed).
///
/// The file is opened with `O_NONBLOCK`, so a FIFO cannot make the call wait for a writer,
/// and its type is checked on the open descriptor (no window between a check and the
/// open); `O_NONBLOCK` is then cleared, which changes nothing for a regular file.
pub fn open_regular(path: &Path) -> Result<File, FileError> {
    let io = |action, source| FileError::Io {
        path: path.to_owned(),
        action,
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io("open the file", e))?;
    let metadata = file.metadata().map_err(|e| io("inspect the file", e))?;
    let kind = file_kind(&metadata);
    if kind != FileKind::Regular {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
            kind,
        });
    }
    clear_nonblocking(&file).map_err(|e| io("open the file", e))?;
    Ok(file)
}

fn clear_nonblocking(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is a descriptor this function's caller owns and keeps open; F_GETFL and
    // F_SETFL only read and set its status flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The bytes of the regular file at `path`, refused with [`FileError::TooLarge`] if it holds
/// more than `limit` bytes.
///
/// The limit is checked while reading (at most `limit + 1` bytes are ever read), not
/// against the size the file system reports, which a file that grows can outrun.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    let hint = file.metadata().map(|m| m.len().min(limit)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Io {
            path: path.to_owned(),
            action: "read the file",
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// [`read_bounded`] for a UTF-8 text file; invalid UTF-8 is [`FileError::NotUtf8`] with the
/// byte offset of the first bad byte.
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, FileError> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
        path: path.to_owned(),
        offset: e.utf8_error().valid_up_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_refused_before_reading() {
        let err = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/dev/zero: is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = read_bounded(dir.path(), 10).unwrap_err();
        assert!(
            err.to_string().ends_with("is a folder, not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_bounded(&fifo, 10).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("is a named pipe (FIFO), not a regular file"));
    }

    #[test]
    fn the_limit_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        let err = read_bounded(&path, 4).unwrap_err();
        assert!(matches!(err, FileError::TooLarge { limit: 4, .. }));
    }

    #[test]
    fn invalid_utf8_names_the_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.net");
        std::fs::write(&path, b"ab\xffcd").unwrap();
        let err = read_text_bounded(&path, 100).unwrap_err();
        assert_eq!(err.reason(), "the file is not UTF-8 text (byte 2)");
    }
}
