//! The final summary table of `knit train`, metric tables, and the JSON report.

use knit_train::{EpochMetrics, EvalMetrics, Report};
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

/// A percentage, or `-` without one.
fn percent(acc: Option<f64>) -> String {
    acc.map_or_else(|| "-".to_string(), |a| format!("{:.2} %", a * 100.0))
}

/// The summary printed at the end of `knit train`.
pub fn train_summary(
    report: &Report,
    names: &[String],
    planned_epochs: usize,
    checkpoint: &Path,
    total_seconds: f64,
) -> String {
    let mut s = String::new();
    let done = report.epochs.last().map_or(0, |e| e.epoch);
    let _ = writeln!(s, "\nsummary");
    let mut rows: Vec<(String, String)> = vec![(
        "epochs".into(),
        if report.stopped_early {
            format!("{done} of {planned_epochs} (stopped early)")
        } else {
            format!("{done} of {planned_epochs}")
        },
    )];
    if let Some(best) = report.best_epoch {
        rows.push(("best epoch".into(), best.to_string()));
    }
    for (i, t) in report.test.iter().enumerate() {
        let prefix = model_prefix(names, i);
        rows.push((format!("{prefix}test loss"), format!("{:.4}", t.loss)));
        rows.push((format!("{prefix}test accuracy"), percent(t.accuracy)));
    }
    if report.test.is_empty() {
        if let Some(last) = report.epochs.last() {
            for (i, v) in last.validation.iter().enumerate() {
                let prefix = model_prefix(names, i);
                rows.push((format!("{prefix}validation loss"), format!("{:.4}", v.loss)));
                rows.push((format!("{prefix}validation accuracy"), percent(v.accuracy)));
            }
        }
    }
    rows.push((
        "training time".into(),
        format!("{:.2} s", report.train_seconds),
    ));
    rows.push(("total time".into(), format!("{total_seconds:.2} s")));
    rows.push((
        "samples/s".into(),
        format!("{:.0}", report.samples_per_second),
    ));
    rows.push(("checkpoint".into(), checkpoint.display().to_string()));
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(s, "  {k:<width$}  {v}");
    }
    s
}

fn model_prefix(names: &[String], i: usize) -> String {
    if names.len() > 1 {
        format!("{} ", names.get(i).map_or("?", String::as_str))
    } else {
        String::new()
    }
}

/// A table of evaluation metrics per split and model (`knit eval`).
pub fn eval_table(rows: &[(&str, &[EvalMetrics])], names: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<12} {:<12} {:>8} {:>10} {:>10}",
        "split", "model", "examples", "loss", "accuracy"
    );
    for (split, metrics) in rows {
        for (i, m) in metrics.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:<12} {:<12} {:>8} {:>10.4} {:>10}",
                split,
                names.get(i).map_or("?", String::as_str),
                m.examples,
                m.loss,
                percent(m.accuracy)
            );
        }
    }
    s
}

/// One evaluation in the report.
#[derive(Serialize)]
pub struct EvalJson {
    model: String,
    examples: usize,
    loss: f64,
    accuracy: Option<f64>,
    per_class_accuracy: Vec<f64>,
    confusion: Vec<Vec<u64>>,
}

impl EvalJson {
    fn new(m: &EvalMetrics, name: &str) -> Self {
        EvalJson {
            model: name.to_string(),
            examples: m.examples,
            loss: m.loss,
            accuracy: m.accuracy,
            per_class_accuracy: m.per_class_accuracy.clone(),
            confusion: m.confusion.clone(),
        }
    }
}

/// One epoch in the report.
#[derive(Serialize)]
struct EpochJson {
    epoch: usize,
    lr: f64,
    train_loss: f64,
    train_data_loss: Vec<f64>,
    train_accuracy: Vec<Option<f64>>,
    penalties: Vec<(String, f64)>,
    /// ‖a − b‖² of each tied pair at the end of the epoch, named `a ~ b`.
    tie_distances: Vec<(String, f64)>,
    validation: Vec<EvalJson>,
    seconds: f64,
    samples_per_second: f64,
    /// With norm clipping: steps, steps clipped, and the largest global gradient norm.
    #[serde(skip_serializing_if = "Option::is_none")]
    clipping: Option<ClipJson>,
}

/// The gradient norms of an epoch's steps before clipping.
#[derive(Serialize)]
struct ClipJson {
    steps: usize,
    clipped_steps: usize,
    largest_norm: f64,
}

fn epoch_json(e: &EpochMetrics, names: &[String]) -> EpochJson {
    EpochJson {
        epoch: e.epoch,
        lr: e.lr,
        train_loss: e.train_loss,
        train_data_loss: e.train_data_loss.clone(),
        train_accuracy: e.train_accuracy.clone(),
        penalties: e.penalties.clone(),
        tie_distances: e.tie_distances.clone(),
        validation: e
            .validation
            .iter()
            .enumerate()
            .map(|(i, v)| EvalJson::new(v, names.get(i).map_or("?", String::as_str)))
            .collect(),
        seconds: e.seconds,
        samples_per_second: e.samples_per_second,
        clipping: e.clipping.map(|c| ClipJson {
            steps: c.steps,
            clipped_steps: c.clipped,
            largest_norm: c.largest_norm,
        }),
    }
}

/// What every report says about the run itself.
#[derive(Serialize)]
struct RunJson {
    file: String,
    command_line: Vec<String>,
    seed: u64,
    threads: usize,
    models: Vec<String>,
    total_seconds: f64,
    checkpoint: String,
    program: String,
}

/// What one training gave: its epochs, test metrics and timings.
#[derive(Serialize)]
struct TrainingJson {
    epochs: Vec<EpochJson>,
    test: Vec<EvalJson>,
    best_epoch: Option<usize>,
    stopped_early: bool,
    train_seconds: f64,
    samples_per_second: f64,
}

impl TrainingJson {
    fn new(r: &Report, names: &[String]) -> Self {
        TrainingJson {
            epochs: r.epochs.iter().map(|e| epoch_json(e, names)).collect(),
            test: r
                .test
                .iter()
                .enumerate()
                .map(|(i, t)| EvalJson::new(t, names.get(i).map_or("?", String::as_str)))
                .collect(),
            best_epoch: r.best_epoch,
            stopped_early: r.stopped_early,
            train_seconds: r.train_seconds,
            samples_per_second: r.samples_per_second,
        }
    }
}

/// The report of a single run.
#[derive(Serialize)]
struct ReportJson {
    #[serde(flatten)]
    run: RunJson,
    #[serde(flatten)]
    training: TrainingJson,
}

/// One member of an ensemble in the report.
#[derive(Serialize)]
struct MemberJson {
    member: usize,
    seed: u64,
    /// Share of distinct training examples in its bootstrap resample.
    distinct_fraction: f64,
    /// Its score on the measured split (accuracy, or MSE for regression).
    score: f64,
    #[serde(flatten)]
    training: TrainingJson,
}

/// The ensemble's measurement in the report.
#[derive(Serialize)]
struct EnsembleJson {
    /// `accuracy` or `MSE`.
    score: String,
    /// `test`, or `validation` without a test split.
    split: &'static str,
    ensemble: f64,
    member_mean: f64,
    member_spread: f64,
}

/// The report of a bagging run.
#[derive(Serialize)]
struct BaggingJson {
    #[serde(flatten)]
    run: RunJson,
    bagging: EnsembleJson,
    members: Vec<MemberJson>,
}

/// What any JSON report is made from, besides the training results.
pub struct RunInput<'a> {
    /// The `.net` file.
    pub file: &'a Path,
    /// The resolved program.
    pub program: &'a str,
    /// The seed used.
    pub seed: u64,
    /// Threads used.
    pub threads: usize,
    /// The model names.
    pub names: &'a [String],
    /// Where the checkpoint went.
    pub checkpoint: &'a Path,
    /// Wall-clock seconds of the whole command.
    pub total_seconds: f64,
}

impl RunInput<'_> {
    fn json(&self) -> RunJson {
        RunJson {
            file: self.file.display().to_string(),
            command_line: std::env::args().collect(),
            seed: self.seed,
            threads: self.threads,
            models: self.names.to_vec(),
            total_seconds: self.total_seconds,
            checkpoint: self.checkpoint.display().to_string(),
            program: self.program.to_string(),
        }
    }
}

/// The JSON report of a run, pretty-printed.
pub fn report_json(run: &RunInput<'_>, report: &Report) -> String {
    let value = ReportJson {
        run: run.json(),
        training: TrainingJson::new(report, run.names),
    };
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Where a run diverged, in its report.
#[derive(Serialize)]
struct DivergedJson {
    /// The epoch (1-based) and optimizer step (0-based, over the run) of the bad loss.
    epoch: usize,
    step: u64,
    /// The loss as text (`NaN`, `inf`: JSON has no such numbers).
    loss: String,
    /// The first parameter or node holding a non-finite value.
    culprit: String,
    /// The error as printed.
    message: String,
}

/// The report of a run that diverged.
#[derive(Serialize)]
struct DivergedReportJson {
    #[serde(flatten)]
    run: RunJson,
    /// The epochs completed before the divergence.
    epochs: Vec<EpochJson>,
    diverged: DivergedJson,
}

/// The JSON report of a run stopped by `error` (a divergence) after the epochs `history`,
/// pretty-printed: the run, those epochs, and `diverged` (epoch, step, loss, culprit).
pub fn diverged_json(
    run: &RunInput<'_>,
    history: &[EpochMetrics],
    error: &knit_train::TrainError,
) -> String {
    let (epoch, step, loss, culprit) = match error {
        knit_train::TrainError::Diverged {
            epoch,
            step,
            loss,
            culprit,
        } => (*epoch, *step, loss.to_string(), culprit.clone()),
        _ => (0, 0, String::new(), String::new()),
    };
    let value = DivergedReportJson {
        run: run.json(),
        epochs: history.iter().map(|e| epoch_json(e, run.names)).collect(),
        diverged: DivergedJson {
            epoch,
            step,
            loss,
            culprit,
            message: error.to_string(),
        },
    };
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The JSON report of a bagging run, pretty-printed: the ensemble's score and each member's
/// seed, resample, score and training (`seeds[k]` is member k's seed).
pub fn bagging_json(
    run: &RunInput<'_>,
    report: &knit_train::BaggingReport,
    seeds: &[u64],
) -> String {
    let members = report
        .reports
        .iter()
        .enumerate()
        .map(|(k, r)| MemberJson {
            member: k,
            seed: seeds.get(k).copied().unwrap_or_default(),
            distinct_fraction: report.distinct_fraction[k],
            score: report.members[k],
            training: TrainingJson::new(r, run.names),
        })
        .collect();
    let value = BaggingJson {
        run: run.json(),
        bagging: EnsembleJson {
            score: report.score.to_string(),
            split: report.split,
            ensemble: report.ensemble,
            member_mean: report.member_mean,
            member_spread: report.member_spread,
        },
        members,
    };
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The table of the pruning procedure: one row per sparsity tried, with the parameters
/// kept, the bytes of a sparse checkpoint and the weighted layers' FLOPs per example.
pub fn prune_table(report: &knit_train::PruneReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\npruning (accuracy floor {:.2} %)",
        report.floor * 100.0
    );
    let _ = writeln!(
        s,
        "  {:>8}  {:>9}  {:>9}  {:>10}  {:>10}  {:>12}  kept",
        "sparsity", "val acc", "test acc", "non-zero", "bytes", "FLOPs/ex"
    );
    let row = |s: &mut String, r: &knit_train::PruneRound, note: &str| {
        let _ = writeln!(
            s,
            "  {:>7.1}%  {:>9}  {:>9}  {:>10}  {:>10}  {:>12}  {note}",
            r.sparsity * 100.0,
            percent(Some(r.validation_accuracy)),
            percent(r.test_accuracy),
            r.nonzero_parameters,
            r.checkpoint_bytes,
            r.flops_per_example
        );
    };
    row(&mut s, &report.dense, "dense");
    for (i, r) in report.rounds.iter().enumerate() {
        let note = if Some(i) == report.kept {
            "<- kept"
        } else if r.met_floor {
            ""
        } else {
            "below the floor"
        };
        row(&mut s, r, note);
    }
    let _ = writeln!(
        s,
        "  (bytes: a sparse checkpoint's parameters and buffers, a pruned parameter as a bit mask \
         and its kept f32 values; FLOPs/ex: 2 per use of a non-zero weight + biases of the dense, \
         convolutional and recurrent layers)"
    );
    s
}

/// The table of a bagging run: every member's and the ensemble's accuracy (or MSE, for
/// regression) on the held-out split, and each member's share of distinct examples.
pub fn bagging_table(report: &knit_train::BaggingReport, epochs: usize) -> String {
    let mut s = String::new();
    let members = report.members.len();
    let _ = writeln!(
        s,
        "\nbagging ({members} members, {epochs} epoch{} each; {} on {} split)",
        if epochs == 1 { "" } else { "s" },
        report.score,
        report.split
    );
    let cell = |v: f64| match report.score {
        knit_train::Score::Accuracy => percent(Some(v)),
        knit_train::Score::Mse => format!("{v:.4}"),
    };
    let _ = writeln!(
        s,
        "  {:<10}  {:>9}  {:>9}",
        "model",
        report.score.to_string(),
        "distinct"
    );
    for (i, (a, d)) in report
        .members
        .iter()
        .zip(&report.distinct_fraction)
        .enumerate()
    {
        let _ = writeln!(
            s,
            "  {:<10}  {:>9}  {:>8.1}%",
            format!("member {i}"),
            cell(*a),
            d * 100.0
        );
    }
    let spread = match report.score {
        knit_train::Score::Accuracy => format!(
            "{:.2} ± {:.2} %",
            report.member_mean * 100.0,
            report.member_spread * 100.0
        ),
        knit_train::Score::Mse => {
            format!("{:.4} ± {:.4}", report.member_mean, report.member_spread)
        }
    };
    let _ = writeln!(
        s,
        "  {:<10}  {:>9}  (members {spread})",
        "ensemble",
        cell(report.ensemble),
    );
    s
}
