//! What the running subcommands share: compiling a file (with `--seed` and `--set`
//! overrides) into a plan, loading its data, reading checkpoints, printing errors.

use crate::report;
use knit_data::{Dataset, Scaler, Splits};
pub use knit_dsl::Overrides;

/// `--seed` and `--set`: every command that compiles a program takes them, so that a run
/// trained with overrides can be evaluated, attacked or benchmarked with the same ones.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OverrideArgs {
    /// Use this seed instead of the file's (initialization, shuffling, splits and dropout).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replace the value of a top-level `let` constant (`--set hidden=256`), or else a whole
    /// line of the train block (`--set epochs=5`, `--set "batch=128, shuffle"`,
    /// `--set "optimizer=sgd(lr: 0.1)"`); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl OverrideArgs {
    /// The overrides to apply to the program's text.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            seed: self.seed,
            set: self.set.clone(),
            epochs: None,
        }
    }
}
use knit_train::{Checkpoint, Element, Ensemble, Plan, Task, TrainError, TrainOptions, Trainer};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code 2: wrong usage.
pub fn usage_error(message: impl Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Exit code 1: a diagnostic, data or checkpoint error.
pub fn failure(message: impl Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Reads and checks `file` with `overrides`; prints the diagnostics; returns the plan and
/// where its data block splits the data (for [`load_data`]'s messages).
pub fn compile(file: &Path, overrides: &Overrides) -> Result<(Plan, DataLines), ExitCode> {
    let text = match knit_dsl::read_source(file) {
        Ok(text) => text,
        Err(error) => {
            let unread = knit_dsl::Diagnostics {
                items: vec![knit_dsl::read_error(&error)],
            };
            report::print(&knit_dsl::source::SourceMap::new(), &unread);
            return Err(ExitCode::FAILURE);
        }
    };
    let text = knit_dsl::apply_overrides(&text, overrides).map_err(usage_error)?;
    let outcome = knit_dsl::check_source(file, &text);
    report::print(&outcome.loaded.sources, &outcome.checked.diagnostics);
    if outcome.checked.diagnostics.has_errors() {
        return Err(ExitCode::FAILURE);
    }
    match outcome.checked.plan {
        Some(plan) => {
            let lines = data_lines(&outcome.loaded, &plan.data.name);
            Ok((plan, lines))
        }
        None => Err(failure(format!(
            "{} has no `train` block: there is nothing to run",
            file.display()
        ))),
    }
}

/// The folder that relative paths in `file` are resolved against.
pub fn base_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The program's plan without early stopping, and its data: what `knit bench` and
/// `knit lr-find` step through (they take steps, not a run with its stopping rule).
pub fn plan_for_steps(file: &Path, overrides: &Overrides) -> Result<(Plan, Splits), ExitCode> {
    let (mut plan, lines) = compile(file, overrides)?;
    plan.early_stop = None;
    let splits = load_data(&plan, &lines)?;
    Ok((plan, splits))
}

/// Loads the plan's data (knit-dsl already resolved its paths against the `.net` file's
/// folder); for a classifier every label must be a class index below the model's class
/// count (a bad one is an error naming its file and line or byte offset).
pub fn load_data(plan: &Plan, lines: &DataLines) -> Result<Splits, ExitCode> {
    let classes = match plan.task {
        Task::Classification { classes } => Some(classes),
        Task::Regression => None,
    };
    knit_data::load_for(&plan.data, Path::new(""), classes).map_err(|e| data_failure(&e, lines))
}

/// Where the compiled program's data block says how to split its data, and the files read:
/// a split that leaves a set empty is found only once the data is loaded, and is then
/// reported at that line.
pub struct DataLines {
    /// The files read, to render the diagnostic.
    sources: knit_dsl::source::SourceMap,
    /// The file and span of the `split` line (`true`), or of the data block's name.
    split: Option<(knit_dsl::source::FileId, knit_dsl::span::Span, bool)>,
}

/// The split line of data block `name` in `loaded`.
fn data_lines(loaded: &knit_dsl::Loaded, name: &str) -> DataLines {
    use knit_dsl::ast::{DataSetting, Item};
    for module in &loaded.modules {
        for item in &module.program.items {
            let Item::Data(d) = item else { continue };
            if d.name.name != name {
                continue;
            }
            let split = d.settings.iter().find_map(|s| match s {
                DataSetting::Split { span, .. } | DataSetting::SplitIndices { span, .. } => {
                    Some(*span)
                }
                _ => None,
            });
            let place = match split {
                Some(span) => (module.file, span, true),
                None => (module.file, d.name.span, false),
            };
            return DataLines {
                sources: loaded.sources.clone(),
                split: Some(place),
            };
        }
    }
    DataLines {
        sources: loaded.sources.clone(),
        split: None,
    }
}

/// A data error printed for people: one about the split at the program's `split` line.
fn data_failure(error: &knit_data::DataError, lines: &DataLines) -> ExitCode {
    use knit_data::DataError;
    let about_split = matches!(
        error,
        DataError::EmptySplit { .. }
            | DataError::SplitConflict { .. }
            | DataError::IndexConflict { .. }
    );
    let Some((file, span, is_split)) = lines.split.filter(|_| about_split) else {
        return failure(error);
    };
    let text = error.to_string();
    let message = text.strip_prefix("split: ").unwrap_or(&text);
    let label = if is_split {
        "this split, for the data as loaded"
    } else {
        "this data, split by default"
    };
    let diagnostic =
        knit_dsl::Diagnostic::error(knit_dsl::Code::BadValue, message).label(file, span, label);
    let diags = knit_dsl::Diagnostics {
        items: vec![diagnostic],
    };
    report::print(&lines.sources, &diags);
    ExitCode::FAILURE
}

/// Reads a checkpoint, or fails naming the file.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, ExitCode> {
    read_checkpoint_as(path)
}

/// Reads a checkpoint with its tensors in `F` (a `precision f64` run's resume or transfer
/// source), or fails naming the file.
pub fn read_checkpoint_as<F: Element>(path: &Path) -> Result<Checkpoint<F>, ExitCode> {
    Checkpoint::read_as(path).map_err(failure)
}

/// A training error, printed for people.
pub fn train_failure(e: &TrainError) -> ExitCode {
    failure(e)
}

/// The name under which a scaler array is stored in a checkpoint (`_knit.scaler.*`).
fn scaler_tensor_name(name: &str) -> String {
    format!("_{name}")
}

/// Adds the fitted scaler to a checkpoint.
pub fn store_scaler<F: Element>(ckpt: &mut Checkpoint<F>, scaler: &Scaler) {
    for (name, array) in scaler.to_named_arrays() {
        ckpt.tensors
            .insert(scaler_tensor_name(&name), array.mapv(F::from_f32));
    }
}

/// The scaler stored in a checkpoint by [`store_scaler`], which must scale `features`
/// features (the model's input width); errors name the checkpoint and its entries.
pub fn read_scaler(ckpt: &Checkpoint, path: &Path, features: usize) -> Result<Scaler, ExitCode> {
    let arrays: Vec<(String, ndarray::ArrayD<f32>)> = [
        knit_data::KIND_NAME,
        knit_data::SHIFT_NAME,
        knit_data::SCALE_NAME,
    ]
    .iter()
    .filter_map(|name| {
        ckpt.tensors
            .get(&scaler_tensor_name(name))
            .map(|a| (name.to_string(), a.clone()))
    })
    .collect();
    if let Some((name, _)) = arrays
        .iter()
        .find(|(_, a)| a.iter().any(|v| !v.is_finite()))
    {
        return Err(failure(format!(
            "checkpoint {}: entry '{}': the checkpoint holds non-finite values, so its inputs \
             cannot be scaled",
            path.display(),
            scaler_tensor_name(name),
        )));
    }
    let scaler = Scaler::from_named_arrays(&arrays).map_err(|e| {
        failure(format!(
            "checkpoint {}: entries '{}': no usable feature scaling ({e}); was it written by `knit train`?",
            path.display(),
            scaler_tensor_name("knit.scaler.*"),
        ))
    })?;
    match scaler.width() {
        Some(width) if width != features => Err(failure(format!(
            "checkpoint {}: entry '{}': the stored scaling is for {width} features, but the model takes {features}",
            path.display(),
            scaler_tensor_name(knit_data::SHIFT_NAME),
        ))),
        _ => Ok(scaler),
    }
}

/// Whether `a` and `b` name the same file once links are followed ([`knit_io::write_target`]).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (knit_io::write_target(a), knit_io::write_target(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// Refuses, as a usage error, an output file `flag PATH` that is one of the `inputs`
/// (named by what they are): writing it would destroy a checkpoint, a program or data.
pub fn refuse_overwrite(
    flag: &str,
    output: &Path,
    inputs: &[(&str, &Path)],
) -> Result<(), ExitCode> {
    match inputs.iter().find(|(_, input)| same_file(output, input)) {
        None => Ok(()),
        Some((what, input)) => Err(usage_error(format!(
            "{flag} {}: that is {what} {}; writing there would overwrite it, choose another file",
            output.display(),
            input.display()
        ))),
    }
}

/// The weights of a checkpoint: one model, or an ensemble written by a bagging run.
pub enum Trained {
    /// One model, with the checkpoint's pruning masks (if any) held at zero.
    Single(Box<Trainer>),
    /// Every member of an ensemble checkpoint.
    Ensemble(Ensemble),
}

/// The program and the checkpoint that `knit eval`, `predict`, `export` and `attack` load.
#[derive(clap::Args, Debug)]
pub struct TrainedArgs {
    /// The `.net` file the checkpoint was trained from.
    pub file: PathBuf,
    /// The checkpoint (`.safetensors`) written by `knit train`: one model's, or an
    /// ensemble's from a bagging run (then the command works on the combined members).
    #[arg(long, value_name = "CKPT")]
    pub weights: PathBuf,
    /// The `--seed` and `--set` the run was trained with, if any.
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

impl TrainedArgs {
    /// The program compiled and its checkpoint loaded ([`load_trained`]).
    pub fn load(&self) -> Result<Loaded, ExitCode> {
        load_trained(&self.file, &self.overrides, &self.weights)
    }

    /// [`load`](Self::load), and the input scaling the checkpoint stores ([`read_scaler`]):
    /// what turns raw feature rows into the model's inputs (`predict`, `export`).
    pub fn load_with_scaler(&self) -> Result<(Loaded, Scaler), ExitCode> {
        let loaded = self.load()?;
        let scaler = read_scaler(&loaded.ckpt, &self.weights, loaded.features)?;
        Ok((loaded, scaler))
    }
}

/// What `knit eval`, `predict`, `export` and `attack` work on: a program's checkpoint loaded.
pub struct Loaded {
    /// The model or ensemble.
    pub trained: Trained,
    /// The checkpoint as read (its scaler, metadata).
    pub ckpt: Checkpoint,
    /// The program's validation split, if any.
    pub validation: Option<Dataset>,
    /// The program's test split, if any.
    pub test: Option<Dataset>,
    /// The names of the program's models.
    pub names: Vec<String>,
    /// Classification or regression.
    pub task: Task,
    /// Features per example the first model takes.
    pub features: usize,
    /// The program's plan (compiled with the `--seed` and `--set` overrides).
    pub plan: Plan,
}

/// Compiles `file` with `overrides`, loads its data and the checkpoint `weights`:
/// an ensemble checkpoint (metadata `knit.ensemble.members`) into all its members, any
/// other into one trainer, whose pruning masks are applied.
pub fn load_trained(
    file: &Path,
    overrides: &OverrideArgs,
    weights: &Path,
) -> Result<Loaded, ExitCode> {
    let (plan, lines) = compile(file, &overrides.overrides())?;
    let ckpt = read_checkpoint(weights)?;
    let splits = load_data(&plan, &lines)?;
    let (validation, test) = (splits.validation.clone(), splits.test.clone());
    let names: Vec<String> = plan.models.iter().map(|m| m.name.clone()).collect();
    let (task, features) = (plan.task, splits.train.features.ncols());
    let options = TrainOptions::default();
    let members = Ensemble::members_in(&ckpt, weights).map_err(|e| train_failure(&e))?;
    let trained = match members {
        Some(_) => Trained::Ensemble(
            Ensemble::from_checkpoint(&plan, &splits, options, &ckpt, weights)
                .map_err(|e| train_failure(&e))?,
        ),
        None => {
            let mut trainer =
                Trainer::new(plan.clone(), splits, options).map_err(|e| train_failure(&e))?;
            trainer
                .load_weights(&ckpt, weights, &[])
                .and_then(|_| trainer.check_known_entries(&ckpt, weights, ""))
                .map_err(|e| train_failure(&e))?;
            trainer
                .load_masks(&ckpt, weights)
                .map_err(|e| train_failure(&e))?;
            Trained::Single(Box::new(trainer))
        }
    };
    Ok(Loaded {
        trained,
        ckpt,
        validation,
        test,
        names,
        task,
        features,
        plan,
    })
}
