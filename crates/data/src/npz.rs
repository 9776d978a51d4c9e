//! NPZ archives (NumPy's `np.savez` and `np.savez_compressed`): a zip file of NPY arrays,
//! the array `name` stored as the member `name.npy`, stored or deflated.
//!
//! Errors inside a member name it as `archive.npz/name.npy`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use zip::result::ZipError;
use zip::ZipArchive;

use crate::dataset::{from_arrays, Dataset};
use crate::input::open_file;
use crate::npy::parse_npy;
use crate::DataError;

/// An opened NPZ archive.
pub struct Npz {
    /// The zip reader.
    archive: ZipArchive<File>,
    /// The archive's path, for messages.
    path: PathBuf,
}

impl Npz {
    /// Opens the archive at `path`.
    pub fn open(path: &Path) -> Result<Npz, DataError> {
        let file = open_file(path)?;
        let archive = ZipArchive::new(file).map_err(|err| archive_error(path, err))?;
        Ok(Npz {
            archive,
            path: path.to_owned(),
        })
    }

    /// The names of the arrays it holds (member names without `.npy`), in archive order.
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(Result::ok)
            .map(|name| name.strip_suffix(".npy").unwrap_or(&name).to_owned())
            .collect()
    }

    /// Reads the array `name` (the member `name.npy`, or `name` itself) as `f32`.
    pub fn read(&mut self, name: &str) -> Result<ArrayD<f32>, DataError> {
        let available = self.names();
        let member = [format!("{name}.npy"), name.to_owned()]
            .into_iter()
            .find(|candidate| self.archive.index_for_name(candidate).is_some())
            .ok_or_else(|| DataError::NpzMember {
                path: self.path.clone(),
                name: name.to_owned(),
                available,
            })?;
        let member_path = self.path.join(&member);
        let mut file = self
            .archive
            .by_name(&member)
            .map_err(|err| archive_error(&self.path, err))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|source| DataError::Io {
                path: member_path.clone(),
                action: "decompress the archive member",
                source,
            })?;
        parse_npy(&bytes, &member_path)
    }
}

/// Loads the arrays `features` (`[n, ...]`) and `labels` (`[n]` or `[n, 1]`) of the archive
/// at `path` as a dataset.
pub fn load_npz(path: &Path, features: &str, labels: &str) -> Result<Dataset, DataError> {
    let mut npz = Npz::open(path)?;
    let x = npz.read(features)?;
    let y = npz.read(labels)?;
    from_arrays(
        x,
        &path.join(format!("{features}.npy")),
        y,
        &path.join(format!("{labels}.npy")),
    )
}

/// A zip error as a [`DataError`] naming the archive.
fn archive_error(path: &Path, err: ZipError) -> DataError {
    match err {
        ZipError::Io(source) => DataError::Io {
            path: path.to_owned(),
            action: "read the archive",
            source,
        },
        other => DataError::Archive {
            path: path.to_owned(),
            message: other.to_string(),
        },
    }
}
