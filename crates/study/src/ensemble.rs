//! The bagging experiment: the members' and the ensemble's test accuracy
//! (`knit_train::train_bagging`), and a single model trained on the whole training split
//! with the same plan (its `bagging` line removed).

use crate::measure::{mean_accuracy, trainer};
use crate::program::{load, Experiment};
use crate::StudyError;
use knit_train::{Silent, TrainOptions};
use std::path::Path;

/// What one seed of the bagging experiment gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Bagged {
    /// Each member's test accuracy.
    pub members: Vec<f64>,
    /// The ensemble's test accuracy.
    pub ensemble: f64,
    /// The test accuracy of one model trained on the whole training split.
    pub single: f64,
}

impl Bagged {
    /// The best member's accuracy.
    pub fn best_member(&self) -> f64 {
        self.members
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Trains the ensemble of `path` with `seed`, then the single model.
pub fn run(path: &Path, seed: u64, threads: usize) -> Result<Bagged, StudyError> {
    let experiment = load(path, seed)?;
    let wrap = |source| StudyError::train(path, source);
    let spec = experiment
        .plan
        .bagging
        .ok_or_else(|| StudyError::Unsuitable {
            path: path.to_path_buf(),
            message: "the bagging experiment needs a `bagging` line".into(),
        })?;
    let options = TrainOptions {
        threads,
        eval_batch: 512,
    };
    let (_, report) = knit_train::train_bagging(
        &experiment.plan,
        &experiment.splits,
        spec.members,
        spec.fraction,
        spec.combine,
        options,
    )
    .map_err(wrap)?;
    let mut plan = experiment.plan;
    plan.bagging = None;
    let single = Experiment {
        path: experiment.path,
        plan,
        splits: experiment.splits,
    };
    let report_single = trainer(single, threads)?.fit(&mut Silent).map_err(wrap)?;
    Ok(Bagged {
        members: report.members,
        ensemble: report.ensemble,
        single: mean_accuracy(&report_single.test),
    })
}
