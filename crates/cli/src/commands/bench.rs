//! `knit bench FILE`: training samples per second (batching, forward, backward, optimizer
//! step) at the file's batch size, the median of several epochs.

use super::common::{self, OverrideArgs};
use knit_train::{Silent, TrainOptions, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// `--seed` and `--set` (e.g. `--set "batch=256"`).
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// How many timed epochs (after one warm-up epoch).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub runs: u64,
    /// Threads for matrix products.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,
}

/// Runs `knit bench`.
pub fn run(args: &Args) -> ExitCode {
    let (mut plan, lines) = match common::compile(&args.file, &args.overrides.overrides()) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    plan.early_stop = None;
    let splits = match common::load_data(&plan, &lines) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let threads = args.threads as usize;
    let runs = args.runs as usize;
    let examples = splits.train.len();
    let result = knit_tensor::with_thread_pool(threads, || {
        let options = TrainOptions {
            threads,
            eval_batch: 512,
        };
        let mut trainer = Trainer::new(plan, splits, options)?;
        trainer.train_epoch(&mut Silent)?;
        let mut rates = Vec::with_capacity(runs);
        for _ in 0..runs {
            rates.push(trainer.train_epoch(&mut Silent)?.samples_per_second);
        }
        Ok::<_, knit_train::TrainError>(rates)
    });
    let mut rates = match result {
        Ok(r) => r,
        Err(e) => return common::train_failure(&e),
    };
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{}: {examples} training examples, {threads} thread{}, {runs} timed epoch{}",
        args.file.display(),
        if threads == 1 { "" } else { "s" },
        if runs == 1 { "" } else { "s" }
    );
    println!(
        "samples/s  median {median:.0}  min {:.0}  max {:.0}",
        rates[0],
        rates[rates.len() - 1]
    );
    ExitCode::SUCCESS
}
