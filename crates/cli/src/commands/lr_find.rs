//! `knit lr-find FILE`: the learning-rate range test (Smith 2017) from the program's initial
//! weights: a table and a plot of the smoothed loss against an exponentially rising rate,
//! and a suggested rate with the rule that chose it. Nothing is saved: the checkpoint on
//! disk is not touched.

use super::common::{self, OverrideArgs};
use crate::plot;
use knit_train::{RangeCurve, RangeTest, TrainOptions, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit lr-find`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// `--seed` and `--set`.
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// The first learning rate.
    #[arg(long, default_value_t = 1e-7)]
    pub start: f64,
    /// The last learning rate.
    #[arg(long, default_value_t = 10.0)]
    pub end: f64,
    /// At most this many steps (one batch each), the rate rising by the same factor each.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub steps: u64,
    /// Draw the curve here (`.png` or `.svg`).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Threads for matrix products.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,
}

/// At most this many rows in the printed table (every k-th step, and the last).
const TABLE_ROWS: usize = 25;

/// Runs `knit lr-find`.
pub fn run(args: &Args) -> ExitCode {
    if let Some(path) = &args.plot {
        if plot::Format::of(path).is_none() {
            return common::usage_error(format!(
                "--plot {}: expected a .png or .svg file name",
                path.display()
            ));
        }
        if let Err(code) = common::refuse_overwrite("--plot", path, &[("the program", &args.file)])
        {
            return code;
        }
    }
    let (plan, splits) = match common::plan_for_steps(&args.file, &args.overrides.overrides()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let test = RangeTest {
        start: args.start,
        end: args.end,
        steps: args.steps as usize,
        ..RangeTest::default()
    };
    let threads = args.threads as usize;
    let batch = splits.train.len();
    let curve = knit_tensor::with_thread_pool(threads, || {
        let options = TrainOptions {
            threads,
            eval_batch: 512,
        };
        Trainer::new(plan, splits, options)?.lr_range_test(test)
    });
    let curve = match curve {
        Ok(c) => c,
        Err(e) => return common::train_failure(&e),
    };
    print!("{}", table(&args.file.display().to_string(), &curve, batch));
    if let Some(path) = &args.plot {
        if let Err(message) = plot::range_test(&curve, curve.steepest(), path) {
            return common::failure(format!("cannot draw {}: {message}", path.display()));
        }
    }
    ExitCode::SUCCESS
}

/// The printed result: what ran, a table of at most [`TABLE_ROWS`] steps, the suggestion
/// and its rule.
fn table(file: &str, curve: &RangeCurve, examples: usize) -> String {
    let points = &curve.points;
    let mut out = format!(
        "{file}: learning-rate range test, {} steps on {examples} training examples{}\n",
        points.len(),
        if curve.diverged {
            ", stopped when the loss diverged"
        } else {
            ""
        }
    );
    out += "       lr        loss    smoothed\n";
    let every = points.len().div_ceil(TABLE_ROWS).max(1);
    for (i, p) in points.iter().enumerate() {
        if i % every == 0 || i + 1 == points.len() {
            out += &format!("{:>9.2e}  {:>10.4}  {:>10.4}\n", p.lr, p.loss, p.smoothed);
        }
    }
    match (curve.steepest(), curve.tenth_of_minimum()) {
        (Some(steepest), Some(tenth)) => {
            out += &format!(
                "suggested lr {steepest:.2e}: where the smoothed loss falls fastest against \
                 log(lr)\n(a tenth of the rate of its minimum, the other common reading: \
                 {tenth:.2e})\n"
            );
        }
        _ => {
            out += "no suggestion: the smoothed loss never fell for three steps; widen the \
                    range (--start, --end) or take more --steps\n"
        }
    }
    out
}
