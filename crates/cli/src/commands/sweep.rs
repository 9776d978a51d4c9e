//! `knit sweep FILE --grid key=v1,v2,... --seeds 0,1,2 [--jobs N] [--out DIR]`: every
//! combination of the grid's values × every seed, each a `knit train` run with those
//! `--set` and `--seed` overrides, up to `--jobs` at a time; then a table of each
//! combination's mean ± sd over its seeds, best first.
//!
//! Each run is a child `knit train` process writing into its own folder
//! `DIR/runs/<key>/` (checkpoint, `report.json`, `train.log`), where the key is a hash of
//! the resolved program (the file with the overrides applied, every default written). A run
//! whose folder holds a report is done: running the same sweep again, or a larger one,
//! redoes nothing already measured. A run that fails leaves no report and is run again next
//! time; its log says why.

mod grid;
mod results;

use super::common::{self, usage_error};
use super::train::progress_bar;
use grid::{combinations, describe, Axis, Setting};
use knit_dsl::Overrides;
use results::{Measured, RunRecord, Summary};
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;

/// Arguments of `knit sweep`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The `.net` file.
    pub file: PathBuf,
    /// An axis of the grid: a key `--set` accepts (a `let` constant or a train-block line)
    /// and its values, split at top-level commas (`--grid "optimizer=sgd(lr: 0.1),adam(lr:
    /// 1e-3)"`); repeatable, every combination is run.
    #[arg(long = "grid", value_name = "KEY=V1,V2,...")]
    pub grid: Vec<String>,
    /// The seeds each combination runs with.
    #[arg(long, value_name = "S1,S2,...", value_delimiter = ',', required = true)]
    pub seeds: Vec<u64>,
    /// Runs at a time; each gets an equal share of this process's CPUs as threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: u64,
    /// Where the runs and the results go (default: `runs/sweep-<name>` beside the file).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overrides applied to every run, before the grid's (as `knit train --set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Epochs of every run (as `knit train --epochs`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=knit_dsl::MAX_EPOCHS as u64))]
    pub epochs: Option<u64>,
}

/// One run to do or done: a combination, a seed, and its folder.
struct Run {
    combination: usize,
    seed: u64,
    dir: PathBuf,
    overrides: Overrides,
}

impl Run {
    fn report(&self) -> PathBuf {
        self.dir.join("report.json")
    }

    /// What the run's report says, if it has one (a run done before).
    fn measured(&self) -> Option<Measured> {
        let text = std::fs::read_to_string(self.report()).ok()?;
        Measured::from_report(&serde_json::from_str(&text).ok()?)
    }
}

/// Runs `knit sweep`.
pub fn run(args: &Args) -> ExitCode {
    let axes = match args
        .grid
        .iter()
        .map(|g| Axis::parse(g))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(a) => a,
        Err(e) => return usage_error(e),
    };
    let settings = match combinations(&axes) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let mut seen = std::collections::HashSet::new();
    let seeds: Vec<u64> = args
        .seeds
        .iter()
        .copied()
        .filter(|s| seen.insert(*s))
        .collect();
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.file));
    let runs = match plan_runs(args, &settings, &seeds, &out) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let records = execute(args, &runs, &settings);
    let mut rows: Vec<Summary> = settings
        .iter()
        .enumerate()
        .map(|(c, setting)| {
            let mine = runs
                .iter()
                .zip(&records)
                .filter(|(r, _)| r.combination == c);
            Summary::new(setting.clone(), mine.map(|(_, rec)| rec.clone()).collect())
        })
        .collect();
    results::rank(&mut rows);
    let keys: Vec<String> = axes.iter().map(|a| a.key.clone()).collect();
    print!("{}", results::markdown(&keys, &rows));
    let json = serde_json::json!({
        "file": args.file.display().to_string(),
        "seeds": seeds,
        "grid": axes.iter().map(|a| (a.key.clone(), a.values.clone())).collect::<Vec<_>>(),
        "ranked_by": results::ranking(&rows).map(|(column, _)| column),
        "combinations": rows,
    });
    let files = [
        (out.join("results.csv"), results::csv(&keys, &rows)),
        (
            out.join("results.json"),
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        ),
    ];
    for (path, text) in files {
        if let Err(e) = knit_io::write_atomically(&path, text.as_bytes()) {
            return common::failure(format!("cannot write {}: {}", path.display(), e.reason()));
        }
    }
    let failed: Vec<&RunRecord> = records.iter().filter(|r| r.status == "failed").collect();
    eprintln!(
        "results: {} and {}",
        out.join("results.csv").display(),
        out.join("results.json").display()
    );
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    common::failure(format!(
        "{} of {} runs failed (each folder's train.log says why; running the sweep again retries them): {}",
        failed.len(),
        records.len(),
        failed.iter().map(|r| r.dir.as_str()).collect::<Vec<_>>().join(", ")
    ))
}

/// `runs/sweep-<stem>` beside the program (a folder git already ignores).
fn default_out(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or("net".into(), |s| s.to_string_lossy());
    common::base_dir(file)
        .join("runs")
        .join(format!("sweep-{stem}"))
}

/// Every (combination, seed) run with its folder, each combination checked first: one that
/// does not compile stops the sweep before anything runs, naming it.
fn plan_runs(
    args: &Args,
    settings: &[Setting],
    seeds: &[u64],
    out: &Path,
) -> Result<Vec<Run>, ExitCode> {
    let mut runs = Vec::new();
    for (combination, setting) in settings.iter().enumerate() {
        for &seed in seeds {
            let mut set = args.set.clone();
            set.extend(setting.iter().map(|(k, v)| format!("{k}={v}")));
            let overrides = Overrides {
                seed: Some(seed),
                set,
                epochs: args.epochs,
            };
            let (plan, _) = common::compile(&args.file, &overrides).inspect_err(|_| {
                eprintln!("in the sweep's combination {}", describe(setting));
            })?;
            let dir = out
                .join("runs")
                .join(format!("{:016x}", fnv1a(&plan.program)));
            // Two runs of one program would write one folder at the same time.
            if let Some(twin) = runs.iter().find(|r: &&Run| r.dir == dir) {
                return Err(usage_error(format!(
                    "the sweep's combinations {} and {} give the same program; list each value once",
                    describe(&settings[twin.combination]),
                    describe(setting)
                )));
            }
            runs.push(Run {
                combination,
                seed,
                dir,
                overrides,
            });
        }
    }
    Ok(runs)
}

/// The 64-bit FNV-1a hash of `text`: a run's folder name, stable across builds and
/// platforms (unlike `std`'s hasher), so a sweep finds its runs again.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// Runs what is not done yet, `--jobs` at a time, with a progress bar over the runs (a
/// line per run off a terminal); returns every run's record, in `runs`' order.
fn execute(args: &Args, runs: &[Run], settings: &[Setting]) -> Vec<RunRecord> {
    let mut records: Vec<RunRecord> = runs
        .iter()
        .map(|r| {
            let measured = r.measured();
            RunRecord {
                seed: r.seed,
                dir: r.dir.display().to_string(),
                status: if measured.is_some() {
                    "done"
                } else {
                    "not run"
                },
                measured,
            }
        })
        .collect();
    let pending: VecDeque<usize> = (0..runs.len())
        .filter(|&i| records[i].measured.is_none())
        .collect();
    let jobs = (args.jobs as usize).clamp(1, pending.len().max(1));
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (cpus / jobs).max(1);
    eprintln!(
        "sweep: {} combinations × {} seeds = {} runs; {} done before, {} to run, {jobs} at a time with {threads} thread{} each",
        settings.len(),
        runs.len() / settings.len().max(1),
        runs.len(),
        runs.len() - pending.len(),
        pending.len(),
        if threads == 1 { "" } else { "s" },
    );
    if pending.is_empty() {
        return records;
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        progress_bar(
            pending.len(),
            "sweep [{bar:30}] {pos}/{len} runs {msg} ETA {eta}",
        )
    });
    let total = pending.len();
    let queue = Mutex::new(pending);
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some(i) = queue.lock().map_or(None, |mut q| q.pop_front()) {
                    let run = &runs[i];
                    let ok = train(args, run, threads);
                    let measured = if ok { run.measured() } else { None };
                    let what = format!(
                        "{}, seed {}",
                        describe(&settings[run.combination]),
                        run.seed
                    );
                    let line = match &measured {
                        Some(m) => format!("{what}: {}", headline(m)),
                        None => format!(
                            "{what}: failed, see {}",
                            run.dir.join("train.log").display()
                        ),
                    };
                    let Ok(mut done) = finished.lock() else { break };
                    done.push((i, measured));
                    match &bar {
                        Some(bar) => {
                            bar.inc(1);
                            bar.set_message(line);
                        }
                        None => eprintln!("run {}/{total} {line}", done.len()),
                    }
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for (i, measured) in finished.into_inner().unwrap_or_default() {
        records[i].status = if measured.is_some() { "done" } else { "failed" };
        records[i].measured = measured;
    }
    records
}

/// A run's result in a few words.
fn headline(m: &Measured) -> String {
    let mut parts = Vec::new();
    if let Some(a) = m.val_accuracy {
        parts.push(format!("val acc {:.2} %", a * 100.0));
    } else if let Some(l) = m.val_loss {
        parts.push(format!("val loss {l:.4}"));
    }
    if let Some(a) = m.test_accuracy {
        parts.push(format!("test acc {:.2} %", a * 100.0));
    } else if let Some(l) = m.test_loss {
        parts.push(format!("test loss {l:.4}"));
    }
    if m.diverged {
        parts.push("diverged".into());
    }
    parts.push(format!("{:.1} s", m.seconds));
    parts.join(", ")
}

/// Runs one `knit train` into the run's folder, its output into `train.log`; whether it
/// wrote its report (a run that diverges does, and is done).
fn train(args: &Args, run: &Run, threads: usize) -> bool {
    if std::fs::create_dir_all(&run.dir).is_err() {
        return false;
    }
    let Ok(log) = std::fs::File::create(run.dir.join("train.log")) else {
        return false;
    };
    let Ok(exe) = std::env::current_exe() else {
        return false;
    };
    let mut command = Command::new(exe);
    command
        .arg("train")
        .arg(&args.file)
        .arg("--quiet")
        .arg("--out")
        .arg(&run.dir)
        .arg("--report")
        .arg(run.report())
        .args(["--threads", &threads.to_string()])
        .args(["--seed", &run.seed.to_string()])
        .args(["--distributed", "off"]);
    for set in &run.overrides.set {
        command.args(["--set", set]);
    }
    if let Some(epochs) = run.overrides.epochs {
        command.args(["--epochs", &epochs.to_string()]);
    }
    let Ok(err_log) = log.try_clone() else {
        return false;
    };
    command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .status()
        .is_ok()
        && run.report().exists()
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn run_folders_are_named_by_a_stable_hash() {
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a(""), 0xcbf29ce484222325);
        assert_eq!(fnv1a("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a("foobar"), 0x85944171f73967e8);
    }
}
