//! An ensemble of trained members: combining their predictions (majority vote or averaged
//! probabilities for classification, the mean for regression), scoring them, and storing
//! all members in one checkpoint.
//!
//! The checkpoint holds every member's parameters and buffers as `members.K.<name>`
//! (`K = 0..k−1`), which is the `state_dict` of a PyTorch module holding
//! `self.members = nn.ModuleList([...])`, so it loads in PyTorch like a single model's does.
//! The metadata gives the member count (`knit.ensemble.members`) and the combination rule
//! (`knit.ensemble.combine`: `vote` or `average`).

use crate::checkpoint::Checkpoint;
use crate::early_stop::snapshot;
use crate::metrics::argmax;
use crate::predict::{softmax_rows, Predictions};
use crate::validate::entry_error;
use crate::{Combine, Element, Plan, Task, TrainError, TrainOptions, Trainer};
use knit_data::{Dataset, Splits};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use std::path::Path;

/// The metadata entry holding the member count.
pub const ENSEMBLE_MEMBERS: &str = "knit.ensemble.members";
/// The metadata entry holding the combination rule (`vote` or `average`).
pub const ENSEMBLE_COMBINE: &str = "knit.ensemble.combine";

/// Trained members and how their predictions are combined.
#[derive(Debug)]
pub struct Ensemble<F: Element = f32> {
    /// The members, each a trainer holding its own weights (all of the same plan).
    pub members: Vec<Trainer<F>>,
    /// How predictions are combined (regression always takes the mean).
    pub combine: Combine,
}

/// How members and ensembles are scored: by the task of their plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    /// Classification: the fraction of examples whose predicted class is their label.
    Accuracy,
    /// Regression: the mean squared error `(1/(n·w)) Σᵢⱼ (ŷᵢⱼ − yᵢ)²` over n examples of w
    /// outputs, as the `mse` loss computes it.
    Mse,
}

impl Score {
    /// The score of a task.
    pub fn of(task: Task) -> Score {
        match task {
            Task::Classification { .. } => Score::Accuracy,
            Task::Regression => Score::Mse,
        }
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Score::Accuracy => "accuracy",
            Score::Mse => "MSE",
        })
    }
}

/// Each member's score and the ensemble's on one dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// What the numbers are.
    pub score: Score,
    /// Each member's score, in member order.
    pub members: Vec<f64>,
    /// The combined predictions' score.
    pub ensemble: f64,
}

/// The name of a combination rule in checkpoint metadata.
fn combine_name(combine: Combine) -> &'static str {
    match combine {
        Combine::Vote => "vote",
        Combine::Average => "average",
    }
}

impl<F: Element> Ensemble<F> {
    /// The members' task (classification or regression).
    fn task(&self) -> Result<Task, TrainError> {
        self.members
            .first()
            .map(|m| m.plan.task)
            .ok_or_else(|| TrainError::Procedure {
                procedure: "ensemble",
                message: "it has no members".into(),
            })
    }

    /// The combined predictions for every row of `x` (scaled features). Classification:
    /// per class, the members' averaged softmax probability (`combine average`) or the share
    /// of members whose predicted class it is (`combine vote`), either way summing to 1 per
    /// row; the class is that of the highest averaged probability, or the majority vote with
    /// ties going to the highest summed probability. Regression: the mean of the outputs.
    pub fn predictions<X: Copy>(&mut self, x: ArrayView2<'_, X>) -> Result<Predictions, TrainError>
    where
        F: From<X>,
    {
        let task = self.task()?;
        let outputs = self
            .members
            .iter_mut()
            .map(|m| m.outputs(x))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(combine_outputs(&outputs, task, self.combine))
    }

    /// Each member's score and the ensemble's on `data` (one forward pass per member).
    pub fn scores(&mut self, data: &Dataset) -> Result<Scores, TrainError> {
        let task = self.task()?;
        let score = Score::of(task);
        let outputs = self
            .members
            .iter_mut()
            .map(|m| m.outputs(data.features.view()))
            .collect::<Result<Vec<_>, _>>()?;
        let members = outputs
            .iter()
            .map(|o| match score {
                Score::Accuracy => {
                    let classes: Vec<usize> =
                        o.outer_iter().map(|r| argmax(r.iter().copied())).collect();
                    accuracy(&classes, &data.labels)
                }
                Score::Mse => mse(o.mapv(|v| v.as_f64()).view(), &data.labels),
            })
            .collect();
        let combined = combine_outputs(&outputs, task, self.combine);
        let ensemble = match &combined.classes {
            Some(classes) => accuracy(classes, &data.labels),
            None => mse(combined.values.view(), &data.labels),
        };
        Ok(Scores {
            score,
            members,
            ensemble,
        })
    }

    /// The ensemble's score on `data` (accuracy or MSE, by the task).
    pub fn score(&mut self, data: &Dataset) -> Result<f64, TrainError> {
        Ok(self.scores(data)?.ensemble)
    }

    /// All members in one checkpoint: each member's parameters and buffers under
    /// `members.K.<name>`, and the member count, the combination rule and the program in
    /// the metadata. Optimizer state is not kept: an ensemble is for evaluation.
    pub fn checkpoint(&self) -> Checkpoint<F> {
        let mut ckpt = Checkpoint::default();
        for (k, member) in self.members.iter().enumerate() {
            for (name, value) in snapshot(&member.exec) {
                ckpt.tensors.insert(format!("members.{k}.{name}"), value);
            }
        }
        let meta = &mut ckpt.metadata;
        meta.insert("knit.format".into(), "1".into());
        if let Some(first) = self.members.first() {
            meta.insert("knit.program".into(), first.plan.program.clone());
        }
        meta.insert(ENSEMBLE_MEMBERS.into(), self.members.len().to_string());
        meta.insert(ENSEMBLE_COMBINE.into(), combine_name(self.combine).into());
        ckpt
    }

    /// The number of members of an ensemble checkpoint, or `None` for a single model's.
    pub fn members_in(ckpt: &Checkpoint<F>, path: &Path) -> Result<Option<usize>, TrainError> {
        let Some(text) = ckpt.metadata.get(ENSEMBLE_MEMBERS) else {
            return Ok(None);
        };
        match text.parse::<usize>() {
            Ok(k) if k > 0 => Ok(Some(k)),
            _ => Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!(
                    "metadata entry '{ENSEMBLE_MEMBERS}' should be a positive member count, found '{text}'"
                ),
            }),
        }
    }

    /// Rebuilds an ensemble written by [`Ensemble::checkpoint`]: one trainer of `plan` per
    /// member, each loading its `members.K.` tensors (every parameter and buffer must be
    /// there, with its shape).
    pub fn from_checkpoint(
        plan: &Plan,
        data: &Splits,
        options: TrainOptions,
        ckpt: &Checkpoint<F>,
        path: &Path,
    ) -> Result<Ensemble<F>, TrainError> {
        let bad = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let count = Self::members_in(ckpt, path)?.ok_or_else(|| {
            bad(format!(
                "it holds a single model, not an ensemble (no metadata entry '{ENSEMBLE_MEMBERS}')"
            ))
        })?;
        let combine = match ckpt.meta(ENSEMBLE_COMBINE, path)? {
            "vote" => Combine::Vote,
            "average" => Combine::Average,
            other => {
                return Err(bad(format!(
                    "metadata entry '{ENSEMBLE_COMBINE}' should be 'vote' or 'average', found '{other}'"
                )))
            }
        };
        check_member_entries(ckpt, path, count)?;
        let members = (0..count)
            .map(|k| {
                let mut member = Trainer::create(plan.clone(), data.clone(), options)?;
                let prefix = format!("members.{k}.");
                member.load_weights(ckpt, path, &[(prefix.clone(), String::new())])?;
                member.check_known_entries(ckpt, path, &prefix)?;
                Ok(member)
            })
            .collect::<Result<Vec<_>, TrainError>>()?;
        Ok(Ensemble { members, combine })
    }
}

/// Checks, before a trainer is built per member, that the checkpoint holds tensors for
/// every member `0..count` its metadata announces and for no other (a count of a billion
/// in a small file must not build a billion trainers).
fn check_member_entries<F>(
    ckpt: &Checkpoint<F>,
    path: &Path,
    count: usize,
) -> Result<(), TrainError> {
    let mut present = std::collections::BTreeSet::new();
    for name in ckpt.tensors.keys() {
        let Some(index) = name
            .strip_prefix("members.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(k, _)| k.parse::<usize>().ok())
        else {
            continue;
        };
        if index >= count {
            return Err(entry_error(
                path,
                name,
                format!("belongs to member {index}, but '{ENSEMBLE_MEMBERS}' says the ensemble has {count} members"),
            ));
        }
        present.insert(index);
    }
    match (0..count).find(|k| !present.contains(k)) {
        None => Ok(()),
        Some(k) => Err(entry_error(
            path,
            ENSEMBLE_MEMBERS,
            format!("says the ensemble has {count} members, but the file holds no tensors 'members.{k}.*' of member {k}"),
        )),
    }
}

/// Combines the members' raw outputs (see [`Ensemble::predictions`]).
fn combine_outputs<F: Element>(outputs: &[Array2<F>], task: Task, combine: Combine) -> Predictions {
    let k = outputs.len().max(1) as f64;
    let (rows, width) = outputs.first().map_or((0, 0), |o| o.dim());
    match task {
        Task::Regression => {
            let mut mean = Array2::<f64>::zeros((rows, width));
            for o in outputs {
                mean.zip_mut_with(o, |m, &v| *m += v.as_f64());
            }
            mean /= k;
            Predictions {
                values: mean,
                classes: None,
            }
        }
        Task::Classification { .. } => {
            let mut summed = Array2::<f64>::zeros((rows, width));
            let mut votes = Array2::<f64>::zeros((rows, width));
            for o in outputs {
                summed += &softmax_rows(o.view());
                for (i, row) in o.outer_iter().enumerate() {
                    votes[[i, argmax(row.iter().copied())]] += 1.0;
                }
            }
            let classes = match combine {
                Combine::Average => summed
                    .outer_iter()
                    .map(|r| argmax(r.iter().copied()))
                    .collect(),
                // Votes dominate; the summed probability (at most k < k + 1) breaks ties.
                Combine::Vote => votes
                    .outer_iter()
                    .zip(summed.outer_iter())
                    .map(|(v, s)| argmax(v.iter().zip(s).map(|(&v, &s)| v * (k + 1.0) + s)))
                    .collect(),
            };
            let values = match combine {
                Combine::Average => summed / k,
                Combine::Vote => votes / k,
            };
            Predictions {
                values,
                classes: Some(classes),
            }
        }
    }
}

/// The fraction of `predicted` classes equal to their label.
fn accuracy(predicted: &[usize], labels: &Array1<f32>) -> f64 {
    let correct = predicted
        .iter()
        .zip(labels)
        .filter(|(p, &l)| **p as f32 == l)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// `(1/(n·w)) Σᵢⱼ (ŷᵢⱼ − yᵢ)²` of predictions `[n, w]` against one target per example.
fn mse(predicted: ArrayView2<'_, f64>, labels: &Array1<f32>) -> f64 {
    let total: f64 = predicted
        .axis_iter(Axis(0))
        .zip(labels)
        .map(|(row, &y)| row.iter().map(|&p| (p - f64::from(y)).powi(2)).sum::<f64>())
        .sum();
    total / predicted.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn regression_takes_the_mean_of_the_outputs() {
        let a = array![[1.0f32], [4.0]];
        let b = array![[3.0f32], [-2.0]];
        let c = combine_outputs(&[a, b], Task::Regression, Combine::Average);
        assert_eq!(c.values, array![[2.0], [1.0]]);
        assert_eq!(c.classes, None);
        assert_eq!(mse(c.values.view(), &array![1.0f32, 1.0]), 0.5);
    }

    #[test]
    fn a_vote_counts_classes_and_an_average_averages_probabilities() {
        // Row 0: two members say class 0 weakly, one says class 1 strongly.
        let weak0 = array![[0.1f32, 0.0]];
        let strong1 = array![[0.0f32, 9.0]];
        let outputs = [weak0.clone(), weak0, strong1];
        let task = Task::Classification { classes: 2 };
        let vote = combine_outputs(&outputs, task, Combine::Vote);
        assert_eq!(vote.classes, Some(vec![0]));
        assert_eq!(vote.values, array![[2.0 / 3.0, 1.0 / 3.0]]);
        let average = combine_outputs(&outputs, task, Combine::Average);
        assert_eq!(average.classes, Some(vec![1]));
        let e = f64::from(0.1f32).exp(); // the logit difference is taken in f32
        let p0 = e / (e + 1.0);
        let expected = (2.0 * p0 + 1.0 / (1.0 + 9f64.exp())) / 3.0;
        assert!((average.values[[0, 0]] - expected).abs() < 1e-12);
        assert!((average.values.sum() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_tied_vote_goes_to_the_higher_summed_probability() {
        let outputs = [array![[0.5f32, 0.0]], array![[0.0f32, 3.0]]];
        let task = Task::Classification { classes: 2 };
        let vote = combine_outputs(&outputs, task, Combine::Vote);
        assert_eq!(vote.classes, Some(vec![1]));
        assert_eq!(vote.values, array![[0.5, 0.5]]);
    }
}
