//! The study's errors: an experiment file that does not compile, data that does not load, a
//! run that fails, a report that cannot be written.

use std::path::PathBuf;

impl StudyError {
    /// A training error of the experiment `path`.
    pub fn train(path: &std::path::Path, source: knit_train::TrainError) -> Self {
        StudyError::Train {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }
}

/// Why the study stopped.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// An experiment file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// An experiment file has errors (rendered diagnostics follow the first line).
    #[error("{path} does not check:\n{rendered}")]
    Diagnostics {
        /// The file.
        path: PathBuf,
        /// The errors, drawn as `knit check` draws them.
        rendered: String,
    },
    /// An experiment file has no `train` block.
    #[error("{path} has no `train` block: there is nothing to run")]
    NoTrain {
        /// The file.
        path: PathBuf,
    },
    /// An experiment file lacks what its row needs (a validation split, a procedure line...).
    #[error("{path}: {message}")]
    Unsuitable {
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// The data of an experiment could not be loaded.
    #[error("{path}: {source}")]
    Data {
        /// The experiment file.
        path: PathBuf,
        /// The data error (boxed: it is large and rare).
        source: Box<knit_data::DataError>,
    },
    /// Training or evaluating failed.
    #[error("{path}: {source}")]
    Train {
        /// The experiment file.
        path: PathBuf,
        /// The training error (boxed: it is large and rare).
        source: Box<knit_train::TrainError>,
    },
    /// The report could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The report's path.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
}
