//! The adversarial experiment: a model's clean test accuracy and its accuracy when every test
//! example is perturbed by each attack (`Trainer::accuracy_under_attack`).

use crate::measure::{mean_accuracy, trainer};
use crate::program::load;
use crate::StudyError;
use knit_train::{Attack, Silent};
use std::path::Path;

/// What one trained model scored.
#[derive(Clone, Debug, PartialEq)]
pub struct Robustness {
    /// Test accuracy on clean examples.
    pub clean: f64,
    /// Test accuracy under each attack, in the order asked.
    pub attacked: Vec<f64>,
    /// Seconds of training (evaluation excluded): the compute cost of the technique.
    pub train_seconds: f64,
}

/// Trains `path` with `seed` and attacks its test split with each of `attacks` (inputs
/// clipped to `range`).
pub fn run(
    path: &Path,
    seed: u64,
    threads: usize,
    attacks: &[Attack],
    range: Option<(f64, f64)>,
) -> Result<Robustness, StudyError> {
    let mut trainer = trainer(load(path, seed)?, threads)?;
    let wrap = |source| StudyError::train(path, source);
    let report = trainer.fit(&mut Silent).map_err(wrap)?;
    let test = trainer
        .splits()
        .test
        .clone()
        .ok_or_else(|| StudyError::Unsuitable {
            path: path.to_path_buf(),
            message: "the adversarial experiment needs a test split".into(),
        })?;
    let attacked = attacks
        .iter()
        .map(|&attack| trainer.accuracy_under_attack(&test, attack, range))
        .collect::<Result<Vec<_>, _>>()
        .map_err(wrap)?;
    Ok(Robustness {
        clean: mean_accuracy(&report.test),
        attacked,
        train_seconds: report.train_seconds,
    })
}
