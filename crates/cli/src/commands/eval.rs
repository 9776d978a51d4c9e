//! `knit eval FILE --weights CKPT`: validation and test metrics of a checkpoint.

use super::common::{self, Overrides};
use crate::summary;
use knit_train::{TrainOptions, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file the checkpoint was trained from.
    pub file: PathBuf,
    /// The checkpoint (`.safetensors`).
    #[arg(long, value_name = "CKPT")]
    pub weights: PathBuf,
    /// The seed the run used, when it was overridden with `knit train --seed`.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs `knit eval`.
pub fn run(args: &Args) -> ExitCode {
    let plan = match common::compile(
        &args.file,
        &Overrides {
            seed: args.seed,
            lets: Vec::new(),
        },
    ) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let ckpt = match common::read_checkpoint(&args.weights) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let splits = match common::load_data(&plan) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (validation, test) = (splits.validation.clone(), splits.test.clone());
    let names: Vec<String> = plan.models.iter().map(|m| m.name.clone()).collect();
    let mut trainer = match Trainer::new(plan, splits, TrainOptions::default()) {
        Ok(t) => t,
        Err(e) => return common::train_failure(&e),
    };
    if let Err(e) = trainer.load_weights(&ckpt, &args.weights, &[]) {
        return common::train_failure(&e);
    }
    let mut rows = Vec::new();
    for (split, data) in [("validation", &validation), ("test", &test)] {
        if let Some(data) = data {
            match trainer.evaluate(data) {
                Ok(m) => rows.push((split, m)),
                Err(e) => return common::train_failure(&e),
            }
        }
    }
    if rows.is_empty() {
        return common::failure(format!(
            "{} has no validation or test split to evaluate on",
            args.file.display()
        ));
    }
    let borrowed: Vec<(&str, &[knit_train::EvalMetrics])> =
        rows.iter().map(|(s, m)| (*s, m.as_slice())).collect();
    print!("{}", summary::eval_table(&borrowed, &names));
    ExitCode::SUCCESS
}
