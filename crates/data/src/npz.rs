//! NPZ archives (NumPy's `np.savez` and `np.savez_compressed`): a zip file of NPY arrays,
//! the array `name` stored as the member `name.npy`, stored or deflated.
//!
//! Errors inside a member name it as `archive.npz/name.npy`.

use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use zip::result::ZipError;
use zip::ZipArchive;

use crate::dataset::{from_arrays, Array, Dataset};
use crate::input::Input;
use crate::npy::parse;
use crate::{DataError, LabelRule, Limit};

/// An opened NPZ archive.
pub struct Npz {
    /// The zip reader.
    archive: ZipArchive<File>,
    /// The archive's path, for messages.
    path: PathBuf,
    /// The most bytes decoded from one member (whatever size the archive declares for it).
    limit: Limit,
}

impl Npz {
    /// Opens the archive at `path` (a regular file), its members read within the default
    /// [`Limit`].
    pub fn open(path: &Path) -> Result<Npz, DataError> {
        Npz::open_within(path, Limit::default())
    }

    /// Opens the archive at `path`, each member read within `limit` decoded bytes.
    pub fn open_within(path: &Path, limit: Limit) -> Result<Npz, DataError> {
        let file = knit_io::open_regular(path)?;
        let archive = ZipArchive::new(file).map_err(|err| archive_error(path, err))?;
        Ok(Npz {
            archive,
            path: path.to_owned(),
            limit,
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
        Ok(self.read_array(name)?.array)
    }

    /// [`Npz::read`], with where the values are in the member.
    fn read_array(&mut self, name: &str) -> Result<Array, DataError> {
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
        let file = self
            .archive
            .by_name(&member)
            .map_err(|err| archive_error(&self.path, err))?;
        // The member's declared size is not trusted: the bounded stream stops at the limit.
        parse(&mut Input::new(
            Box::new(file),
            &member_path,
            false,
            self.limit,
        ))
    }
}

/// Loads the arrays `features` (`[n, ...]`) and `labels` (`[n]` or `[n, 1]`) of the archive
/// at `path` as a dataset, within the default [`Limit`], the labels checked by
/// [`LabelRule::Any`].
pub fn load_npz(path: &Path, features: &str, labels: &str) -> Result<Dataset, DataError> {
    load_npz_within(path, features, labels, Limit::default(), LabelRule::Any)
}

/// [`load_npz`] within `limit` (per member), each label checked by `rule`.
pub fn load_npz_within(
    path: &Path,
    features: &str,
    labels: &str,
    limit: Limit,
    rule: LabelRule,
) -> Result<Dataset, DataError> {
    let mut npz = Npz::open_within(path, limit)?;
    let x = npz.read_array(features)?;
    let y = npz.read_array(labels)?;
    from_arrays(
        x.array,
        &path.join(format!("{features}.npy")),
        y,
        &path.join(format!("{labels}.npy")),
        rule,
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
