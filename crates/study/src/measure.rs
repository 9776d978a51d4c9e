//! Training one experiment with one seed and measuring it: train and test accuracy, the
//! epoch of the best validation loss, the share of near-zero weights, the distance between
//! tied parameters and the parameter count.

use crate::program::Experiment;
use crate::StudyError;
use knit_train::{EvalMetrics, Silent, TrainOptions, Trainer};

/// A weight counts as near zero below this magnitude.
pub const NEAR_ZERO: f32 = 1e-3;

/// What one run measured. Accuracies are fractions, averaged over the plan's models (two
/// when models are trained side by side).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Accuracy on the training split in evaluation mode, after training (the restored
    /// best weights when early stopping restores them).
    pub train_accuracy: f64,
    /// Accuracy on the test split after training.
    pub test_accuracy: f64,
    /// The 1-based epoch with the lowest validation loss (mean over the models).
    pub best_validation_epoch: usize,
    /// Epochs trained (fewer than the plan's when early stopping ended the run).
    pub epochs: usize,
    /// Share of the weight matrices' entries with |w| < [`NEAR_ZERO`].
    pub near_zero: f64,
    /// Σ‖a − b‖² over the tied pairs, when the plan ties parameters.
    pub tie_distance: Option<f64>,
    /// Number of parameters (a shared one counted once).
    pub params: usize,
    /// Examples in the training, validation and test splits.
    pub split_sizes: [usize; 3],
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// The mean accuracy of `metrics` over the models (0 when a model has none).
pub fn mean_accuracy(metrics: &[EvalMetrics]) -> f64 {
    let n = metrics.len().max(1) as f64;
    metrics
        .iter()
        .map(|m| m.accuracy.unwrap_or(0.0))
        .sum::<f64>()
        / n
}

/// Share of entries with |w| < [`NEAR_ZERO`] over every trainable parameter of rank 2 named
/// `*.weight` (dense weight matrices; batch norm's scales are left out).
pub fn near_zero_share(trainer: &Trainer) -> Result<f64, knit_train::TrainError> {
    let (mut small, mut total) = (0usize, 0usize);
    for (name, _) in &trainer.plan().param_groups {
        let value = trainer.executor().param(name)?;
        if name.ends_with(".weight") && value.ndim() == 2 {
            small += value.iter().filter(|w| w.abs() < NEAR_ZERO).count();
            total += value.len();
        }
    }
    Ok(small as f64 / total.max(1) as f64)
}

/// Builds the trainer of an experiment (matrix products on `threads` threads).
pub fn trainer(experiment: Experiment, threads: usize) -> Result<Trainer, StudyError> {
    let path = experiment.path.clone();
    let options = TrainOptions {
        threads,
        eval_batch: 512,
    };
    Trainer::new(experiment.plan, experiment.splits, options)
        .map_err(|source| StudyError::train(&path, source))
}

/// Trains the experiment to the end of its plan (or early stopping) and measures it;
/// returns the trained trainer too, for procedures that continue from it.
pub fn train(experiment: Experiment, threads: usize) -> Result<(Run, Trainer), StudyError> {
    let path = experiment.path.clone();
    let started = std::time::Instant::now();
    let mut trainer = trainer(experiment, threads)?;
    let wrap = |source| StudyError::train(&path, source);
    let report = trainer.fit(&mut Silent).map_err(wrap)?;
    if report.test.is_empty() {
        return Err(StudyError::Unsuitable {
            path: path.clone(),
            message: "the study needs a test split".into(),
        });
    }
    let best = report
        .epochs
        .iter()
        .filter(|e| !e.validation.is_empty())
        .min_by(|a, b| {
            let loss = |e: &knit_train::EpochMetrics| {
                e.validation.iter().map(|v| v.loss).sum::<f64>() / e.validation.len() as f64
            };
            loss(a).total_cmp(&loss(b))
        })
        .ok_or_else(|| StudyError::Unsuitable {
            path: path.clone(),
            message:
                "the study needs a validation split (for the epoch of the best validation loss)"
                    .into(),
        })?;
    let train_split = trainer.splits().train.clone();
    let train_metrics = trainer.evaluate(&train_split).map_err(wrap)?;
    let ties = trainer.tie_distances().map_err(wrap)?;
    let run = Run {
        train_accuracy: mean_accuracy(&train_metrics),
        test_accuracy: mean_accuracy(&report.test),
        best_validation_epoch: best.epoch,
        epochs: report.epochs.len(),
        near_zero: near_zero_share(&trainer).map_err(wrap)?,
        tie_distance: (!ties.is_empty()).then(|| ties.iter().map(|(_, d)| d).sum()),
        params: trainer.plan().graph.param_count(),
        split_sizes: [
            train_split.len(),
            trainer.splits().validation.as_ref().map_or(0, |d| d.len()),
            trainer.splits().test.as_ref().map_or(0, |d| d.len()),
        ],
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((run, trainer))
}
