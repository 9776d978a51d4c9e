//! `knit attack FILE --weights CKPT`: a trained classifier's (or ensemble's) accuracy on
//! clean examples and under FGSM and PGD attacks at several ε, on the test (or validation)
//! split.

use super::common::{self, Trained, TrainedArgs};
use knit_data::Dataset;
use knit_train::{Attack, Task, TrainError};
use serde::Serialize;
use std::fmt::Write as _;
use std::process::ExitCode;

/// Which attacks to run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The fast gradient sign method: one step of ε·sign(∇ₓ loss).
    Fgsm,
    /// Projected gradient descent: `--steps` signed steps of α, kept in the ε-ball.
    Pgd,
    /// FGSM, then PGD.
    Both,
}

/// The split attacked.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitName {
    /// The test split.
    Test,
    /// The validation split.
    Validation,
}

/// Arguments of `knit attack`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "ε is in the units of the model's inputs after the program's scaling (e.g. \
                  `scale x / 16` makes pixel ε 0.1 mean 1.6 grey levels). PGD follows Madry \
                  et al.: 10 steps by default, each of size α = 2.5·ε/steps, starting at the \
                  clean example; every step is projected back into the ε-ball. Perturbed \
                  inputs are clipped to --range, or to the range of the program's \
                  `adversarial` line if it has one."
)]
pub struct Args {
    /// The program (a classifier) and its checkpoint: one model's, or an ensemble's
    /// (attacked through the sum of its members' losses, scored by its combined
    /// predictions).
    #[command(flatten)]
    pub trained: TrainedArgs,
    /// The radii ε of the L∞ ball, comma-separated, in the scaled inputs' units.
    #[arg(
        long,
        value_name = "EPS,...",
        value_delimiter = ',',
        default_value = "0.05,0.1,0.2"
    )]
    pub eps: Vec<f64>,
    /// Which attacks to run.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    pub attack: Which,
    /// PGD steps.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub steps: u64,
    /// PGD step size α, the same for every ε (default 2.5·ε/steps).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// The split to attack.
    #[arg(long, value_enum, default_value_t = SplitName::Test)]
    pub split: SplitName,
    /// Clip perturbed inputs to [LO, HI] (scaled units), e.g. `--range 0,1`.
    #[arg(long, value_name = "LO,HI")]
    pub range: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One measured row.
#[derive(Serialize)]
struct Row {
    attack: &'static str,
    eps: f64,
    steps: usize,
    alpha: f64,
    accuracy: f64,
}

/// The JSON output.
#[derive(Serialize)]
struct Output<'a> {
    split: &'a str,
    examples: usize,
    /// The member count when an ensemble was attacked.
    ensemble_members: Option<usize>,
    range: Option<(f64, f64)>,
    clean: f64,
    attacks: &'a [Row],
}

/// Checks the numeric options; a message for a usage error otherwise.
fn validate(args: &Args) -> Result<Option<(f64, f64)>, String> {
    if args.eps.is_empty() {
        return Err("--eps: give at least one ε".into());
    }
    if let Some(bad) = args.eps.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        return Err(format!("--eps {bad}: ε must be a finite number ≥ 0"));
    }
    if let Some(alpha) = args.alpha {
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(format!("--alpha {alpha}: α must be a finite number > 0"));
        }
    }
    let Some(range) = &args.range else {
        return Ok(None);
    };
    let parts: Vec<Option<f64>> = range
        .split(',')
        .map(|p| p.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    match parts.as_slice() {
        [Some(lo), Some(hi)] if lo < hi => Ok(Some((*lo, *hi))),
        _ => Err(format!(
            "--range {range}: expected LO,HI, two numbers with LO < HI"
        )),
    }
}

/// The accuracy of one model, or of an ensemble's combined predictions, on clean `data`.
fn clean_accuracy(victim: &mut Trained, data: &Dataset) -> Result<f64, TrainError> {
    match victim {
        Trained::Single(t) => Ok(t
            .evaluate(data)?
            .first()
            .and_then(|m| m.accuracy)
            .unwrap_or(0.0)),
        Trained::Ensemble(e) => e.score(data),
    }
}

/// The accuracy on `data` after `attack`: against one model, or against an ensemble through
/// the sum of its members' losses.
fn accuracy_under_attack(
    victim: &mut Trained,
    data: &Dataset,
    attack: Attack,
    range: Option<(f64, f64)>,
) -> Result<f64, TrainError> {
    match victim {
        Trained::Single(t) => t.accuracy_under_attack(data, attack, range),
        Trained::Ensemble(e) => e.accuracy_under_attack(data, attack, range),
    }
}

/// Runs `knit attack`.
pub fn run(args: &Args) -> ExitCode {
    let range_arg = match validate(args) {
        Ok(r) => r,
        Err(message) => return common::usage_error(message),
    };
    let loaded = match args.trained.load() {
        Ok(l) => l,
        Err(code) => return code,
    };
    if loaded.task == Task::Regression {
        return common::failure(format!(
            "{} trains a regression model: attacks are measured by accuracy, which needs class labels",
            args.trained.file.display()
        ));
    }
    let mut victim = loaded.trained;
    let (split, data) = match args.split {
        SplitName::Test => ("test", loaded.test),
        SplitName::Validation => ("validation", loaded.validation),
    };
    let Some(data) = data else {
        return common::failure(format!(
            "{} has no {split} split to attack",
            args.trained.file.display()
        ));
    };
    let range = range_arg.or(loaded.plan.adversarial.and_then(|a| a.range));
    let clean = match clean_accuracy(&mut victim, &data) {
        Ok(a) => a,
        Err(e) => return common::train_failure(&e),
    };
    let steps = args.steps as usize;
    let mut attacks: Vec<Attack> = Vec::new();
    if matches!(args.attack, Which::Fgsm | Which::Both) {
        attacks.extend(args.eps.iter().map(|&eps| Attack::Fgsm { eps }));
    }
    if matches!(args.attack, Which::Pgd | Which::Both) {
        attacks.extend(args.eps.iter().map(|&eps| Attack::Pgd {
            eps,
            alpha: args.alpha.unwrap_or(2.5 * eps / steps as f64),
            steps,
        }));
    }
    let mut rows = Vec::with_capacity(attacks.len());
    for attack in attacks {
        let accuracy = match accuracy_under_attack(&mut victim, &data, attack, range) {
            Ok(a) => a,
            Err(e) => return common::train_failure(&e),
        };
        let (steps, alpha) = attack.schedule();
        rows.push(Row {
            attack: match attack {
                Attack::Fgsm { .. } => "fgsm",
                Attack::Pgd { .. } => "pgd",
            },
            eps: attack.eps(),
            steps,
            alpha,
            accuracy,
        });
    }
    let members = match &victim {
        Trained::Single(_) => None,
        Trained::Ensemble(e) => Some(e.members.len()),
    };
    if args.json {
        let output = Output {
            split,
            examples: data.len(),
            ensemble_members: members,
            range,
            clean,
            attacks: &rows,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&output).unwrap_or_default()
        );
    } else {
        print!("{}", table(split, data.len(), members, range, clean, &rows));
    }
    ExitCode::SUCCESS
}

/// The table: clean accuracy, then a row per attack and ε.
fn table(
    split: &str,
    examples: usize,
    members: Option<usize>,
    range: Option<(f64, f64)>,
    clean: f64,
    rows: &[Row],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "accuracy under attack on {examples} {split} examples{} (ε in scaled input units{})",
        members.map_or_else(String::new, |k| format!(", an ensemble of {k} members")),
        range.map_or_else(String::new, |(lo, hi)| format!(
            ", inputs clipped to [{lo}, {hi}]"
        ))
    );
    let _ = writeln!(
        s,
        "  {:<6}  {:>8}  {:>5}  {:>9}  {:>9}",
        "attack", "eps", "steps", "alpha", "accuracy"
    );
    let _ = writeln!(
        s,
        "  {:<6}  {:>8}  {:>5}  {:>9}  {:>7.2} %",
        "clean",
        "-",
        "-",
        "-",
        clean * 100.0
    );
    for r in rows {
        let _ = writeln!(
            s,
            "  {:<6}  {:>8}  {:>5}  {:>9.5}  {:>7.2} %",
            r.attack,
            r.eps,
            r.steps,
            r.alpha,
            r.accuracy * 100.0
        );
    }
    s
}
