//! Bagging: members trained on bootstrap resamples of the training set, in parallel, and
//! combined by majority vote or averaged probabilities.

use crate::metrics::argmax;
use crate::trainer::batch_dims;
use crate::{Combine, Plan, Silent, TrainError, TrainOptions, Trainer};
use knit_data::{bootstrap, Dataset, Splits};
use knit_tensor::Mode;
use ndarray::{s, Array2};

/// Trained members and how they vote.
#[derive(Debug)]
pub struct Ensemble {
    /// The members, each a trainer holding its own weights.
    pub members: Vec<Trainer>,
    /// How predictions are combined.
    pub combine: Combine,
}

/// What bagging measured on the test split (or the validation split if there is no test).
#[derive(Clone, Debug, PartialEq)]
pub struct BaggingReport {
    /// Each member's accuracy.
    pub member_accuracy: Vec<f64>,
    /// The ensemble's accuracy.
    pub ensemble_accuracy: f64,
    /// Mean of the members' accuracies.
    pub member_mean: f64,
    /// Standard deviation of the members' accuracies.
    pub member_spread: f64,
    /// Share of distinct training examples in each member's resample.
    pub distinct_fraction: Vec<f64>,
}

impl Trainer {
    /// Class probabilities (softmax of the first model's outputs) for every example of `data`.
    pub fn predict_proba(&mut self, data: &Dataset) -> Result<Array2<f32>, TrainError> {
        let model = self.plan.models[0].clone();
        let dims = self.plan.graph.node(model.input)?.shape.dims.clone();
        let classes = self.plan.graph.node(model.output)?.shape.size();
        let mut out = Array2::zeros((data.len(), classes));
        let batch = self.options.eval_batch.max(1);
        let mut start = 0;
        while start < data.len() {
            let end = (start + batch).min(data.len());
            let x = data.features.slice(s![start..end, ..]);
            let x = x
                .into_shape_with_order(batch_dims(end - start, &dims))
                .map_err(|e| TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                })?;
            self.exec.set_input(model.input, x)?;
            self.exec.run(model.output, Mode::Eval)?;
            let logits = self.exec.value(model.output)?;
            for (mut row, logit) in out
                .slice_mut(s![start..end, ..])
                .outer_iter_mut()
                .zip(logits.outer_iter())
            {
                let max = logit.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let sum: f32 = logit.iter().map(|&v| (v - max).exp()).sum();
                for (p, &v) in row.iter_mut().zip(logit.iter()) {
                    *p = (v - max).exp() / sum;
                }
            }
            start = end;
        }
        Ok(out)
    }
}

impl Ensemble {
    /// Predicted classes: the majority vote of the members' classes (ties go to the class
    /// with the highest summed probability), or the class of the averaged probabilities.
    pub fn predict(&mut self, data: &Dataset) -> Result<Vec<usize>, TrainError> {
        let probabilities = self
            .members
            .iter_mut()
            .map(|m| m.predict_proba(data))
            .collect::<Result<Vec<_>, _>>()?;
        let classes = probabilities.first().map_or(0, |p| p.ncols());
        let mut predictions = Vec::with_capacity(data.len());
        for i in 0..data.len() {
            let mut summed = vec![0.0f32; classes];
            let mut votes = vec![0.0f32; classes];
            for p in &probabilities {
                let row = p.row(i);
                votes[argmax(row.iter().copied())] += 1.0;
                summed
                    .iter_mut()
                    .zip(row.iter())
                    .for_each(|(s, &v)| *s += v);
            }
            let winner = match self.combine {
                Combine::Average => argmax(summed.iter().copied()),
                // Votes dominate; the summed probability (< members) only breaks ties.
                Combine::Vote => argmax(
                    votes
                        .iter()
                        .zip(&summed)
                        .map(|(&v, &s)| v * (probabilities.len() as f32 + 1.0) + s),
                ),
            };
            predictions.push(winner);
        }
        Ok(predictions)
    }

    /// The ensemble's accuracy on `data`.
    pub fn accuracy(&mut self, data: &Dataset) -> Result<f64, TrainError> {
        let predicted = self.predict(data)?;
        let correct = predicted
            .iter()
            .zip(data.labels.iter())
            .filter(|(p, &l)| **p as f32 == l)
            .count();
        Ok(correct as f64 / data.len().max(1) as f64)
    }
}

/// Trains `members` copies of the plan, each on its own bootstrap resample of the training
/// split (`fraction · n` examples drawn with replacement from a stream keyed by the plan's
/// seed and the member's index) and with its own shuffling seed, on parallel threads; then
/// measures each member and the ensemble.
///
/// Members start from the plan's initial weights; their diversity comes from the resamples
/// and the batch orders.
pub fn train_bagging(
    plan: &Plan,
    data: &Splits,
    members: usize,
    fraction: f64,
    combine: Combine,
    options: TrainOptions,
) -> Result<(Ensemble, BaggingReport), TrainError> {
    if members == 0 || !(fraction > 0.0 && fraction.is_finite()) {
        return Err(TrainError::Procedure {
            procedure: "bagging",
            message: format!("needs at least one member and a positive resample fraction, got {members} and {fraction}"),
        });
    }
    let n = data.train.len();
    let results: Vec<Result<(Trainer, f64), TrainError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..members)
            .map(|k| {
                scope.spawn(move || {
                    let rows = bootstrap(n, fraction, plan.seed, k as u64);
                    let mut distinct = rows.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    let mut member_plan = plan.clone();
                    member_plan.seed = plan.seed.wrapping_add(1 + k as u64);
                    let splits = Splits {
                        train: data.train.subset(&rows),
                        validation: data.validation.clone(),
                        test: data.test.clone(),
                        scaler: data.scaler.clone(),
                    };
                    let mut trainer = Trainer::new(member_plan, splits, options)?;
                    trainer.fit(&mut Silent)?;
                    Ok((trainer, distinct.len() as f64 / n.max(1) as f64))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a member's thread panicked"))
            .collect()
    });
    let mut trainers = Vec::with_capacity(members);
    let mut distinct_fraction = Vec::with_capacity(members);
    for r in results {
        let (t, d) = r?;
        trainers.push(t);
        distinct_fraction.push(d);
    }
    let held_out = data
        .test
        .as_ref()
        .or(data.validation.as_ref())
        .ok_or_else(|| TrainError::Procedure {
            procedure: "bagging",
            message: "a test or validation split is needed to measure the ensemble".into(),
        })?;
    let member_accuracy = trainers
        .iter_mut()
        .map(|t| {
            Ok(t.evaluate(held_out)?
                .first()
                .and_then(|m| m.accuracy)
                .unwrap_or(0.0))
        })
        .collect::<Result<Vec<f64>, TrainError>>()?;
    let mut ensemble = Ensemble {
        members: trainers,
        combine,
    };
    let ensemble_accuracy = ensemble.accuracy(held_out)?;
    let mean = member_accuracy.iter().sum::<f64>() / members as f64;
    let spread = (member_accuracy
        .iter()
        .map(|a| (a - mean).powi(2))
        .sum::<f64>()
        / members as f64)
        .sqrt();
    Ok((
        ensemble,
        BaggingReport {
            member_accuracy,
            ensemble_accuracy,
            member_mean: mean,
            member_spread: spread,
            distinct_fraction,
        },
    ))
}
