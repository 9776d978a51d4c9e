//! `knit gradcheck FILE`: the model's own gradients, on a few real training examples,
//! against central finite differences in f64; a table per parameter.

use super::common::{self, OverrideArgs};
use knit_tensor::{gradcheck_sampled, Executor, GradCheckConfig, Mode};
use knit_train::{TrainOptions, Trainer};
use ndarray::s;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit gradcheck`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// `--seed` and `--set` (e.g. `--set "batch=256"`).
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// How many training examples to check on.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub examples: u64,
    /// Elements checked per parameter, drawn at random (each costs four forward passes).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub elements: u64,
    /// The seed of the element sample (the same seed checks the same elements).
    #[arg(long, default_value_t = 0)]
    pub sample_seed: u64,
    /// Check every element of every parameter instead of a sample.
    #[arg(long)]
    pub all: bool,
}

/// Runs `knit gradcheck`.
pub fn run(args: &Args) -> ExitCode {
    let (plan, lines) = match common::compile(&args.file, &args.overrides.overrides()) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let splits = match common::load_data(&plan, &lines) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let k = (args.examples as usize).min(splits.train.len());
    let x = splits.train.features.slice(s![..k, ..]).mapv(f64::from);
    let y = splits.train.labels.slice(s![..k]).mapv(f64::from);
    let trainer = match Trainer::new(plan, splits, TrainOptions::default()) {
        Ok(t) => t,
        Err(e) => return common::train_failure(&e),
    };
    let plan = trainer.plan();
    let mut exec = Executor::<f64>::new(&plan.graph);
    exec.copy_state_from(trainer.executor());
    let fed = plan.models.iter().try_for_each(|m| {
        exec.set_input(m.input, x.view().into_dyn())?;
        Ok::<_, knit_tensor::TensorError>(())
    });
    if let Err(e) = fed.and_then(|()| exec.set_input(plan.labels, y.view().into_dyn())) {
        return common::failure(e);
    }
    let wrt: Vec<_> = plan.graph.params().map(|(id, _)| id).collect();
    // Evaluation mode: dropout is the identity and batch norm uses its running statistics,
    // so the loss is a deterministic function of the parameters.
    let config = GradCheckConfig {
        step: 1e-6,
        rtol: 1e-4,
        atol: 1e-7,
        mode: Mode::Eval,
    };
    let per_node = if args.all {
        usize::MAX
    } else {
        usize::try_from(args.elements).unwrap_or(usize::MAX)
    };
    match gradcheck_sampled(
        &mut exec,
        plan.loss,
        &wrt,
        &config,
        per_node,
        args.sample_seed,
    ) {
        Ok(report) => {
            let which = if args.all {
                "every element".to_string()
            } else {
                format!(
                    "up to {} elements per parameter, sampled with seed {} (--all for every element)",
                    args.elements, args.sample_seed
                )
            };
            println!(
                "{}: gradients of the loss on {k} training example{} (f64, central differences, h = {:e}, evaluation mode); {which}\n",
                args.file.display(),
                if k == 1 { "" } else { "s" },
                config.step
            );
            print!("{report}");
            if report.passed() {
                println!("\nall {} parameters pass", report.entries.len());
                ExitCode::SUCCESS
            } else {
                let failed = report.entries.iter().filter(|e| !e.passed).count();
                common::failure(format!(
                    "{failed} of {} parameters fail the gradient check",
                    report.entries.len()
                ))
            }
        }
        Err(e) => common::failure(e),
    }
}
