//! `knit train FILE`: trains the program's models, with progress, a summary, checkpoints,
//! a JSON report and learning curves.

use super::common::{self, OverrideArgs};
use super::metrics_log::MetricsLog;
use super::world;
use crate::{plot, summary};
use indicatif::{ProgressBar, ProgressStyle};
use knit_dist::Collective;
use knit_train::{
    Both, Element, EpochMetrics, Observer, Precision, TrainError, TrainOptions, Trainer,
};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `knit train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// Train this many epochs instead of the file's (from 1 to 1,000,000, as the `epochs`
    /// line takes).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=knit_dsl::MAX_EPOCHS as u64))]
    pub epochs: Option<u64>,
    /// Threads for matrix products.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,
    /// Compute and save in this floating-point type instead of the file's (`--set
    /// precision=f64`: the program text the report and the checkpoint keep says it).
    #[arg(long, value_parser = ["f32", "f64"])]
    pub precision: Option<String>,
    /// `--seed` and `--set`.
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Write checkpoints under this folder instead of the `.net` file's folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a JSON report of the run here.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Draw the loss and accuracy curves here (`.png` or `.svg`).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Continue the run saved in this checkpoint (same program and seed).
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Print only the final summary.
    #[arg(long)]
    pub quiet: bool,
    /// Write the metrics as CSV here as training goes: a row per epoch (epoch, losses,
    /// accuracies, learning rate, gradient norm, seconds, samples/s), flushed after each.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// With `--log`, a row per optimizer step too (its batch loss and gradient norm).
    #[arg(long, requires = "log")]
    pub log_steps: bool,
    /// Under an MPI launcher (`mpirun -np N knit train ...`), train data-parallel over its
    /// N processes (`auto`), insist on it (`require`), or train each process alone (`off`).
    #[arg(long, value_enum, default_value_t = world::Distributed::Auto)]
    pub distributed: world::Distributed,
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Display {
    /// A bar per epoch on stderr.
    Bar,
    /// One line per epoch on stdout.
    Lines,
    /// Nothing per epoch.
    Quiet,
}

/// Follows training: progress and the last good checkpoint after each epoch.
struct Progress {
    display: Display,
    epochs: usize,
    bar: Option<ProgressBar>,
    examples: usize,
    loss_sum: f64,
    started: Instant,
    save: PathBuf,
    scaler: knit_data::Scaler,
    /// Whether this process writes the checkpoints (rank 0 of a data-parallel run does).
    writes: bool,
}

impl<F: Element> Observer<F> for Progress {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        self.examples = 0;
        self.loss_sum = 0.0;
        self.started = Instant::now();
        if self.display == Display::Bar {
            let bar = progress_bar(batches, "{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}");
            bar.set_prefix(format!("epoch {epoch:>3}/{}", self.epochs));
            self.bar = Some(bar);
        }
    }

    fn batch_finished(&mut self, _batch: usize, examples: usize, loss: f64) {
        self.examples += examples;
        self.loss_sum += loss * examples as f64;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  {:.0} samples/s",
                self.loss_sum / self.examples.max(1) as f64,
                self.examples as f64 / seconds
            ));
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        let line = epoch_line(m, self.epochs);
        match self.display {
            Display::Bar => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!("{line}");
            }
            Display::Lines => println!("{line}"),
            Display::Quiet => {}
        }
    }

    fn stopped_early(&mut self, epoch: usize, best_epoch: usize) {
        if self.display != Display::Quiet {
            eprintln!("early stopping after epoch {epoch} (best epoch {best_epoch})");
        }
    }

    fn epoch_committed(&mut self, trainer: &Trainer<F>) -> Result<(), TrainError> {
        if !self.writes {
            return Ok(());
        }
        save_checkpoint(trainer, &self.scaler, &self.save)
    }
}

/// The `--log` file of this process (rank 0 alone writes one), created with its header.
fn open_log(args: &Args, root: bool) -> Result<Option<MetricsLog>, ExitCode> {
    match &args.log {
        Some(path) if root => MetricsLog::create(path, args.log_steps)
            .map(Some)
            .map_err(common::failure),
        _ => Ok(None),
    }
}

/// The checkpoint tensors a transfer leaves unused, for a message: how many and their names
/// (the first eight).
fn unused_list(unused: &[String]) -> String {
    let shown: Vec<&str> = unused.iter().take(8).map(String::as_str).collect();
    let more = unused.len().saturating_sub(shown.len());
    format!(
        "{} checkpoint tensor{} ({}{})",
        unused.len(),
        if unused.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    )
}

/// Follows one member of a bagging run: each finished epoch advances the run's shared bar
/// (members × epochs long) or prints a line naming the member.
struct MemberProgress {
    member: usize,
    epochs: usize,
    display: Display,
    bar: Option<ProgressBar>,
}

impl MemberProgress {
    /// The shared bar of a bagging run, on a terminal.
    fn bar(display: Display, members: usize, epochs: usize) -> Option<ProgressBar> {
        (display == Display::Bar).then(|| {
            progress_bar(
                members * epochs,
                "bagging [{bar:30}] {pos}/{len} epochs {msg} ETA {eta}",
            )
        })
    }
}

impl<F: Element> Observer<F> for MemberProgress {
    fn epoch_finished(&mut self, m: &EpochMetrics) {
        let line = format!("member {}  {}", self.member, epoch_line(m, self.epochs));
        match (&self.bar, self.display) {
            (Some(bar), _) => {
                bar.inc(1);
                bar.set_message(line);
            }
            (None, Display::Lines) => println!("{line}"),
            _ => {}
        }
    }
}

/// A bar of `len` steps drawn with the indicatif `template`.
pub fn progress_bar(len: usize, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// One epoch's line.
fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    let mut line = format!("epoch {:>3}/{epochs}  loss {:.4}", m.epoch, m.train_loss);
    if let Some(Some(acc)) = m.train_accuracy.first() {
        line += &format!("  acc {:.2} %", acc * 100.0);
    }
    if let Some(v) = m.validation.first() {
        line += &format!("  val loss {:.4}", v.loss);
        if let Some(acc) = v.accuracy {
            line += &format!("  val acc {:.2} %", acc * 100.0);
        }
    }
    for (pair, distance) in &m.tie_distances {
        line += &format!("  ‖{pair}‖² {distance:.4}");
    }
    if let Some(c) = m.clipping {
        line += &format!(
            "  clipped {}/{}  max ‖g‖ {:.3}",
            c.clipped, c.steps, c.largest_norm
        );
    }
    line += &format!(
        "  lr {:.2e}  {:.0} samples/s  {:.2} s",
        m.lr, m.samples_per_second, m.seconds
    );
    line
}

/// Writes the trainer's checkpoint with the fitted scaler, atomically.
fn save_checkpoint<F: Element>(
    trainer: &Trainer<F>,
    scaler: &knit_data::Scaler,
    path: &Path,
) -> Result<(), TrainError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!("cannot create the folder {}: {e}", dir.display()),
            })?;
        }
    }
    let mut ckpt = trainer.checkpoint();
    common::store_scaler(&mut ckpt, scaler);
    ckpt.write(path)
}

/// Where the checkpoint goes: the plan's `save` path (knit-dsl resolved it against the
/// `.net` file's folder), or `runs/STEM.safetensors` there; with `--out DIR`, the same
/// relative path under DIR.
fn save_path(plan_save: Option<&Path>, file: &Path, out: Option<&Path>) -> PathBuf {
    let base = common::base_dir(file);
    let resolved = match plan_save {
        Some(p) => p.to_path_buf(),
        None => {
            let stem = file
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            base.join("runs").join(format!("{stem}.safetensors"))
        }
    };
    match out {
        Some(dir) => dir.join(relative_to(&resolved, &base)),
        None => resolved,
    }
}

/// `path` relative to `base` when it lies under it, else its file name.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    match path.strip_prefix(base) {
        Ok(rel) if base != Path::new(".") || !path.is_absolute() => rel.to_path_buf(),
        // A program named without a folder (`knit train net.net`) has its paths resolved
        // against the empty folder, so they carry no `./` to strip.
        _ if base == Path::new(".") && path.is_relative() => path.to_path_buf(),
        _ => path
            .file_name()
            .map_or_else(|| path.to_path_buf(), PathBuf::from),
    }
}

/// A transfer checkpoint's path: with `--out DIR`, the checkpoint an earlier run wrote under
/// DIR is preferred; else the path in the program (resolved against the `.net` file's folder).
fn transfer_path(from: &Path, file: &Path, out: Option<&Path>) -> PathBuf {
    if let Some(dir) = out {
        let candidate = dir.join(relative_to(from, &common::base_dir(file)));
        if candidate.exists() {
            return candidate;
        }
    }
    from.to_path_buf()
}

/// Trains a bagging ensemble: every member on its own bootstrap resample, as many at a
/// time as `--threads` allows; all members go into one checkpoint at the plan's path
/// (`members.K.<name>`, see `knit_train::Ensemble::checkpoint`), with the fitted scaler.
/// `--report` gets every member's epochs and the ensemble's score, `--plot` the members'
/// curves.
fn train_bagged<F: Element>(
    args: &Args,
    plan: &knit_train::Plan,
    splits: &knit_data::Splits,
    bagging: knit_train::BaggingSpec,
    save: &Path,
    display: Display,
    wall: Instant,
) -> ExitCode {
    let (threads, _) = world::threads_for(args.threads as usize, args.distributed);
    let options = TrainOptions {
        threads,
        eval_batch: 512,
    };
    // Members are spread over the ranks of a launcher's world (member k on rank k mod N).
    let group = match world::join(args.distributed) {
        Ok(group) => group,
        Err(message) => return common::failure(message),
    };
    let display = if group.is_root() {
        display
    } else {
        Display::Quiet
    };
    let log = match open_log(args, group.is_root()) {
        Ok(log) => log,
        Err(code) => return code,
    };
    let bar = MemberProgress::bar(display, bagging.members, plan.epochs);
    let observe = |member| -> Box<dyn Observer<F> + Send> {
        Box::new(Both(
            MemberProgress {
                member,
                epochs: plan.epochs,
                display,
                bar: bar.clone(),
            },
            log.as_ref().map(|l| l.cursor(Some(member))),
        ))
    };
    let trained = knit_train::train_bagging_in(&*group, plan, splits, bagging, options, &observe);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (mut ensemble, report) = match trained {
        Ok(Some(t)) => t,
        // Rank 0 writes the ensemble and the report.
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            // A member that diverged: the report says where (its epochs are not kept).
            if group.is_root() {
                report_divergence(args, plan, &[], &e, save, wall);
            }
            let code = common::train_failure(&e);
            if group.size() > 1 {
                group.abort(1);
            }
            return code;
        }
    };
    print!("{}", summary::bagging_table(&report, plan.epochs));
    let mut ckpt = ensemble.checkpoint();
    common::store_scaler(&mut ckpt, &splits.scaler);
    if let Err(e) = ckpt.write(save) {
        return common::train_failure(&e);
    }
    println!("  checkpoint {}", save.display());
    if let Some(message) = log.as_ref().and_then(MetricsLog::failure) {
        eprintln!("warning: {message}");
    }
    let classifies = report.score == knit_train::Score::Accuracy;
    if let (Some(adversarial), true) = (plan.adversarial, classifies) {
        // The split the ensemble was scored on, attacked through all the members.
        let held_out = splits.test.as_ref().or(splits.validation.as_ref());
        if let Some(data) = held_out {
            let attacked =
                ensemble.accuracy_under_attack(data, adversarial.attack, adversarial.range);
            match attacked {
                Ok(a) => print_robustness(data.len(), report.ensemble, adversarial.attack, a),
                Err(e) => return common::train_failure(&e),
            }
        }
    }
    if let Some(path) = &args.report {
        let seeds: Vec<u64> = (0..bagging.members)
            .map(|k| knit_train::member_seed(plan.seed, k))
            .collect();
        let names: Vec<String> = plan.models.iter().map(|m| m.name.clone()).collect();
        let run = summary::RunInput {
            file: &args.file,
            program: &plan.program,
            seed: plan.seed,
            threads,
            names: &names,
            checkpoint: save,
            total_seconds: wall.elapsed().as_secs_f64(),
        };
        let json = summary::bagging_json(&run, &report, &seeds);
        if let Err(code) = write_report(path, &json) {
            return code;
        }
    }
    if let Some(path) = &args.plot {
        let runs: Vec<(String, &knit_train::Report)> = report
            .reports
            .iter()
            .enumerate()
            .map(|(k, r)| (format!("member {k}"), r))
            .collect();
        if let Err(message) = plot::curves_of(&runs, path) {
            return common::failure(format!("cannot draw {}: {message}", path.display()));
        }
    }
    ExitCode::SUCCESS
}

/// Prints the accuracy on held-out examples before and after an attack.
fn print_robustness(examples: usize, clean: f64, attack: knit_train::Attack, attacked: f64) {
    println!(
        "\nrobustness on {examples} held-out examples: clean {:.2} %, under {attack} {:.2} %",
        clean * 100.0,
        attacked * 100.0
    );
}

/// Writes the JSON report atomically, or says why it could not.
fn write_report(path: &Path, json: &str) -> Result<(), ExitCode> {
    knit_io::write_atomically(path, format!("{json}\n").as_bytes()).map_err(|e| {
        common::failure(format!(
            "cannot write the report {}: {}",
            path.display(),
            e.reason()
        ))
    })
}

/// Refuses (exit 2, before anything is trained) a `--report` or `--plot` file that is the
/// run's checkpoint, the checkpoint it resumes or starts from, the program, or each other,
/// and a checkpoint (`save`, with `--out`) that is the program: writing it would destroy
/// that file.
fn check_outputs(args: &Args, save: &Path, transfer: Option<&Path>) -> Result<(), ExitCode> {
    if common::same_file(save, &args.file) {
        return Err(common::usage_error(format!(
            "the checkpoint {} is the program itself; writing it would overwrite the program, \
             choose another `save` path (or --out folder)",
            save.display()
        )));
    }
    let mut inputs: Vec<(&str, &Path)> = vec![
        ("the run's checkpoint", save),
        ("the program", args.file.as_path()),
    ];
    if let Some(resume) = &args.resume {
        inputs.push(("the checkpoint resumed from", resume));
    }
    if let Some(from) = transfer {
        inputs.push(("the checkpoint the run starts from", from));
    }
    if let Some(report) = &args.report {
        common::refuse_overwrite("--report", report, &inputs)?;
        inputs.push(("the report", report));
    }
    if let Some(plot) = &args.plot {
        common::refuse_overwrite("--plot", plot, &inputs)?;
        inputs.push(("the plot", plot));
    }
    if let Some(log) = &args.log {
        common::refuse_overwrite("--log", log, &inputs)?;
    }
    // A path that cannot be written (a folder, a file where a folder should be) fails now,
    // not after the first epoch.
    let outputs = [
        ("the checkpoint", Some(save)),
        ("the report", args.report.as_deref()),
        ("the plot", args.plot.as_deref()),
        ("the metrics log", args.log.as_deref()),
    ];
    for (what, path) in outputs {
        if let Some(path) = path {
            knit_io::check_writable(path).map_err(|e| {
                common::failure(format!(
                    "cannot write {what} {}: {}",
                    path.display(),
                    e.reason()
                ))
            })?;
        }
    }
    Ok(())
}

/// Writes the `--report` of a run that diverged: the epochs it completed and where it
/// diverged (epoch, step, loss, the first non-finite value), so that the failure is on
/// record beside the runs that succeeded.
fn report_divergence(
    args: &Args,
    plan: &knit_train::Plan,
    history: &[EpochMetrics],
    error: &TrainError,
    save: &Path,
    wall: Instant,
) {
    let (Some(path), TrainError::Diverged { .. }) = (&args.report, error) else {
        return;
    };
    let names: Vec<String> = plan.models.iter().map(|m| m.name.clone()).collect();
    let run = summary::RunInput {
        file: &args.file,
        program: &plan.program,
        seed: plan.seed,
        threads: args.threads as usize,
        names: &names,
        checkpoint: save,
        total_seconds: wall.elapsed().as_secs_f64(),
    };
    let json = summary::diverged_json(&run, history, error);
    // The divergence itself is the error reported; a report that cannot be written says so.
    let _ = write_report(path, &json);
}

/// Runs `knit train`.
pub fn run(args: &Args) -> ExitCode {
    let wall = Instant::now();
    let mut overrides = args.overrides.overrides();
    // In the text, so that the program the report and the checkpoint keep says it.
    overrides.epochs = args.epochs;
    if let Some(precision) = &args.precision {
        overrides.set.push(format!("precision={precision}"));
    }
    if let Some(plot) = &args.plot {
        if plot::Format::of(plot).is_none() {
            return common::usage_error(format!(
                "--plot {}: expected a .png or .svg file name",
                plot.display()
            ));
        }
    }
    let (mut plan, lines) = match common::compile(&args.file, &overrides) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    if let Some(epochs) = args.epochs {
        plan.epochs = epochs as usize;
    }
    let splits = match common::load_data(&plan, &lines) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let save = save_path(plan.save.as_deref(), &args.file, args.out.as_deref());
    let display = if args.quiet {
        Display::Quiet
    } else if std::io::stderr().is_terminal() {
        Display::Bar
    } else {
        Display::Lines
    };
    let (threads, lowered) = world::threads_for(args.threads as usize, args.distributed);
    if let Some(note) = lowered {
        eprintln!("{note}");
    }
    let seed = plan.seed;
    let epochs = plan.epochs;
    let transfer = plan.transfer.as_ref().map(|t| {
        (
            transfer_path(&t.from, &args.file, args.out.as_deref()),
            t.rename.clone(),
            t.load.clone(),
            t.strict,
        )
    });
    if let Err(code) = check_outputs(args, &save, transfer.as_ref().map(|t| t.0.as_path())) {
        return code;
    }
    if let Some(bagging) = plan.bagging {
        if let Some(resume) = &args.resume {
            return common::usage_error(format!(
                "--resume {}: a bagging program trains all its members in one go and cannot be \
                 resumed; run it again",
                resume.display()
            ));
        }
        return match plan.precision {
            Precision::F32 => {
                train_bagged::<f32>(args, &plan, &splits, bagging, &save, display, wall)
            }
            Precision::F64 => {
                train_bagged::<f64>(args, &plan, &splits, bagging, &save, display, wall)
            }
        };
    }
    let single = Single {
        args,
        transfer: transfer.as_ref(),
        display,
        threads,
        epochs,
        save: &save,
        wall,
    };
    let train_in = |group: &dyn Collective| match plan.precision {
        Precision::F32 => train_single::<f32>(&single, plan, splits, group),
        Precision::F64 => train_single::<f64>(&single, plan, splits, group),
    };
    let outcome = knit_tensor::with_thread_pool(threads, || -> Result<_, ExitCode> {
        // Joined on the pool's thread, which makes every collective call of the run.
        let group = world::join(args.distributed).map_err(common::failure)?;
        let trained = train_in(&*group);
        if trained.is_err() && group.size() > 1 {
            // The other ranks may be waiting in a collective: end the whole job.
            group.abort(1);
        }
        trained
    });
    let (report, names, program, root) = match outcome {
        Ok(o) => o,
        Err(code) => return code,
    };
    if !root {
        // Rank 0 alone prints the summary and writes the report and the plot.
        return ExitCode::SUCCESS;
    }
    let total_seconds = wall.elapsed().as_secs_f64();
    print!(
        "{}",
        summary::train_summary(&report, &names, epochs, &save, total_seconds)
    );
    if let Some(path) = &args.report {
        let run = summary::RunInput {
            file: &args.file,
            program: &program,
            seed,
            threads,
            names: &names,
            checkpoint: &save,
            total_seconds,
        };
        let json = summary::report_json(&run, &report);
        if let Err(code) = write_report(path, &json) {
            return code;
        }
    }
    if let Some(path) = &args.plot {
        if let Err(message) = plot::curves(&report, path) {
            return common::failure(format!("cannot draw {}: {message}", path.display()));
        }
    }
    ExitCode::SUCCESS
}

/// What one run's training gave the summary: its report, the models' names, the resolved
/// program, and whether this process is rank 0.
type Trained = (knit_train::Report, Vec<String>, String, bool);

/// A `start from` line resolved: the checkpoint's path, the renames, the names to load
/// (`only`/`except`; all when `None`) and `strict`.
type TransferSource = (PathBuf, Vec<(String, String)>, Option<Vec<String>>, bool);

/// The settings of a single (not bagged) run that [`train_single`] needs besides the data.
struct Single<'a> {
    args: &'a Args,
    transfer: Option<&'a TransferSource>,
    display: Display,
    threads: usize,
    epochs: usize,
    save: &'a Path,
    wall: Instant,
}

/// Trains one run computing in `F` as one rank of `group`: resume or transfer, the epochs
/// with progress and a checkpoint after each, pruning, the robustness line and the final
/// checkpoint.
fn train_single<F: Element>(
    run: &Single<'_>,
    plan: knit_train::Plan,
    splits: knit_data::Splits,
    group: &dyn Collective,
) -> Result<Trained, ExitCode> {
    let Single {
        args,
        transfer,
        display,
        threads,
        epochs,
        save,
        wall,
    } = *run;
    let scaler = splits.scaler.clone();
    let root = group.is_root();
    let options = TrainOptions {
        threads,
        eval_batch: 512,
    };
    let mut trainer =
        Trainer::<F>::create(plan, splits, options).map_err(|e| common::train_failure(&e))?;
    if let Some(resume) = &args.resume {
        let ckpt = common::read_checkpoint_as::<F>(resume)?;
        trainer
            .resume(&ckpt, resume)
            .map_err(|e| common::train_failure(&e))?;
    } else if let Some((from, rename, load, strict)) = &transfer {
        let ckpt = common::read_checkpoint_as::<F>(from)?;
        let unused = trainer.unused_entries(&ckpt, rename);
        if !unused.is_empty() {
            let listed = unused_list(&unused);
            if *strict {
                return Err(common::failure(format!(
                    "start from {} (strict): {listed} match no parameter or buffer of the model",
                    from.display()
                )));
            }
            if root {
                eprintln!(
                    "warning: start from {}: {listed} match no parameter or buffer of the model and are not used (`strict` makes this an error)",
                    from.display()
                );
            }
        }
        trainer
            .load_some_weights(&ckpt, from, rename, load.as_deref())
            .map_err(|e| common::train_failure(&e))?;
    }
    if group.size() > 1 {
        trainer
            .broadcast_state(group)
            .map_err(|e| common::train_failure(&e))?;
    }
    let log = open_log(args, root)?;
    let mut progress = Progress {
        display: if root { display } else { Display::Quiet },
        epochs,
        bar: None,
        examples: 0,
        loss_sum: 0.0,
        started: Instant::now(),
        save: save.to_path_buf(),
        scaler: scaler.clone(),
        writes: root,
    };
    let mut cursor = log.as_ref().map(|l| l.cursor(None));
    let report = trainer.fit_in(group, &mut Both(&mut progress, &mut cursor));
    if let Some(bar) = progress.bar.take() {
        bar.abandon();
    }
    let report = report.map_err(|e| {
        if root {
            report_divergence(args, trainer.plan(), trainer.history(), &e, save, wall);
        }
        common::train_failure(&e)
    })?;
    if let Some(spec) = trainer.plan().prune.clone() {
        // Every rank prunes and retrains the whole model alike (not split).
        let pruned = trainer
            .prune(&spec, &mut Both(&mut progress, &mut cursor))
            .map_err(|e| {
                if root {
                    report_divergence(args, trainer.plan(), trainer.history(), &e, save, wall);
                }
                common::train_failure(&e)
            })?;
        if root {
            print!("{}", summary::prune_table(&pruned));
        }
    }
    if !root {
        return Ok((report, Vec::new(), String::new(), root));
    }
    if let Some(adversarial) = trainer.plan().adversarial {
        let held_out = trainer
            .splits()
            .test
            .clone()
            .or_else(|| trainer.splits().validation.clone());
        if let Some(data) = held_out {
            let clean = trainer
                .evaluate(&data)
                .map_err(|e| common::train_failure(&e))?;
            let attacked = trainer
                .accuracy_under_attack(&data, adversarial.attack, adversarial.range)
                .map_err(|e| common::train_failure(&e))?;
            let clean = clean.first().and_then(|m| m.accuracy).unwrap_or(0.0);
            print_robustness(data.len(), clean, adversarial.attack, attacked);
        }
    }
    save_checkpoint(&trainer, &scaler, save).map_err(|e| common::train_failure(&e))?;
    if let Some(message) = log.as_ref().and_then(MetricsLog::failure) {
        eprintln!("warning: {message}");
    }
    let names: Vec<String> = trainer
        .plan()
        .models
        .iter()
        .map(|m| m.name.clone())
        .collect();
    Ok((report, names, trainer.plan().program.clone(), root))
}
