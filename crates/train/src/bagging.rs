//! Bagging: members trained on bootstrap resamples of the training set, in parallel, and
//! combined by majority vote or averaged probabilities (the mean, for regression).

use crate::ensemble::{Ensemble, Score};
use crate::memory::{check_fits, largest_batch, run_memory};
use crate::Checkpoint;
use crate::{
    BaggingSpec, Combine, Element, Observer, Plan, Report, Silent, Task, TrainError, TrainOptions,
    Trainer,
};
use knit_data::{bootstrap, Splits};
use knit_dist::{Collective, Single};
use knit_tensor::with_thread_pool;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

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
    /// Each member's training report (every epoch's metrics, test metrics, timings).
    pub reports: Vec<Report>,
}

/// One trained member and what its training gave.
struct Member<F: Element> {
    trainer: Trainer<F>,
    report: Report,
    distinct_fraction: f64,
}

/// Runs `train(k, options)` for every member `k` in `0..members` within the thread budget
/// `options.threads`: `min(threads, members)` members at a time, each on
/// `threads / concurrent` threads (at least one), taking the next member as one finishes.
/// Results come back in member order; a member's result does not depend on which worker ran
/// it or when. After a member fails no new member starts, and the failure of the lowest
/// member index is returned.
fn in_parallel<T: Send, E: Send>(
    members: usize,
    options: TrainOptions,
    train: impl Fn(usize, TrainOptions) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let concurrent = options.threads.clamp(1, members.max(1));
    let member_options = TrainOptions {
        threads: (options.threads / concurrent).max(1),
        ..options
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<T, E>>>> = (0..members).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..concurrent {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = slots.get(k) else { break };
                    let result = train(k, member_options);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
                }
            });
        }
    });
    let results: Vec<Option<Result<T, E>>> = slots
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(PoisonError::into_inner))
        .collect();
    // A member is missing only when another failed; that failure is among the results.
    let mut trained = Vec::with_capacity(members);
    let mut first_error = None;
    for result in results.into_iter().flatten() {
        match result {
            Ok(t) => trained.push(t),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(trained),
    }
}

/// The seed of member `k` of an ensemble trained from a plan seeded `seed`: the plan's seed
/// plus `k + 1`.
pub fn member_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_add(1 + k as u64)
}

/// Trains `members` copies of the plan, each on its own bootstrap resample of the training
/// split (`fraction · n` examples drawn with replacement from a stream keyed by the plan's
/// seed and the member's index) and with its own shuffling seed; then measures each member
/// and the ensemble ([`Ensemble::scores`]).
///
/// Members train in parallel within `options.threads`: with 4 threads and 5 members, four
/// at a time on one thread each; with 1 thread, one after another. Each runs with
/// denormals flushed to zero, as a single run does.
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
    let spec = BaggingSpec {
        members,
        fraction,
        combine,
    };
    train_bagging_observed(plan, data, spec, options, &|_| Box::new(Silent))
}

/// Makes the observer that follows member `k`'s training (a progress bar, log lines).
pub type MemberObserver<'a, F = f32> = dyn Fn(usize) -> Box<dyn Observer<F> + Send> + Sync + 'a;

/// [`train_bagging`], with each member's training followed by the observer `observe(k)`
/// gives for member `k` (members may train at the same time, so observers must be `Send`).
pub fn train_bagging_observed(
    plan: &Plan,
    data: &Splits,
    spec: BaggingSpec,
    options: TrainOptions,
    observe: &MemberObserver<'_>,
) -> Result<(Ensemble, BaggingReport), TrainError> {
    let trained = train_bagging_in(&Single, plan, data, spec, options, observe)?;
    Ok(trained.expect("a group of one is its own rank 0"))
}

/// [`train_bagging_observed`] in any precision `F` and over the ranks of `group`: member
/// `k` trains on rank `k mod N` (each rank's members in parallel within `options.threads`), and rank 0 gathers
/// every member's parameters, buffers and report, then scores the ensemble. A member's
/// training depends only on the plan, the data and `k`, so the ensemble and its report are
/// those of a single process, bit for bit (the seconds aside). Returns `None` on the other
/// ranks.
pub fn train_bagging_in<F: Element>(
    group: &dyn Collective,
    plan: &Plan,
    data: &Splits,
    spec: BaggingSpec,
    options: TrainOptions,
    observe: &MemberObserver<'_, F>,
) -> Result<Option<(Ensemble<F>, BaggingReport)>, TrainError> {
    let BaggingSpec {
        members,
        fraction,
        combine,
    } = spec;
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
    if let Some(available) = knit_data::available_memory() {
        let estimate = ensemble_memory(plan, data, members, fraction, options.eval_batch);
        let batch = largest_batch(plan, resample_rows(n, fraction), options.eval_batch);
        check_fits(&estimate, available, batch)?;
    }
    let mine: Vec<usize> = (group.rank()..members).step_by(group.size()).collect();
    let train_member = |i: usize, options: TrainOptions| -> Result<Member<F>, TrainError> {
        let k = mine[i];
        let (mut trainer, distinct_fraction) = member_trainer(plan, data, fraction, k, options)?;
        let mut observer = observe(k);
        let report = with_thread_pool(options.threads, || trainer.fit(&mut *observer))?;
        Ok(Member {
            trainer,
            report,
            distinct_fraction,
        })
    };
    let trained = in_parallel(mine.len(), options, train_member)?;
    let Some(trained) = gather_members(group, plan, data, fraction, options, &mine, trained)?
    else {
        return Ok(None);
    };
    let mut trainers = Vec::with_capacity(members);
    let mut reports = Vec::with_capacity(members);
    let mut distinct_fraction = Vec::with_capacity(members);
    for member in trained {
        trainers.push(member.trainer);
        reports.push(member.report);
        distinct_fraction.push(member.distinct_fraction);
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
    Ok(Some((
        ensemble,
        BaggingReport {
            score: scores.score,
            split,
            members: scores.members,
            ensemble: scores.ensemble,
            member_mean: mean,
            member_spread: spread,
            distinct_fraction,
            reports,
        },
    )))
}

/// Member `k`'s trainer before training: the plan re-initialized with the member's seed, on
/// its bootstrap resample; and the share of distinct training examples in that resample.
fn member_trainer<F: Element>(
    plan: &Plan,
    data: &Splits,
    fraction: f64,
    k: usize,
    options: TrainOptions,
) -> Result<(Trainer<F>, f64), TrainError> {
    let n = data.train.len();
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
    let trainer = Trainer::create(member_plan, splits, options)?;
    Ok((trainer, distinct.len() as f64 / n.max(1) as f64))
}

/// What a rank sends rank 0 of each member it trained: its index, its state as checkpoint
/// bytes, its report and the share of distinct examples in its resample.
type Shipped = Vec<(usize, Vec<u8>, Report, f64)>;

/// Brings every member to rank 0, in member order: this rank's `trained` (members `mine`)
/// stay as they are, the others' arrive as bytes and are rebuilt on their plan with the
/// weights they were sent. `None` on the other ranks.
fn gather_members<F: Element>(
    group: &dyn Collective,
    plan: &Plan,
    data: &Splits,
    fraction: f64,
    options: TrainOptions,
    mine: &[usize],
    trained: Vec<Member<F>>,
) -> Result<Option<Vec<Member<F>>>, TrainError> {
    if group.size() == 1 {
        return Ok(Some(trained));
    }
    let wire = Path::new("bagging member");
    let encode_error = |e: postcard::Error| TrainError::Procedure {
        procedure: "bagging",
        message: format!("cannot send a member to rank 0: {e}"),
    };
    let shipped: Shipped = if group.is_root() {
        Vec::new()
    } else {
        mine.iter()
            .zip(&trained)
            .map(|(&k, m)| {
                let bytes = m.trainer.checkpoint().to_bytes(wire)?;
                Ok((k, bytes, m.report.clone(), m.distinct_fraction))
            })
            .collect::<Result<_, TrainError>>()?
    };
    let bytes = postcard::to_stdvec(&shipped).map_err(encode_error)?;
    let Some(parts) = group.gather_bytes(&bytes, 0)? else {
        return Ok(None);
    };
    let mut all: Vec<(usize, Member<F>)> = mine.iter().copied().zip(trained).collect();
    for part in &parts[1..] {
        let shipped: Shipped = postcard::from_bytes(part).map_err(encode_error)?;
        for (k, bytes, report, distinct_fraction) in shipped {
            let (mut trainer, _) = member_trainer(plan, data, fraction, k, options)?;
            let ckpt = Checkpoint::<F>::from_bytes_as(&bytes, wire)?;
            trainer.load_weights(&ckpt, wire, &[])?;
            all.push((
                k,
                Member {
                    trainer,
                    report,
                    distinct_fraction,
                },
            ));
        }
    }
    all.sort_by_key(|(k, _)| *k);
    Ok(Some(all.into_iter().map(|(_, m)| m).collect()))
}

/// The rows of one member's resample.
fn resample_rows(n: usize, fraction: f64) -> usize {
    ((n as f64) * fraction).ceil() as usize
}

/// What an ensemble of `members` holds at once once trained: every member's trainer (its
/// executor, optimizer state and batch copies) and its copies of the data (its resample
/// and the validation and test sets), each tensor named `members.K.<name>` for the largest
/// member, counted `members` times.
pub fn ensemble_memory(
    plan: &Plan,
    data: &Splits,
    members: usize,
    fraction: f64,
    eval_batch: usize,
) -> knit_tensor::MemoryEstimate {
    let rows = resample_rows(data.train.len(), fraction);
    let features = data.train.features.ncols();
    let batch = largest_batch(plan, rows, eval_batch);
    let mut one = run_memory(plan, batch, features);
    let held = rows
        + data.validation.as_ref().map_or(0, |v| v.len())
        + data.test.as_ref().map_or(0, |t| t.len());
    one.push("data", "copies", (held as u64) * (features as u64 + 1) * 4);
    let mut all = knit_tensor::MemoryEstimate::default();
    for t in one.tensors {
        let bytes = t.bytes.saturating_mul(members as u64);
        all.push(format!("{} (× {members} members)", t.name), t.what, bytes);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_run_at_most_threads_at_a_time_and_return_in_order() {
        for (threads, members, concurrent, each) in [(1, 4, 1, 1), (2, 5, 2, 1), (4, 2, 2, 2)] {
            let running = AtomicUsize::new(0);
            let peak = AtomicUsize::new(0);
            let options = TrainOptions {
                threads,
                ..TrainOptions::default()
            };
            let out = in_parallel(members, options, |k, o| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(50));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ()>((k, o.threads))
            })
            .unwrap();
            let expected: Vec<(usize, usize)> = (0..members).map(|k| (k, each)).collect();
            assert_eq!(out, expected, "{threads} threads, {members} members");
            assert_eq!(peak.load(Ordering::SeqCst), concurrent);
        }
    }

    #[test]
    fn a_failing_member_stops_new_ones_and_its_error_is_returned() {
        let started = AtomicUsize::new(0);
        let options = TrainOptions {
            threads: 1,
            ..TrainOptions::default()
        };
        let out: Result<Vec<usize>, String> = in_parallel(6, options, |k, _| {
            started.fetch_add(1, Ordering::SeqCst);
            if k == 2 {
                Err(format!("member {k} diverged"))
            } else {
                Ok(k)
            }
        });
        assert_eq!(out, Err("member 2 diverged".to_string()));
        assert_eq!(
            started.load(Ordering::SeqCst),
            3,
            "members 3 to 5 never start"
        );
    }
}
