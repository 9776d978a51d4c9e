//! Transfer learning as users do it (after Keras's `mnist_transfer_cnn` and the recipe of
//! `shared/bench/REFERENCE.md`): a CNN pretrained on digits 0-4, its convolutions frozen
//! under a fresh head trained on 500 images of digits 5-9, against the same CNN trained
//! from scratch on those 500.
//!
//! The three stages are the `dsl-examples` programs users run by hand; the study chains
//! them in memory: the pretrained weights go from one trainer to the next as a
//! [`knit_train::Checkpoint`], selected by the fine-tuning program's `start from ... only`
//! line, exactly as `knit train` loads them from the file.

use crate::measure::{mean_accuracy, trainer};
use crate::program::load;
use crate::stats::Spread;
use crate::StudyError;
use knit_train::{Silent, Trainer};
use std::path::Path;

/// The pretraining program (digits 0-4, 5-way head), relative to `dsl-examples/techniques`.
pub const PRETRAIN: &str = "../transfer_cnn_pretrain.net";
/// The fine-tuning program: the pretrained convolutions loaded and frozen, a fresh head.
pub const FROZEN: &str = "../transfer_cnn_frozen.net";
/// The same CNN trained from scratch on the fine-tuning data.
pub const SCRATCH: &str = "../transfer_cnn_scratch.net";

/// Seeds of the fine-tuning and from-scratch runs are these offsets plus the study's seed,
/// as in the PyTorch recipe (`torch.manual_seed(100 + s)` and `200 + s`), so that the fresh
/// head is not drawn from the pretraining's stream.
pub const SEED_OFFSETS: [u64; 2] = [100, 200];

/// PyTorch's test accuracies in percent (mean, sample standard deviation over seeds 0-2),
/// from `shared/bench/REFERENCE.md`: pretraining, frozen features + new head, scratch.
pub const PYTORCH: [(f64, f64); 3] = [(97.07, 0.87), (96.85, 0.06), (95.56, 0.12)];

/// One seed of the experiment: test accuracies (fractions) and seconds of each stage.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferRun {
    /// The pretrained CNN on the test images of digits 0-4.
    pub pretrain: f64,
    /// Frozen pretrained convolutions with a new head, on the test images of digits 5-9.
    pub frozen: f64,
    /// The CNN from scratch on the same 500 images, same test images.
    pub scratch: f64,
    /// Wall-clock seconds of the three stages.
    pub seconds: [f64; 3],
    /// Parameters the fine-tuning trains (those not frozen: the new head's).
    pub trainable: usize,
}

/// Trains `trainer` to the end of its plan and returns its test accuracy and the seconds.
fn fit(trainer: &mut Trainer, path: &Path) -> Result<(f64, f64), StudyError> {
    let started = std::time::Instant::now();
    let report = trainer
        .fit(&mut Silent)
        .map_err(|e| StudyError::train(path, e))?;
    if report.test.is_empty() {
        return Err(StudyError::Unsuitable {
            path: path.to_path_buf(),
            message: "the transfer experiment needs a test split".into(),
        });
    }
    Ok((mean_accuracy(&report.test), started.elapsed().as_secs_f64()))
}

/// Runs the three stages with the study seed `seed`, the programs read from `dir`'s parent
/// (`dsl-examples`), matrix products on `threads` threads.
pub fn run(dir: &Path, seed: u64, threads: usize) -> Result<TransferRun, StudyError> {
    let pretrain_path = dir.join(PRETRAIN);
    let mut pretrained = trainer(load(&pretrain_path, seed)?, threads)?;
    let (pretrain, pretrain_seconds) = fit(&mut pretrained, &pretrain_path)?;
    let checkpoint = pretrained.checkpoint();

    let frozen_path = dir.join(FROZEN);
    let experiment = load(&frozen_path, seed + SEED_OFFSETS[0])?;
    let selection = experiment
        .plan
        .transfer
        .clone()
        .ok_or_else(|| StudyError::Unsuitable {
            path: frozen_path.clone(),
            message: "the fine-tuning program needs a `start from` line".into(),
        })?;
    let mut tuned = trainer(experiment, threads)?;
    tuned
        .load_some_weights(
            &checkpoint,
            &pretrain_path,
            &selection.rename,
            selection.load.as_deref(),
        )
        .map_err(|e| StudyError::train(&frozen_path, e))?;
    let trainable = trainable_parameters(&tuned).map_err(|e| StudyError::train(&frozen_path, e))?;
    let (frozen, frozen_seconds) = fit(&mut tuned, &frozen_path)?;

    let scratch_path = dir.join(SCRATCH);
    let mut fresh = trainer(load(&scratch_path, seed + SEED_OFFSETS[1])?, threads)?;
    let (scratch, scratch_seconds) = fit(&mut fresh, &scratch_path)?;
    Ok(TransferRun {
        pretrain,
        frozen,
        scratch,
        seconds: [pretrain_seconds, frozen_seconds, scratch_seconds],
        trainable,
    })
}

/// The number of parameter values the optimizer of `trainer` updates (outside frozen groups).
fn trainable_parameters(trainer: &Trainer) -> Result<usize, knit_train::TrainError> {
    let plan = trainer.plan();
    let mut count = 0;
    for (name, group) in &plan.param_groups {
        if !plan.groups[*group].frozen {
            count += trainer.executor().param(name)?.len();
        }
    }
    Ok(count)
}

/// A stage of the table: its label, its program and what it measured.
type Stage = (&'static str, &'static str, fn(&TransferRun) -> f64);

/// A link from `docs/` to one of the programs (they live in `dsl-examples`, beside the
/// techniques folder).
fn link(file: &str) -> String {
    let name = file.trim_start_matches("../");
    format!("[{name}](../dsl-examples/{name})")
}

/// The section of `docs/techniques.md`: the setup, a table of the three stages per seed
/// beside PyTorch, and the finding.
pub fn section(seeds: &[u64], runs: &[TransferRun]) -> String {
    let mut out = String::from("## Transfer learning\n\n");
    out += &format!(
        "After Keras's `mnist_transfer_cnn`, with the recipe of `shared/bench/REFERENCE.md`: \
         the CNN of the convolutional table with a 5-way head, pretrained 5 epochs on the \
         4,106 MNIST-10k training images of digits 0-4 ({}, seed s); then its two \
         convolutions loaded and frozen under a freshly initialized dense head (`start from \
         ... only conv1.*, conv2.*` and `freeze`), the head trained 20 epochs on 500 images \
         of digits 5-9, 100 per digit, labels digit − 5 ({}, seed 100 + s); against the same \
         CNN trained from scratch on the same 500 images ({}, seed 200 + s). Both are tested \
         on all 975 MNIST-10k test images of digits 5-9, the pretraining on the 1,025 of \
         digits 0-4. Adam 1e-3, batch 64 reshuffled. Test accuracy in percent, per seed s; \
         PyTorch's figures are over seeds 0-2.\n\n",
        link(PRETRAIN),
        link(FROZEN),
        link(SCRATCH)
    );
    let mut header = vec!["stage".to_string(), "file".to_string()];
    header.extend(seeds.iter().map(|s| format!("s = {s}")));
    header.extend(["knit".into(), "PyTorch".into(), "s/run".into()]);
    let stages: [Stage; 3] = [
        ("pretraining on digits 0-4", PRETRAIN, |r| r.pretrain),
        ("frozen convolutions + new head, 500 of 5-9", FROZEN, |r| {
            r.frozen
        }),
        ("from scratch, the same 500", SCRATCH, |r| r.scratch),
    ];
    let rows: Vec<Vec<String>> = stages
        .iter()
        .enumerate()
        .map(|(k, (label, file, measure))| {
            let percents: Vec<f64> = runs.iter().map(|r| measure(r) * 100.0).collect();
            let mut row = vec![label.to_string(), link(file)];
            row.extend(percents.iter().map(|p| format!("{p:.2}")));
            let (mean, sd) = PYTORCH[k];
            row.push(Spread::of(&percents).show(2));
            row.push(format!("{mean:.2} ± {sd:.2}"));
            let seconds: Vec<f64> = runs.iter().map(|r| r.seconds[k]).collect();
            row.push(format!("{:.1}", Spread::of(&seconds).mean));
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    out += &crate::table::markdown(&header, &rows);
    out += &format!("\n{}\n\n", finding(runs));
    out
}

/// What the experiment shows: frozen features against scratch, with the seeds that agree.
pub fn finding(runs: &[TransferRun]) -> String {
    let percents =
        |f: fn(&TransferRun) -> f64| -> Vec<f64> { runs.iter().map(|r| f(r) * 100.0).collect() };
    let frozen = Spread::of(&percents(|r| r.frozen));
    let scratch = Spread::of(&percents(|r| r.scratch));
    let wins = runs.iter().filter(|r| r.frozen > r.scratch).count();
    let verdict = if frozen.clearly_differs(&scratch) {
        if frozen.mean > scratch.mean {
            "transfer helps"
        } else {
            "transfer hurts"
        }
    } else {
        "no clear difference"
    };
    format!(
        "Transfer: with 500 images of the new digits, the frozen pretrained convolutions under \
         a new head reach {} % against {} % from scratch ({:+.2} points, better in {wins} of {} \
         seeds): {verdict}, as in PyTorch ({:.2} % against {:.2} %). Only the head's {} \
         parameters learn from the 500 images; the convolutions' features, learned on other \
         digits, carry over.",
        frozen.show(2),
        scratch.show(2),
        frozen.mean - scratch.mean,
        runs.len(),
        PYTORCH[1].0,
        PYTORCH[2].0,
        crate::table::thousands(runs.first().map_or(0, |r| r.trainable)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pretrain: f64, frozen: f64, scratch: f64) -> TransferRun {
        TransferRun {
            pretrain,
            frozen,
            scratch,
            seconds: [4.0, 0.5, 1.0],
            trainable: 401_413,
        }
    }

    #[test]
    fn the_section_has_a_column_per_seed_pytorchs_figures_and_the_verdict() {
        let runs = [run(0.98, 0.97, 0.95), run(0.99, 0.96, 0.955)];
        let out = section(&[0, 1], &runs);
        assert!(out.starts_with("## Transfer learning\n\n"));
        assert!(out.contains("| stage | file | s = 0 | s = 1 | knit | PyTorch | s/run |\n"));
        assert!(out.contains(
            "| frozen convolutions + new head, 500 of 5-9 | \
             [transfer_cnn_frozen.net](../dsl-examples/transfer_cnn_frozen.net) | 97.00 | \
             96.00 | 96.50 ± 0.71 | 96.85 ± 0.06 | 0.5 |\n"
        ));
        assert!(out.contains(
            "reach 96.50 ± 0.71 % against 95.25 ± 0.35 % from scratch (+1.25 points, better \
             in 2 of 2 seeds): transfer helps, as in PyTorch (96.85 % against 95.56 %). Only \
             the head's 401,413 parameters learn"
        ));
    }

    #[test]
    fn a_difference_within_the_spread_is_not_called_an_effect() {
        let runs = [run(0.98, 0.96, 0.95), run(0.99, 0.95, 0.96)];
        assert!(finding(&runs).contains("better in 1 of 2 seeds): no clear difference"));
    }
}
