//! Running the selected experiments over the seeds, reporting progress as it goes.

use crate::document::Results;
use crate::experiments::{
    Row, ADVERSARIAL, ATTACKS, ATTACK_RANGE, BAGGING, CNN_ROWS, PRUNING, ROWS, SPACE,
};
use crate::table::RowResult;
use crate::{ensemble, measure, program, pruning, robustness, StudyError};
use std::path::Path;

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// The seeds.
    pub seeds: Vec<u64>,
    /// The experiments by name (see [`crate::experiments::names`]); empty means all.
    pub only: Vec<String>,
    /// Threads for matrix products.
    pub threads: usize,
}

impl Selection {
    /// Whether the experiment called `name` is selected.
    pub fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// Runs the selected experiments of the folder `dir` with every seed; `progress` receives a
/// line per finished run.
pub fn run(
    dir: &Path,
    selection: &Selection,
    progress: &mut dyn FnMut(String),
) -> Result<Results, StudyError> {
    let seeds = &selection.seeds;
    let threads = selection.threads;
    let mut results = Results {
        seeds: seeds.clone(),
        ..Results::default()
    };
    results.rows = run_rows(dir, ROWS, selection, progress)?;
    results.cnn_rows = run_rows(dir, CNN_ROWS, selection, progress)?;
    if selection.wants("cnn") {
        results.space = Some(crate::space::of_file(dir, SPACE)?);
    }
    if selection.wants("pruning") {
        for &seed in seeds {
            let started = std::time::Instant::now();
            let report = pruning::run(&dir.join(PRUNING), seed, threads)?;
            let kept = report
                .kept
                .map(|k| &report.rounds[k])
                .unwrap_or(&report.dense);
            progress(format!(
                "pruning seed {seed}: dense test {:.2} %, kept sparsity {:.1} %, test {:.2} % ({:.1} s)",
                report.dense.test_accuracy.unwrap_or(0.0) * 100.0,
                kept.sparsity * 100.0,
                kept.test_accuracy.unwrap_or(0.0) * 100.0,
                started.elapsed().as_secs_f64()
            ));
            results.pruning.push(report);
        }
    }
    if selection.wants("adversarial") {
        let mut models = [Vec::new(), Vec::new()];
        for &seed in seeds {
            for ((file, _), runs) in ADVERSARIAL.iter().zip(models.iter_mut()) {
                let r = robustness::run(&dir.join(file), seed, threads, ATTACKS, ATTACK_RANGE)?;
                let attacked: Vec<String> = r
                    .attacked
                    .iter()
                    .map(|a| format!("{:.1}", a * 100.0))
                    .collect();
                progress(format!(
                    "{file} seed {seed}: clean {:.2} %, attacked {} % ({:.1} s training)",
                    r.clean * 100.0,
                    attacked.join(" / "),
                    r.train_seconds
                ));
                runs.push(r);
            }
        }
        let [plain, trained] = models;
        results.robustness = Some((plain, trained));
    }
    if selection.wants("bagging") {
        for &seed in seeds {
            let started = std::time::Instant::now();
            let b = ensemble::run(&dir.join(BAGGING), seed, threads)?;
            progress(format!(
                "bagging seed {seed}: best member {:.2} %, ensemble {:.2} %, single model {:.2} % ({:.1} s)",
                b.best_member() * 100.0,
                b.ensemble * 100.0,
                b.single * 100.0,
                started.elapsed().as_secs_f64()
            ));
            results.bagging.push(b);
        }
    }
    if selection.wants("transfer") {
        for &seed in seeds {
            let r = crate::transfer::run(dir, seed, threads)?;
            progress(format!(
                "transfer seed {seed}: pretrained {:.2} %, frozen + new head {:.2} %, scratch {:.2} % ({:.1} s)",
                r.pretrain * 100.0,
                r.frozen * 100.0,
                r.scratch * 100.0,
                r.seconds.iter().sum::<f64>()
            ));
            results.transfer.push(r);
        }
    }
    if selection.wants("adding") {
        for &steps in &crate::dependencies::LENGTHS {
            for (cell, (file, _)) in crate::dependencies::CELLS.iter().enumerate() {
                let mut runs = Vec::new();
                for &seed in seeds.iter().take(crate::dependencies::MAX_SEEDS) {
                    let r = crate::dependencies::adding_run(dir, file, steps, seed, threads)?;
                    progress(format!(
                        "{file} T {steps} seed {seed}: test MSE {:.4}, solved at {} ({:.1} s)",
                        r.curve.last().copied().unwrap_or(f64::NAN),
                        r.solved_at().map_or("never".into(), |s| s.to_string()),
                        r.seconds
                    ));
                    runs.push(r);
                }
                results
                    .adding
                    .push(crate::dependencies::AddingResult { cell, steps, runs });
            }
        }
    }
    if selection.wants("cliffs") {
        let mut runs = [Vec::new(), Vec::new()];
        for (k, (file, _)) in crate::dependencies::CLIFFS.iter().enumerate() {
            for &seed in seeds.iter().take(crate::dependencies::MAX_SEEDS) {
                let r = crate::dependencies::cliff_run(dir, file, seed, threads)?;
                progress(format!(
                    "{file} seed {seed}: largest norm {:.3e}, {} spikes, final loss {:.4}",
                    r.largest_norm, r.spikes, r.final_loss
                ));
                runs[k].push(r);
            }
        }
        results.cliffs = Some(runs);
    }
    if selection.wants("sharing_time") {
        for &steps in &crate::dependencies::LENGTHS {
            let (shared, unrolled) = crate::dependencies::sharing_across_time(dir, steps)?;
            results.sharing.push((steps, shared, unrolled));
        }
    }
    Ok(results)
}

/// Trains every selected row of `rows` with every seed of `selection`.
fn run_rows(
    dir: &Path,
    rows: &[Row],
    selection: &Selection,
    progress: &mut dyn FnMut(String),
) -> Result<Vec<RowResult>, StudyError> {
    let mut results = Vec::new();
    for row in rows.iter().filter(|r| selection.wants(r.name)) {
        let mut runs = Vec::with_capacity(selection.seeds.len());
        for &seed in &selection.seeds {
            let experiment = program::load(&dir.join(row.file()), seed)?;
            let (run, _) = measure::train(experiment, selection.threads)?;
            progress(format!(
                "{} seed {seed}: train {:.2} %, test {:.2} %, best val. epoch {} of {} ({:.1} s)",
                row.name,
                run.train_accuracy * 100.0,
                run.test_accuracy * 100.0,
                run.best_validation_epoch,
                run.epochs,
                run.seconds
            ));
            runs.push(run);
        }
        results.push(RowResult { row: *row, runs });
    }
    Ok(results)
}
