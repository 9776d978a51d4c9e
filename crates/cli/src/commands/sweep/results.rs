//! What a sweep's runs measured (read back from each run's JSON report) and the result
//! table: per combination the mean ± sample standard deviation over its seeds, best first,
//! as markdown, CSV and JSON.

use super::grid::{describe, Setting};
use serde::Serialize;
use serde_json::Value;

/// What one finished run measured, read from its `knit train --report`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Measured {
    /// The first model's validation loss (MSE for regression) at the epoch whose weights
    /// were kept (the best one when early stopping restored it, else the last).
    pub val_loss: Option<f64>,
    /// Its validation accuracy there (classification).
    pub val_accuracy: Option<f64>,
    /// The test loss of the kept weights (for a bagging run: the ensemble's MSE).
    pub test_loss: Option<f64>,
    /// The test accuracy of the kept weights (for a bagging run: the ensemble's).
    pub test_accuracy: Option<f64>,
    /// Epochs trained (a bagging run: the members' mean).
    pub epochs: f64,
    /// Wall-clock seconds of the whole `knit train`.
    pub seconds: f64,
    /// The run diverged (its metrics are those of the epochs before).
    pub diverged: bool,
}

/// `value` as a number, `None` for null or anything else.
fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

impl Measured {
    /// Reads a report written by `knit train --report` (a single run, a bagging run or a
    /// run that diverged); `None` if it is not one.
    pub fn from_report(report: &Value) -> Option<Measured> {
        let seconds = number(&report["total_seconds"])?;
        if let Some(bagging) = report.get("bagging") {
            let ensemble = number(&bagging["ensemble"]);
            let accuracy = bagging["score"].as_str()? == "accuracy";
            let on_test = bagging["split"].as_str()? == "test";
            let members = report["members"].as_array()?;
            let epochs = members
                .iter()
                .map(|m| m["epochs"].as_array().map_or(0, Vec::len) as f64)
                .sum::<f64>()
                / members.len().max(1) as f64;
            let mut m = Measured {
                epochs,
                seconds,
                ..Measured::default()
            };
            *match (on_test, accuracy) {
                (true, true) => &mut m.test_accuracy,
                (true, false) => &mut m.test_loss,
                (false, true) => &mut m.val_accuracy,
                (false, false) => &mut m.val_loss,
            } = ensemble;
            return Some(m);
        }
        let epochs = report["epochs"].as_array()?;
        let kept = report["best_epoch"]
            .as_u64()
            .and_then(|best| epochs.iter().find(|e| e["epoch"].as_u64() == Some(best)))
            .or(epochs.last());
        let validation = kept.map(|e| &e["validation"][0]);
        let test = &report["test"][0];
        Some(Measured {
            val_loss: validation.and_then(|v| number(&v["loss"])),
            val_accuracy: validation.and_then(|v| number(&v["accuracy"])),
            test_loss: number(&test["loss"]),
            test_accuracy: number(&test["accuracy"]),
            epochs: epochs.len() as f64,
            seconds,
            diverged: report.get("diverged").is_some(),
        })
    }
}

/// The mean and sample standard deviation (n − 1) of some values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    /// `Σx / n`.
    pub mean: f64,
    /// `√(Σ(x − mean)² / (n − 1))`; `None` for a single value.
    pub sd: Option<f64>,
    /// How many values.
    pub n: usize,
}

impl Stat {
    /// The statistics of `values`, `None` if there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let values: Vec<f64> = values.into_iter().collect();
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let squares: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
            (squares / (n - 1) as f64).sqrt()
        });
        Some(Stat { mean, sd, n })
    }
}

/// One run of the sweep and what became of it.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// The seed it ran with.
    pub seed: u64,
    /// Its folder (checkpoint, report, log).
    pub dir: String,
    /// `done` (this time or before), `failed` (see its log), or `not run`.
    pub status: &'static str,
    /// What it measured, when done.
    pub measured: Option<Measured>,
}

/// How a column's value is read from a run's measurements.
type Reader = fn(&Measured) -> Option<f64>;

/// The measured columns, in table order: name, how a value is shown, how it is read.
const COLUMNS: [(&str, Scale, Reader); 6] = [
    ("val loss", Scale::Plain, |m| m.val_loss),
    ("val acc %", Scale::Percent, |m| m.val_accuracy),
    ("test loss", Scale::Plain, |m| m.test_loss),
    ("test acc %", Scale::Percent, |m| m.test_accuracy),
    ("epochs", Scale::Count, |m| Some(m.epochs)),
    ("seconds", Scale::Seconds, |m| Some(m.seconds)),
];

/// How a column's numbers are written.
#[derive(Clone, Copy)]
enum Scale {
    Plain,
    Percent,
    Count,
    Seconds,
}

impl Scale {
    fn show(self, stat: &Stat) -> String {
        let (factor, digits) = match self {
            Scale::Plain => (1.0, 4),
            Scale::Percent => (100.0, 2),
            Scale::Count => (1.0, 1),
            Scale::Seconds => (1.0, 2),
        };
        match stat.sd {
            Some(sd) => format!("{:.digits$} ± {:.digits$}", stat.mean * factor, sd * factor),
            None => format!("{:.digits$}", stat.mean * factor),
        }
    }
}

/// One combination's line of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The combination.
    pub setting: Setting,
    /// Its runs, one per seed.
    pub runs: Vec<RunRecord>,
    /// Per measured column (by its table name), the statistics over the runs done.
    pub stats: Vec<(&'static str, Option<Stat>)>,
}

impl Summary {
    /// The statistics of a combination's runs.
    pub fn new(setting: Setting, runs: Vec<RunRecord>) -> Summary {
        let stats = COLUMNS
            .iter()
            .map(|(name, _, read)| {
                let values = runs
                    .iter()
                    .filter_map(|r| r.measured.as_ref())
                    .filter_map(read);
                (*name, Stat::of(values))
            })
            .collect();
        Summary {
            setting,
            runs,
            stats,
        }
    }

    fn stat(&self, column: &str) -> Option<Stat> {
        self.stats
            .iter()
            .find(|(n, _)| *n == column)
            .and_then(|(_, s)| *s)
    }

    fn done(&self) -> usize {
        self.runs.iter().filter(|r| r.measured.is_some()).count()
    }

    fn diverged(&self) -> usize {
        let diverged = |r: &&RunRecord| r.measured.as_ref().is_some_and(|m| m.diverged);
        self.runs.iter().filter(diverged).count()
    }
}

/// The column the table is ranked by, and whether higher is better: validation accuracy,
/// else validation loss, else the test ones, whichever the runs measured first.
pub fn ranking(rows: &[Summary]) -> Option<(&'static str, bool)> {
    [
        ("val acc %", true),
        ("val loss", false),
        ("test acc %", true),
        ("test loss", false),
    ]
    .into_iter()
    .find(|(column, _)| rows.iter().any(|r| r.stat(column).is_some()))
}

/// Sorts `rows` best first by [`ranking`]'s column (combinations that measured nothing
/// last, ties in grid order).
pub fn rank(rows: &mut [Summary]) {
    let Some((column, higher)) = ranking(rows) else {
        return;
    };
    let key = |r: &Summary| {
        r.stat(column)
            .map(|s| if higher { -s.mean } else { s.mean })
            .unwrap_or(f64::INFINITY)
    };
    rows.sort_by(|a, b| key(a).total_cmp(&key(b)));
}

/// The columns at least one combination measured.
fn present(rows: &[Summary]) -> Vec<(&'static str, Scale)> {
    COLUMNS
        .iter()
        .filter(|(name, _, _)| rows.iter().any(|r| r.stat(name).is_some()))
        .map(|(name, scale, _)| (*name, *scale))
        .collect()
}

/// `done/seeds`, with the diverged ones counted.
fn runs_cell(row: &Summary) -> String {
    let mut cell = format!("{}/{}", row.done(), row.runs.len());
    match row.diverged() {
        0 => {}
        d => cell += &format!(" ({d} diverged)"),
    }
    cell
}

/// The markdown table: a column per grid key, the runs done, then mean ± sd of every
/// measured column.
pub fn markdown(keys: &[String], rows: &[Summary]) -> String {
    let columns = present(rows);
    let mut header: Vec<String> = keys.to_vec();
    if keys.is_empty() {
        header.push("setting".into());
    }
    header.push("runs".into());
    header.extend(columns.iter().map(|(n, _)| n.to_string()));
    let mut out = format!("| {} |\n", header.join(" | "));
    out += &format!("|{}\n", "---|".repeat(header.len()));
    for row in rows {
        let mut cells: Vec<String> = row.setting.iter().map(|(_, v)| format!("`{v}`")).collect();
        if keys.is_empty() {
            cells.push(describe(&row.setting));
        }
        cells.push(runs_cell(row));
        for (name, scale) in &columns {
            cells.push(row.stat(name).map_or("—".into(), |s| scale.show(&s)));
        }
        out += &format!("| {} |\n", cells.join(" | "));
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The CSV: a row per combination, the grid keys, `runs`, `diverged`, then `<column>_mean`
/// and `<column>_sd` for every measured column (raw values: accuracies as fractions).
pub fn csv(keys: &[String], rows: &[Summary]) -> String {
    let columns = present(rows);
    let snake = |name: &str| {
        name.replace(" %", "")
            .replace(' ', "_")
            .replace("acc", "accuracy")
    };
    let mut header: Vec<String> = keys.iter().map(|k| csv_field(k)).collect();
    header.extend(["runs".into(), "runs_done".into(), "diverged".into()]);
    for (name, _) in &columns {
        header.push(format!("{}_mean", snake(name)));
        header.push(format!("{}_sd", snake(name)));
    }
    let mut out = header.join(",") + "\n";
    for row in rows {
        let mut cells: Vec<String> = row.setting.iter().map(|(_, v)| csv_field(v)).collect();
        cells.push(row.runs.len().to_string());
        cells.push(row.done().to_string());
        cells.push(row.diverged().to_string());
        for (name, _) in &columns {
            let stat = row.stat(name);
            cells.push(stat.map_or(String::new(), |s| s.mean.to_string()));
            cells.push(
                stat.and_then(|s| s.sd)
                    .map_or(String::new(), |sd| sd.to_string()),
            );
        }
        out += &(cells.join(",") + "\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stat_is_the_mean_and_the_sample_standard_deviation() {
        let s = Stat::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        // Σ(x − 5)² = 32 over n − 1 = 7.
        assert!((s.sd.unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-15);
        assert_eq!(Stat::of([3.0]).unwrap().sd, None);
        assert_eq!(Stat::of([]), None);
    }

    #[test]
    fn a_report_gives_the_kept_epochs_validation_and_the_test_metrics() {
        let report = json!({
            "total_seconds": 2.5,
            "epochs": [
                {"epoch": 1, "validation": [{"loss": 0.9, "accuracy": 0.7}]},
                {"epoch": 2, "validation": [{"loss": 0.5, "accuracy": 0.8}]},
                {"epoch": 3, "validation": [{"loss": 0.6, "accuracy": 0.75}]},
            ],
            "test": [{"loss": 0.55, "accuracy": 0.79}],
            "best_epoch": 2,
        });
        let m = Measured::from_report(&report).unwrap();
        assert_eq!(m.val_loss, Some(0.5));
        assert_eq!(m.val_accuracy, Some(0.8));
        assert_eq!((m.test_loss, m.test_accuracy), (Some(0.55), Some(0.79)));
        assert_eq!((m.epochs, m.seconds, m.diverged), (3.0, 2.5, false));
        let mut last = report.clone();
        last["best_epoch"] = Value::Null;
        assert_eq!(Measured::from_report(&last).unwrap().val_loss, Some(0.6));
        let bagging = json!({
            "total_seconds": 1.0,
            "bagging": {"score": "MSE", "split": "test", "ensemble": 0.25},
            "members": [{"epochs": [{}, {}]}, {"epochs": [{}, {}, {}, {}]}],
        });
        let m = Measured::from_report(&bagging).unwrap();
        assert_eq!(
            (m.test_loss, m.test_accuracy, m.epochs),
            (Some(0.25), None, 3.0)
        );
        assert_eq!(Measured::from_report(&json!({"file": "x"})), None);
    }

    fn run(seed: u64, val_accuracy: f64) -> RunRecord {
        RunRecord {
            seed,
            dir: String::new(),
            status: "done",
            measured: Some(Measured {
                val_accuracy: Some(val_accuracy),
                epochs: 4.0,
                seconds: 1.0,
                ..Measured::default()
            }),
        }
    }

    #[test]
    fn the_table_puts_the_best_combination_first_with_mean_and_sd() {
        let setting = |v: &str| vec![("hidden".to_string(), v.to_string())];
        let mut rows = vec![
            Summary::new(setting("64"), vec![run(0, 0.90), run(1, 0.92)]),
            Summary::new(setting("128, x"), vec![run(0, 0.95), run(1, 0.97)]),
        ];
        rank(&mut rows);
        let keys = ["hidden".to_string()];
        assert_eq!(
            markdown(&keys, &rows),
            "| hidden | runs | val acc % | epochs | seconds |\n\
             |---|---|---|---|---|\n\
             | `128, x` | 2/2 | 96.00 ± 1.41 | 4.0 ± 0.0 | 1.00 ± 0.00 |\n\
             | `64` | 2/2 | 91.00 ± 1.41 | 4.0 ± 0.0 | 1.00 ± 0.00 |\n"
        );
        let csv = csv(&keys, &rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "hidden,runs,runs_done,diverged,val_accuracy_mean,val_accuracy_sd,epochs_mean,epochs_sd,seconds_mean,seconds_sd"
        );
        assert!(
            lines[1].starts_with("\"128, x\",2,2,0,0.96,"),
            "{}",
            lines[1]
        );
    }
}
