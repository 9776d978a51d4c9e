//! `knit gradflow FILE [--weights CKPT]`: how the gradient flows on one training batch, at
//! the initial weights or a checkpoint's: every parameter's gradient norm, and for every
//! recurrent layer ‖∂L/∂h_t‖ at every step (vanishing and exploding gradients through time),
//! computed in f64.

use super::common::{self, OverrideArgs, Trained};
use knit_train::{gradient_flow, GradientFlow, TrainOptions, Trainer};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit gradflow`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// A checkpoint of the program (default: the program's initial weights).
    #[arg(long, value_name = "CKPT")]
    pub weights: Option<PathBuf>,
    /// `--seed` and `--set`.
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// How many training examples (the first ones of the training split) make the batch.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub examples: u64,
}

/// Runs `knit gradflow`.
pub fn run(args: &Args) -> ExitCode {
    let trainer = match &args.weights {
        Some(weights) => match common::load_trained(&args.file, &args.overrides, weights) {
            Ok(loaded) => match loaded.trained {
                Trained::Single(t) => *t,
                Trained::Ensemble(_) => {
                    return common::failure(format!(
                        "{} is an ensemble checkpoint; gradflow looks at one model",
                        weights.display()
                    ))
                }
            },
            Err(code) => return code,
        },
        None => {
            let (plan, lines) = match common::compile(&args.file, &args.overrides.overrides()) {
                Ok(compiled) => compiled,
                Err(code) => return code,
            };
            let splits = match common::load_data(&plan, &lines) {
                Ok(s) => s,
                Err(code) => return code,
            };
            match Trainer::new(plan, splits, TrainOptions::default()) {
                Ok(t) => t,
                Err(e) => return common::train_failure(&e),
            }
        }
    };
    let examples = usize::try_from(args.examples).unwrap_or(usize::MAX);
    match gradient_flow(&trainer, &trainer.splits().train, examples) {
        Ok(flow) => {
            let at = match &args.weights {
                Some(w) => format!("the weights of {}", w.display()),
                None => "the initial weights".to_string(),
            };
            print!("{}", render(&args.file.display().to_string(), &at, &flow));
            ExitCode::SUCCESS
        }
        Err(e) => common::train_failure(&e),
    }
}

/// The report: a line per parameter, then a table of steps per recurrent layer.
fn render(file: &str, at: &str, flow: &GradientFlow) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{file}: gradient flow on {} training example{} at {at} (f64, training mode), loss {:.6}\n",
        flow.examples,
        if flow.examples == 1 { "" } else { "s" },
        flow.loss
    );
    let width = flow.params.iter().map(|p| p.0.len()).max().unwrap_or(0);
    let _ = writeln!(s, "  {:width$}  {:>14}  ‖∂L/∂W‖", "parameter", "shape");
    for (name, dims, norm) in &flow.params {
        let shape = format!("{dims:?}");
        let _ = writeln!(s, "  {name:width$}  {shape:>14}  {norm:.3e}");
    }
    for layer in &flow.layers {
        let _ = writeln!(
            s,
            "\n{} `{}`: ‖∂L/∂h_t‖ over the batch, t = 1..{}",
            layer.kind,
            layer.node,
            layer.norms.len()
        );
        let _ = writeln!(
            s,
            "  {:>5}  {:>10}  {:>12}",
            "t", "‖∂L/∂h_t‖", "÷ ‖∂L/∂h_T‖"
        );
        let last = layer.norms.last().copied().unwrap_or(0.0);
        for (t, norm) in layer.norms.iter().enumerate() {
            let ratio = if last > 0.0 { norm / last } else { f64::NAN };
            let _ = writeln!(s, "  {:>5}  {norm:>10.3e}  {ratio:>12.3e}", t + 1);
        }
    }
    s
}
