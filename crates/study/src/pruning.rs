//! The pruning experiment: train the file's model, then run its iterative magnitude pruning
//! (`Trainer::prune`) and keep the per-round report.

use crate::measure::trainer;
use crate::program::load;
use crate::StudyError;
use knit_train::{PruneReport, Silent};
use std::path::Path;

/// Trains `path` with `seed` and prunes it as its `prune` line says.
pub fn run(path: &Path, seed: u64, threads: usize) -> Result<PruneReport, StudyError> {
    let experiment = load(path, seed)?;
    let spec = experiment
        .plan
        .prune
        .clone()
        .ok_or_else(|| StudyError::Unsuitable {
            path: path.to_path_buf(),
            message: "the pruning experiment needs a `prune` line".into(),
        })?;
    let mut trainer = trainer(experiment, threads)?;
    let wrap = |source| StudyError::train(path, source);
    trainer.fit(&mut Silent).map_err(wrap)?;
    trainer.prune(&spec, &mut Silent).map_err(wrap)
}
