//! Bagging: members trained on bootstrap resamples of the training set, in parallel, and
//! combined by majority vote or averaged probabilities (the mean, for regression).

use crate::ensemble::{Ensemble, Score};
use crate::{Combine, Plan, Silent, Task, TrainError, TrainOptions, Trainer};
use knit_data::{bootstrap, Splits};

/// What bagging measured on the test split (or the validation split if there is no test):
/// accuracy for classification, mean squared error for regression.
#[derive(Clone, Debug, PartialEq)]
pub struct BaggingReport {
    /// Accuracy or MSE, by the plan's task.
    pub score: Score,
    /// The split measured: `test`, or `validation` when there is no test split.
    pub split: &'static str,
    /// Each member's score.
    pub members: Vec<f64>,
    /// The ensemble's score (combined predictions).
    pub ensemble: f64,
    /// Mean of the members' scores.
    pub member_mean: f64,
    /// Standard deviation of the members' scores (population: divided by the member count).
    pub member_spread: f64,
    /// Share of distinct training examples in each member's resample.
    pub distinct_fraction: Vec<f64>,
}

/// The seed of member `k` of an ensemble trained from a plan seeded `seed`: the plan's seed
/// plus `k + 1`.
pub fn member_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_add(1 + k as u64)
}

/// Trains `members` copies of the plan, each on its own bootstrap resample of the training
/// split (`fraction · n` examples drawn with replacement from a stream keyed by the plan's
/// seed and the member's index) and with its own shuffling seed, on parallel threads; then
/// measures each member and the ensemble ([`Ensemble::scores`]).
///
/// Each member is the plan re-initialized ([`Plan::reinitialize`]) with its own seed,
/// [`member_seed`]: its own initial weights (for the parameters the plan knows how to
/// initialize; a hand-built plan without [`Plan::inits`] shares its weights), batch order and
/// dropout masks. Diversity then comes from the initialization, as in ensembles of networks
/// trained by hand, as well as from the resamples.
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
    if plan.task == Task::Regression && combine == Combine::Vote {
        return Err(TrainError::Procedure {
            procedure: "bagging",
            message: "a regression ensemble cannot vote; combine by average (the mean)".into(),
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
                    member_plan.reinitialize(member_seed(plan.seed, k))?;
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
    let (split, held_out) = match (&data.test, &data.validation) {
        (Some(test), _) => ("test", test),
        (None, Some(validation)) => ("validation", validation),
        (None, None) => {
            return Err(TrainError::Procedure {
                procedure: "bagging",
                message: "a test or validation split is needed to measure the ensemble".into(),
            })
        }
    };
    let mut ensemble = Ensemble {
        members: trainers,
        combine,
    };
    let scores = ensemble.scores(held_out)?;
    let mean = scores.members.iter().sum::<f64>() / members as f64;
    let spread = (scores
        .members
        .iter()
        .map(|a| (a - mean).powi(2))
        .sum::<f64>()
        / members as f64)
        .sqrt();
    Ok((
        ensemble,
        BaggingReport {
            score: scores.score,
            split,
            members: scores.members,
            ensemble: scores.ensemble,
            member_mean: mean,
            member_spread: spread,
            distinct_fraction,
        },
    ))
}
