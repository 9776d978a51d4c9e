//! `knit eval FILE --weights CKPT`: validation and test metrics of a checkpoint; for an
//! ensemble checkpoint, the ensemble's score and each member's.

use super::common::{self, Trained, TrainedArgs};
use crate::summary;
use knit_data::Dataset;
use knit_train::{Ensemble, Score, TrainError};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Arguments of `knit eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program and its checkpoint.
    #[command(flatten)]
    pub trained: TrainedArgs,
}

/// Runs `knit eval`.
pub fn run(args: &Args) -> ExitCode {
    let loaded = match args.trained.load() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let splits: Vec<(&str, &Dataset)> =
        [("validation", &loaded.validation), ("test", &loaded.test)]
            .into_iter()
            .filter_map(|(name, data)| data.as_ref().map(|d| (name, d)))
            .collect();
    if splits.is_empty() {
        return common::failure(format!(
            "{} has no validation or test split to evaluate on",
            args.trained.file.display()
        ));
    }
    let table = match loaded.trained {
        Trained::Single(mut trainer) => {
            let mut rows = Vec::new();
            for (split, data) in &splits {
                match trainer.evaluate(data) {
                    Ok(m) => rows.push((*split, m)),
                    Err(e) => return common::train_failure(&e),
                }
            }
            let borrowed: Vec<(&str, &[knit_train::EvalMetrics])> =
                rows.iter().map(|(s, m)| (*s, m.as_slice())).collect();
            summary::eval_table(&borrowed, &loaded.names)
        }
        Trained::Ensemble(mut ensemble) => match ensemble_table(&mut ensemble, &splits) {
            Ok(t) => t,
            Err(e) => return common::train_failure(&e),
        },
    };
    print!("{table}");
    ExitCode::SUCCESS
}

/// The ensemble's score and each member's on every split, a row each.
fn ensemble_table(
    ensemble: &mut Ensemble,
    splits: &[(&str, &Dataset)],
) -> Result<String, TrainError> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "ensemble of {} members, combined by {}",
        ensemble.members.len(),
        match (ensemble.combine, ensemble.members[0].plan().task) {
            (_, knit_train::Task::Regression) => "the mean",
            (knit_train::Combine::Vote, _) => "majority vote",
            (knit_train::Combine::Average, _) => "averaged probabilities",
        }
    );
    let mut header_done = false;
    for (split, data) in splits {
        let scores = ensemble.scores(data)?;
        if !header_done {
            let _ = writeln!(
                s,
                "{:<12} {:<12} {:>8} {:>10}",
                "split",
                "model",
                "examples",
                scores.score.to_string()
            );
            header_done = true;
        }
        let cell = |v: f64| match scores.score {
            Score::Accuracy => format!("{:.2} %", v * 100.0),
            Score::Mse => format!("{v:.4}"),
        };
        let _ = writeln!(
            s,
            "{:<12} {:<12} {:>8} {:>10}",
            split,
            "ensemble",
            data.len(),
            cell(scores.ensemble)
        );
        for (k, v) in scores.members.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:<12} {:<12} {:>8} {:>10}",
                split,
                format!("member {k}"),
                data.len(),
                cell(*v)
            );
        }
    }
    Ok(s)
}
