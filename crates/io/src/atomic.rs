//! [`write_atomically`]: a file is either the old one or the new one, never half of either,
//! and a path that is not a regular file is never replaced by one.

use crate::{file_kind, FileError, FileKind};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The most symbolic links followed from one path (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path` so that a crash, a kill or a full disk leaves either the old
/// contents or the new ones.
///
/// - A missing or regular file is written to a temporary file beside it
///   ([`temporary_path`]), synced, renamed over it, and the folder synced; the file keeps
///   its permissions. Temporaries of the same target left by processes that no longer run
///   (a `kill -9` during an earlier save) are removed first.
/// - A symbolic link is followed: its final target is replaced as above, the link stays.
/// - A special file (`/dev/null`, a character device, a FIFO) is written to in place, as a
///   shell redirection would, instead of being replaced by a regular file.
/// - A folder is an error.
///
/// Missing parent folders are created.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let io = |path: &Path, action| {
        let path = path.to_owned();
        move |source| FileError::Io {
            path,
            action,
            source,
        }
    };
    let target = resolve_links(path).map_err(io(path, "follow the symbolic link"))?;
    match std::fs::metadata(&target) {
        Ok(metadata) => match file_kind(&metadata) {
            FileKind::Regular => {}
            FileKind::Directory => {
                return Err(FileError::NotRegular {
                    path: path.to_owned(),
                    kind: FileKind::Directory,
                })
            }
            _ => return write_through(&target, bytes).map_err(io(path, "write to the file")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path, "inspect the file")(e)),
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent, "create the folder"))?;
    remove_stale_temporaries(&target);
    let tmp = temporary_path(&target);
    let result = replace(&target, &tmp, bytes);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io(path, "write the file"))?;
    // The rename is durable once the folder's entry is on disk; a folder that cannot be
    // synced (some file systems refuse) still holds a complete file.
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Whether [`write_atomically`] could write `path`, told without writing anything: the
/// path (its symlinks followed) must not be a folder, and its nearest existing ancestor must
/// be a folder (a missing folder is created by the write). A long run checks its outputs
/// with this before it starts, so that a bad path fails at once, not after the first epoch.
pub fn check_writable(path: &Path) -> Result<(), FileError> {
    let target = resolve_links(path).map_err(|source| FileError::Io {
        path: path.to_owned(),
        action: "follow the symbolic link",
        source,
    })?;
    if let Ok(metadata) = std::fs::metadata(&target) {
        if file_kind(&metadata) == FileKind::Directory {
            return Err(FileError::NotRegular {
                path: path.to_owned(),
                kind: FileKind::Directory,
            });
        }
        return Ok(());
    }
    let mut ancestor = target.parent();
    while let Some(dir) = ancestor.filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(metadata) = std::fs::metadata(dir) {
            let kind = file_kind(&metadata);
            if kind != FileKind::Directory {
                return Err(FileError::NotAFolder {
                    path: path.to_owned(),
                    ancestor: dir.to_owned(),
                    kind,
                });
            }
            return Ok(());
        }
        ancestor = dir.parent();
    }
    Ok(())
}

/// The absolute path, free of symbolic links, of the file that [`write_atomically`] on
/// `path` replaces, also for a file that does not exist yet (its folder is resolved, or the
/// dangling link's target); `None` when it cannot be told (a link loop). Two outputs with
/// the same target are the same file.
pub fn write_target(path: &Path) -> Option<PathBuf> {
    let target = resolve_links(path).ok()?;
    if let Ok(absolute) = std::fs::canonicalize(&target) {
        return Some(absolute);
    }
    let name = target.file_name()?;
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Some(write_target(parent)?.join(name))
}

/// The temporary file [`write_atomically`] writes before renaming it over `path`:
/// `NAME.tmp-PID` beside it, PID being this process's id.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes the temporary file and renames it over `target`.
fn replace(target: &Path, tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A temporary of this very process (an earlier failed attempt) is ours to replace.
    let _ = std::fs::remove_file(tmp);
    let mode = std::fs::metadata(target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o666);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, target)
}

/// Writes into an existing special file without truncating or replacing it.
fn write_through(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(target)?;
    file.write_all(bytes)?;
    file.flush()
}

/// The path `path` names once every symbolic link along its last component is followed (a
/// dangling link gives the path it points to, which is then created).
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::from_raw_os_error(libc::ELOOP))
}

/// Removes `NAME.tmp-PID` files beside `target` whose process no longer runs. Temporaries
/// of live processes (another save in progress) are left alone; failures are ignored, as
/// a leftover temporary harms nothing but space.
fn remove_stale_temporaries(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let is_regular = entry.file_type().is_ok_and(|t| t.is_file());
        if is_regular && pid as u32 != std::process::id() && !process_runs(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists (signal 0 checks without sending anything).
fn process_runs(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only reports whether `pid` exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_regular_file_is_replaced_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary is left behind");
    }

    #[test]
    fn a_symlink_is_written_through_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, b"old").unwrap();
        symlink("real.json", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.json");
        symlink("sub/made.json", &link).unwrap();
        write_atomically(&link, b"x").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("sub/made.json")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn a_character_device_is_written_to_not_replaced() {
        write_atomically(Path::new("/dev/null"), b"discarded").unwrap();
        let metadata = std::fs::metadata("/dev/null").unwrap();
        assert_eq!(file_kind(&metadata), FileKind::CharDevice);
    }

    #[test]
    fn writability_is_told_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(&dir.path().join("new/deeper/run.safetensors")).is_ok());
        let err = check_writable(dir.path()).unwrap_err();
        assert!(
            err.to_string().ends_with("is a folder, not a regular file"),
            "{err}"
        );
        let err = check_writable(Path::new("/dev/null/run.safetensors")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/dev/null/run.safetensors: /dev/null is a character device, not a folder"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn the_write_target_of_a_link_or_a_new_file_is_absolute_and_link_free() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(base.join("real.json"), b"x").unwrap();
        symlink("real.json", base.join("link.json")).unwrap();
        symlink("sub/new.json", base.join("dangling.json")).unwrap();
        assert_eq!(
            write_target(&base.join("link.json")),
            Some(base.join("real.json"))
        );
        assert_eq!(
            write_target(&base.join("dangling.json")),
            Some(base.join("sub/new.json"))
        );
        assert_eq!(
            write_target(&base.join("a/b.json")),
            Some(base.join("a/b.json"))
        );
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomically(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().ends_with("is a folder, not a regular file"));
    }

    #[test]
    fn temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
        // PID 1 always runs; a PID above the kernel's maximum (4194304) never does.
        let live = dir.path().join("run.safetensors.tmp-1");
        let dead = dir.path().join("run.safetensors.tmp-2147483646");
        let other = dir.path().join("other.safetensors.tmp-2147483646");
        for p in [&live, &dead, &other] {
            std::fs::write(p, b"partial").unwrap();
        }
        write_atomically(&path, b"full").unwrap();
        assert!(live.exists());
        assert!(!dead.exists());
        assert!(
            other.exists(),
            "another target's temporaries are not touched"
        );
    }
}
