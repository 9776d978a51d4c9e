//! `knit bench FILE`: training samples per second (batching, forward, backward, optimizer
//! step) at the file's batch size, the median of several epochs.

use super::common::{self, OverrideArgs};
use super::world;
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
    /// Under an MPI launcher, measure data-parallel training over its world (the file's
    /// batch is the global batch: `--set "batch=128"` is 64 per rank on 2 ranks).
    #[arg(long, value_enum, default_value_t = world::Distributed::Auto)]
    pub distributed: world::Distributed,
}

/// Runs `knit bench`.
pub fn run(args: &Args) -> ExitCode {
    let (plan, splits) = match common::plan_for_steps(&args.file, &args.overrides.overrides()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (threads, lowered) = world::threads_for(args.threads as usize, args.distributed);
    if let Some(note) = lowered {
        eprintln!("{note}");
    }
    let runs = args.runs as usize;
    let examples = splits.train.len();
    let steps_per_epoch = match plan.batching {
        knit_train::Batching::Full => 1,
        knit_train::Batching::Online => examples,
        knit_train::Batching::Mini(b) => examples.div_ceil(b.max(1)),
    };
    let result = knit_tensor::with_thread_pool(threads, || {
        let group = world::join(args.distributed).map_err(common::failure)?;
        let options = TrainOptions {
            threads,
            eval_batch: 512,
        };
        let measured = (|| {
            let mut trainer = Trainer::new(plan, splits, options)?;
            trainer.train_epoch_in(&*group, &mut Silent)?;
            let mut rates = Vec::with_capacity(runs);
            let mut collective = Vec::with_capacity(runs);
            for _ in 0..runs {
                let before = trainer.collective_seconds();
                rates.push(
                    trainer
                        .train_epoch_in(&*group, &mut Silent)?
                        .samples_per_second,
                );
                collective.push(trainer.collective_seconds() - before);
            }
            Ok::<_, knit_train::TrainError>((rates, collective))
        })();
        match measured {
            Ok(m) => Ok((m, group.size(), group.is_root())),
            Err(e) => {
                let code = common::train_failure(&e);
                if group.size() > 1 {
                    group.abort(1);
                }
                Err(code)
            }
        }
    });
    let ((mut rates, mut collective), ranks, root) = match result {
        Ok(r) => r,
        Err(code) => return code,
    };
    if !root {
        return ExitCode::SUCCESS;
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{}: {examples} training examples, {}{threads} thread{}, {runs} timed epoch{}",
        args.file.display(),
        if ranks > 1 {
            format!("{ranks} ranks of ")
        } else {
            String::new()
        },
        if threads == 1 { "" } else { "s" },
        if runs == 1 { "" } else { "s" }
    );
    println!(
        "samples/s  median {median:.0}  min {:.0}  max {:.0}",
        rates[0],
        rates[rates.len() - 1]
    );
    if ranks > 1 {
        collective.sort_by(f64::total_cmp);
        let per_step = collective[collective.len() / 2] / steps_per_epoch as f64;
        let step = 1.0 / median * (examples as f64 / steps_per_epoch as f64);
        println!(
            "{ranks} ranks: all-reduce {:.0} µs per step (median epoch), {:.1} % of a step",
            per_step * 1e6,
            per_step / step * 100.0
        );
    }
    ExitCode::SUCCESS
}
