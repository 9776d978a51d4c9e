//! `knit predict FILE --weights CKPT --input data.csv`: the predicted class and the class
//! probabilities (softmax of the output) of every row, as CSV.

use super::common::{self, Overrides};
use knit_data::Header;
use knit_tensor::{Executor, Mode};
use knit_train::{Task, TrainOptions, Trainer};
use ndarray::{s, Array2, Axis};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `knit predict`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file the checkpoint was trained from.
    pub file: PathBuf,
    /// The checkpoint (`.safetensors`) written by `knit train`.
    #[arg(long, value_name = "CKPT")]
    pub weights: PathBuf,
    /// A CSV file of raw (unscaled) features, one example per row, with or without a header.
    #[arg(long, value_name = "CSV")]
    pub input: PathBuf,
    /// Write the predictions here instead of stdout.
    #[arg(long, value_name = "CSV")]
    pub output: Option<PathBuf>,
}

/// Runs `knit predict`.
pub fn run(args: &Args) -> ExitCode {
    let plan = match common::compile(&args.file, &Overrides::default()) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let ckpt = match common::read_checkpoint(&args.weights) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let scaler = match common::read_scaler(&ckpt, &args.weights) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut features = match knit_data::load_features_csv(&args.input, Header::Auto, None) {
        Ok(f) => f,
        Err(e) => return common::failure(e),
    };
    if let Err(e) = scaler.try_apply(&mut features) {
        return common::failure(format!("{}: {e}", args.input.display()));
    }
    let splits = match common::load_data(&plan) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let model = plan.models[0].clone();
    let task = plan.task;
    let expected = splits.train.features.ncols();
    if features.ncols() != expected {
        return common::failure(format!(
            "{}: rows have {} columns; model '{}' expects {expected} features",
            args.input.display(),
            features.ncols(),
            model.name
        ));
    }
    let mut trainer = match Trainer::new(plan, splits, TrainOptions::default()) {
        Ok(t) => t,
        Err(e) => return common::train_failure(&e),
    };
    if let Err(e) = trainer.load_weights(&ckpt, &args.weights, &[]) {
        return common::train_failure(&e);
    }
    let mut exec = Executor::<f32>::new(&trainer.plan().graph);
    exec.copy_state_from(trainer.executor());
    let outputs = match forward(&mut exec, model.input, model.output, &features) {
        Ok(o) => o,
        Err(e) => return common::failure(e),
    };
    let text = to_csv(&outputs, task);
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                return common::failure(format!("cannot write {}: {e}", path.display()));
            }
        }
        None => print!("{text}"),
    }
    ExitCode::SUCCESS
}

/// The model's outputs for every row, in evaluation mode, 512 rows at a time.
fn forward(
    exec: &mut Executor<f32>,
    input: knit_tensor::NodeId,
    output: knit_tensor::NodeId,
    features: &Array2<f32>,
) -> Result<Array2<f32>, knit_tensor::TensorError> {
    let mut rows: Vec<f32> = Vec::new();
    let mut width = 0;
    let n = features.nrows();
    let mut start = 0;
    while start < n {
        let end = (start + 512).min(n);
        exec.set_input(input, features.slice(s![start..end, ..]).into_dyn())?;
        exec.run(output, Mode::Eval)?;
        let value = exec.value(output)?;
        width = value.len() / (end - start);
        rows.extend(value.iter().copied());
        start = end;
    }
    Ok(Array2::from_shape_vec((n, width), rows).unwrap_or_else(|_| Array2::zeros((0, 0))))
}

/// The CSV: `row,class,p0,p1,...` for classification, `row,y0,...` for regression.
fn to_csv(outputs: &Array2<f32>, task: Task) -> String {
    let mut out = String::new();
    let width = outputs.ncols();
    match task {
        Task::Classification { .. } => {
            out.push_str("row,class");
            for c in 0..width {
                let _ = write!(out, ",p{c}");
            }
            out.push('\n');
            for (i, row) in outputs.axis_iter(Axis(0)).enumerate() {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f64> = row.iter().map(|&v| f64::from(v - max).exp()).collect();
                let total: f64 = exps.iter().sum();
                let class = exps
                    .iter()
                    .enumerate()
                    .fold(0, |best, (j, &v)| if v > exps[best] { j } else { best });
                let _ = write!(out, "{i},{class}");
                for p in &exps {
                    let _ = write!(out, ",{:.6}", p / total);
                }
                out.push('\n');
            }
        }
        Task::Regression => {
            out.push_str("row");
            for c in 0..width {
                let _ = write!(out, ",y{c}");
            }
            out.push('\n');
            for (i, row) in outputs.axis_iter(Axis(0)).enumerate() {
                let _ = write!(out, "{i}");
                for v in row {
                    let _ = write!(out, ",{v}");
                }
                out.push('\n');
            }
        }
    }
    out
}
