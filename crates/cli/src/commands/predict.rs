//! `knit predict FILE --weights CKPT --input data.csv`: the predicted class and the class
//! probabilities (softmax of the output) of every row, as CSV; an ensemble checkpoint gives
//! the ensemble's combined class and probabilities (the mean, for regression).

use super::common::{self, Trained, TrainedArgs};
use knit_data::{Header, LabelColumn, Source};
use knit_train::Predictions;
use ndarray::Axis;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit predict`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program and its checkpoint.
    #[command(flatten)]
    pub trained: TrainedArgs,
    /// A CSV file of raw (unscaled) features, one example per row, with or without a header.
    #[arg(long, value_name = "CSV")]
    pub input: PathBuf,
    /// Write the predictions here instead of stdout.
    #[arg(long, value_name = "CSV")]
    pub output: Option<PathBuf>,
}

/// Runs `knit predict`.
pub fn run(args: &Args) -> ExitCode {
    if let Some(output) = &args.output {
        let inputs = [
            ("the checkpoint", args.trained.weights.as_path()),
            ("the input", args.input.as_path()),
            ("the program", args.trained.file.as_path()),
        ];
        if let Err(code) = common::refuse_overwrite("--output", output, &inputs) {
            return code;
        }
    }
    // A device or a FIFO as the input is refused before anything is read from it.
    if let Err(e) = knit_io::open_regular(&args.input) {
        return common::failure(e);
    }
    let (loaded, scaler) = match args.trained.load_with_scaler() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut features = match knit_data::load_features_csv(&args.input, Header::Auto, None) {
        Ok(f) => f,
        Err(e) => return common::failure(e),
    };
    // A file in the training format still holds its label column: drop the column the data
    // block names, and say so.
    if let Some((label, header)) = training_label(&loaded.trained) {
        if features.ncols() == loaded.features + 1 {
            features = match knit_data::load_features_csv(&args.input, header, Some(&label)) {
                Ok(f) => f,
                Err(e) => return common::failure(e),
            };
            eprintln!(
                "note: {} has {} columns, one more than the model's {} features: the label \
                 column ({}, as the data block names it) is left out",
                args.input.display(),
                loaded.features + 1,
                loaded.features,
                describe(&label)
            );
        }
    }
    if let Err(e) = scaler.try_apply(&mut features) {
        return common::failure(format!("{}: {e}", args.input.display()));
    }
    if features.ncols() != loaded.features {
        return common::failure(format!(
            "{}: rows have {} columns; model '{}' expects {} features",
            args.input.display(),
            features.ncols(),
            loaded.names[0],
            loaded.features
        ));
    }
    let predictions = match loaded.trained {
        Trained::Single(mut trainer) => trainer.predictions(features.view()),
        Trained::Ensemble(mut ensemble) => ensemble.predictions(features.view()),
    };
    let predictions = match predictions {
        Ok(p) => p,
        Err(e) => return common::train_failure(&e),
    };
    let text = to_csv(&predictions);
    match &args.output {
        Some(path) => {
            if let Err(e) = knit_io::write_atomically(path, text.as_bytes()) {
                return common::failure(format!("cannot write {}: {}", path.display(), e.reason()));
            }
        }
        None => print!("{text}"),
    }
    ExitCode::SUCCESS
}

/// The label column and header setting of the program's training CSV, if it reads one.
fn training_label(trained: &Trained) -> Option<(LabelColumn, Header)> {
    let plan = match trained {
        Trained::Single(trainer) => trainer.plan(),
        Trained::Ensemble(ensemble) => ensemble.members.first()?.plan(),
    };
    match &plan.data.source {
        Source::Csv { label, header, .. } => Some((label.clone(), *header)),
        _ => None,
    }
}

/// How a note names a label column: as the data block writes it.
fn describe(label: &LabelColumn) -> String {
    match label {
        LabelColumn::Last => "label: last".into(),
        LabelColumn::First => "label: first".into(),
        LabelColumn::Index(i) => format!("label: {i}"),
        LabelColumn::Name(name) => format!("label: \"{name}\""),
    }
}

/// The CSV: `row,class,p0,p1,...` for classification (probabilities to 6 decimals),
/// `row,y0,...` for regression (values as `f32`, the model's type).
fn to_csv(predictions: &Predictions) -> String {
    let mut out = String::new();
    let values = &predictions.values;
    let width = values.ncols();
    match &predictions.classes {
        Some(classes) => {
            out.push_str("row,class");
            for c in 0..width {
                let _ = write!(out, ",p{c}");
            }
            out.push('\n');
            for (i, (row, class)) in values.axis_iter(Axis(0)).zip(classes).enumerate() {
                let _ = write!(out, "{i},{class}");
                for p in row {
                    let _ = write!(out, ",{p:.6}");
                }
                out.push('\n');
            }
        }
        None => {
            out.push_str("row");
            for c in 0..width {
                let _ = write!(out, ",y{c}");
            }
            out.push('\n');
            for (i, row) in values.axis_iter(Axis(0)).enumerate() {
                let _ = write!(out, "{i}");
                for &v in row {
                    let _ = write!(out, ",{}", v as f32);
                }
                out.push('\n');
            }
        }
    }
    out
}
