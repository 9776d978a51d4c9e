//! `knit sweep`: every combination × seed is the `knit train` run with those overrides,
//! the table's statistics are those of the runs' reports, a second sweep redoes nothing
//! finished, and a combination that does not compile stops the sweep before any run.

mod common;

use common::compose::{fails, ok};
use common::{example, knit};
use serde_json::Value;
use std::path::Path;

const GRID: [&str; 9] = [
    "--grid",
    "hidden=16,32",
    "--seeds",
    "0,1",
    "--epochs",
    "2",
    "--jobs",
    "2",
    "--out",
];

fn sweep(dir: &Path, file: &str) -> std::process::Output {
    let mut args = vec!["sweep", file];
    args.extend(GRID);
    args.push("s");
    knit(dir, &args)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_sweep_runs_every_combination_and_seed_and_tabulates_their_reports() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("digits.net");
    let out = sweep(dir.path(), &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with(
            "sweep: 2 combinations × 2 seeds = 4 runs; 0 done before, 4 to run, 2 at a time"
        ),
        "{stderr}"
    );
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "| hidden | runs | val loss | val acc % | test loss | test acc % | epochs | seconds |"
    );
    assert_eq!(lines.len(), 4, "{table}");

    // Each run is `knit train` with its overrides: the same numbers, bit for bit.
    let results = json(&dir.path().join("s/results.json"));
    let combinations = results["combinations"].as_array().unwrap();
    assert_eq!(combinations.len(), 2);
    ok(
        dir.path(),
        &[
            "train",
            &file,
            "--quiet",
            "--seed",
            "1",
            "--set",
            "hidden=32",
            "--epochs",
            "2",
            "--out",
            "direct",
            "--report",
            "direct.json",
        ],
    );
    let direct = json(&dir.path().join("direct.json"));
    let hidden32 = combinations
        .iter()
        .find(|c| c["setting"][0][1] == "32")
        .unwrap();
    let run = hidden32["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["seed"] == 1)
        .unwrap();
    assert_eq!(run["status"], "done");
    let report = json(
        &dir.path()
            .join(run["dir"].as_str().unwrap())
            .join("report.json"),
    );
    assert_eq!(report["test"][0]["loss"], direct["test"][0]["loss"]);
    assert_eq!(run["measured"]["test_loss"], direct["test"][0]["loss"]);

    // The table's statistics: mean and sample sd over the seeds' reports.
    for c in combinations {
        let accuracies: Vec<f64> = c["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["measured"]["test_accuracy"].as_f64().unwrap())
            .collect();
        let mean = (accuracies[0] + accuracies[1]) / 2.0;
        let sd = (accuracies[0] - accuracies[1]).abs() / 2f64.sqrt();
        let stat = c["stats"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s[0] == "test acc %")
            .unwrap();
        assert!((stat[1]["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
        assert!((stat[1]["sd"].as_f64().unwrap() - sd).abs() < 1e-12);
        let cell = format!("{:.2} ± {:.2}", mean * 100.0, sd * 100.0);
        let hidden = c["setting"][0][1].as_str().unwrap();
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("| `{hidden}` |")))
            .unwrap();
        assert!(
            row.contains("| 2/2 |") && row.contains(&cell),
            "{row} vs {cell}"
        );
    }
    // Best first, by validation accuracy.
    assert_eq!(results["ranked_by"], "val acc %");
    let first = combinations[0]["stats"][1][1]["mean"].as_f64().unwrap();
    let second = combinations[1]["stats"][1][1]["mean"].as_f64().unwrap();
    assert!(first >= second);
    let csv = std::fs::read_to_string(dir.path().join("s/results.csv")).unwrap();
    assert!(csv.starts_with(
        "hidden,runs,runs_done,diverged,val_loss_mean,val_loss_sd,val_accuracy_mean,"
    ));
    assert_eq!(csv.lines().count(), 3);

    // Again: nothing is redone, and the results are the same.
    let again = sweep(dir.path(), &file);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("4 runs; 4 done before, 0 to run"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout), table);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s/results.csv")).unwrap(),
        csv
    );
    // A run without its report (killed, say) is the only one run again.
    std::fs::remove_file(
        dir.path()
            .join(run["dir"].as_str().unwrap())
            .join("report.json"),
    )
    .unwrap();
    let resumed = sweep(dir.path(), &file);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("4 runs; 3 done before, 1 to run"),
        "{stderr}"
    );
    assert!(stderr.contains("hidden=32, seed 1: val acc"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&resumed.stdout).lines().count(), 4);
}

#[test]
fn a_combination_that_does_not_compile_stops_the_sweep_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = example("digits.net");
    let stderr = fails(
        dir.path(),
        1,
        &[
            "sweep",
            &file,
            "--grid",
            "hidden=16,-3",
            "--seeds",
            "0",
            "--out",
            "s",
        ],
    );
    assert!(
        stderr.contains("in the sweep's combination hidden=-3"),
        "{stderr}"
    );
    assert!(!dir.path().join("s").exists());
    let stderr = fails(
        dir.path(),
        2,
        &[
            "sweep", &file, "--grid", "hidden", "--seeds", "0", "--out", "s",
        ],
    );
    assert!(
        stderr.contains("--grid hidden: expected KEY=V1,V2,... (e.g. --grid hidden=64,128)"),
        "{stderr}"
    );
    let stderr = fails(
        dir.path(),
        2,
        &[
            "sweep",
            &file,
            "--grid",
            "hidden=16,16",
            "--seeds",
            "0",
            "--out",
            "s",
        ],
    );
    assert!(
        stderr.contains(
            "the sweep's combinations hidden=16 and hidden=16 give the same program; list each value once"
        ),
        "{stderr}"
    );
    assert!(!dir.path().join("s").exists());
    // A seed given twice is run once.
    let out = knit(
        dir.path(),
        &[
            "sweep", &file, "--seeds", "3,3", "--epochs", "1", "--out", "once",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("1 combinations × 1 seeds = 1 runs"),
        "{stderr}"
    );
}
