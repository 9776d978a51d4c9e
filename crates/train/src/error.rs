//! The trainer's errors.

use knit_data::DataError;
use knit_optim::OptimError;
use knit_tensor::TensorError;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can stop a training run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// Loading or preparing the data failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The graph rejected an input or an op failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// The optimizer or a schedule rejected its settings or state.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// A collective operation of a data-parallel run failed (another rank stopped, say).
    #[error("data-parallel training: {0}")]
    Collective(#[from] knit_dist::DistError),
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}, step {step}: the loss is {loss}; the first non-finite value is in '{culprit}'. Lower the learning rate or clip the gradients; the last checkpoint was left intact")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The optimizer step (0-based, counted over the run).
        step: u64,
        /// The loss value.
        loss: f32,
        /// The first parameter or node holding a NaN or infinity.
        culprit: String,
    },
    /// The data does not fit the model.
    #[error("the data does not fit model '{model}': {message}")]
    DataMismatch {
        /// The model.
        model: String,
        /// What does not fit.
        message: String,
    },
    /// A training procedure (pruning, adversarial training, bagging) cannot run as asked.
    #[error("{procedure}: {message}")]
    Procedure {
        /// The procedure.
        procedure: &'static str,
        /// Why it cannot run.
        message: String,
    },
    /// Reading or writing a checkpoint failed.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The run would need more memory than the machine has available (refused before
    /// anything is allocated).
    #[error(
        "the run needs about {} at batch {batch}, but {} of memory is available; the largest tensors: {largest}. Use a smaller batch or smaller layers",
        knit_io::bytes_text(*needed),
        knit_io::bytes_text(*available)
    )]
    OutOfMemory {
        /// Bytes the run needs.
        needed: u64,
        /// Bytes available.
        available: u64,
        /// The batch size the estimate is for.
        batch: usize,
        /// The largest tensors, with their sizes.
        largest: String,
    },
    /// One entry of a checkpoint (a tensor, or a metadata entry) cannot be used: it has the
    /// wrong shape, holds non-finite values, is missing, or does not belong to the model.
    #[error("checkpoint {path}: entry '{entry}': {message}")]
    CheckpointEntry {
        /// The file.
        path: PathBuf,
        /// The entry's name as stored in the file (`h1.weight`, `_knit.mask.h1.weight`,
        /// `knit.epoch`).
        entry: String,
        /// What is wrong with it.
        message: String,
    },
}
