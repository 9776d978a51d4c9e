//! The study's markdown tables, from measured numbers. Accuracies are printed in percent,
//! every figure over seeds as `mean ± spread` (sample standard deviation).

use crate::ensemble::Bagged;
use crate::experiments::{Extra, Row};
use crate::measure::Run;
use crate::robustness::Robustness;
use crate::stats::Spread;
use knit_train::{Attack, PruneReport, PruneRound};

/// Where the documents link the experiment files from (`docs/` to `dsl-examples/techniques`).
pub const FILES_FROM_DOCS: &str = "../dsl-examples/techniques";

/// A row of the main table with its runs, one per seed.
#[derive(Clone, Debug, PartialEq)]
pub struct RowResult {
    /// The row.
    pub row: Row,
    /// Its runs, one per seed.
    pub runs: Vec<Run>,
}

impl RowResult {
    /// The spread over seeds of one measurement.
    pub fn spread(&self, measure: impl Fn(&Run) -> f64) -> Spread {
        Spread::of(&self.runs.iter().map(measure).collect::<Vec<_>>())
    }
}

/// A markdown table: the header, the separator and one line per row.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out += &format!("|{}\n", "---|".repeat(header.len()));
    for row in rows {
        out += &line(row);
    }
    out
}

/// A fraction in percent with two decimals.
fn percent(fraction: f64) -> String {
    format!("{:.2}", fraction * 100.0)
}

/// Fractions over seeds in percent: `mean ± spread`.
fn percent_spread(fractions: &[f64]) -> String {
    Spread::of(&fractions.iter().map(|f| f * 100.0).collect::<Vec<_>>()).show(2)
}

/// An integer with thousands separators, as `knit check` prints counts: 12,345.
pub fn thousands(n: usize) -> String {
    knit_dsl::thousands(n as u64)
}

/// A link to an experiment file from `docs/`.
pub fn file_link(file: &str) -> String {
    format!("[{file}]({FILES_FROM_DOCS}/{file})")
}

/// The extra measurement of a row, over seeds.
fn extra(result: &RowResult) -> String {
    match result.row.extra {
        Extra::None => String::new(),
        Extra::NearZero => format!(
            "{} % of weights near 0",
            result.spread(|r| r.near_zero * 100.0).show(1)
        ),
        Extra::TieDistance => match result.runs.iter().all(|r| r.tie_distance.is_some()) {
            true => format!(
                "distance {}",
                result.spread(|r| r.tie_distance.unwrap_or(0.0)).show(2)
            ),
            false => "no tie".into(),
        },
        Extra::Params => format!(
            "{} parameters",
            thousands(result.runs.first().map_or(0, |r| r.params))
        ),
    }
}

/// The main table: per row, train and test accuracy, the gap (points), the epoch of the best
/// validation loss, the epochs trained, and the row's extra measurement.
pub fn main_table(results: &[RowResult]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.row.label.to_string(),
                file_link(&r.row.file()),
                r.spread(|run| run.train_accuracy * 100.0).show(2),
                r.spread(|run| run.test_accuracy * 100.0).show(2),
                r.spread(|run| (run.train_accuracy - run.test_accuracy) * 100.0)
                    .show(2),
                r.spread(|run| run.best_validation_epoch as f64).show(1),
                r.spread(|run| run.epochs as f64).show(1),
                extra(r),
            ]
        })
        .collect();
    markdown(
        &[
            "technique",
            "file",
            "train acc. (%)",
            "test acc. (%)",
            "gap (points)",
            "best val. loss epoch",
            "epochs run",
            "extra",
        ],
        &rows,
    )
}

/// One pruning round as table cells.
fn round_cells(name: String, round: &PruneRound) -> Vec<String> {
    vec![
        name,
        format!("{:.1}", round.sparsity * 100.0),
        percent(round.validation_accuracy),
        round.test_accuracy.map_or("–".into(), percent),
        thousands(round.nonzero_parameters),
        if round.met_floor { "yes" } else { "no" }.into(),
    ]
}

/// Every round of one pruning run, the dense model first; the kept round is marked.
pub fn pruning_rounds(report: &PruneReport) -> String {
    let mut rows = vec![round_cells("dense".into(), &report.dense)];
    for (i, round) in report.rounds.iter().enumerate() {
        let name = match report.kept == Some(i) {
            true => format!("{} (kept)", i + 1),
            false => (i + 1).to_string(),
        };
        rows.push(round_cells(name, round));
    }
    markdown(
        &[
            "round",
            "sparsity (%)",
            "validation acc. (%)",
            "test acc. (%)",
            "non-zero parameters",
            "within the floor",
        ],
        &rows,
    )
}

/// The kept model of each seed's pruning run against its dense model.
pub fn pruning_seeds(seeds: &[u64], reports: &[PruneReport]) -> String {
    let rows = seeds
        .iter()
        .zip(reports)
        .map(|(seed, r)| {
            let dense = r.dense.test_accuracy.unwrap_or(0.0);
            let kept = r.kept.map(|k| &r.rounds[k]).unwrap_or(&r.dense);
            let test = kept.test_accuracy.unwrap_or(0.0);
            vec![
                seed.to_string(),
                percent(dense),
                format!("{:.1}", kept.sparsity * 100.0),
                thousands(kept.nonzero_parameters),
                percent(test),
                format!("{:+.2}", (test - dense) * 100.0),
            ]
        })
        .collect::<Vec<_>>();
    markdown(
        &[
            "seed",
            "dense test acc. (%)",
            "kept sparsity (%)",
            "non-zero parameters",
            "kept test acc. (%)",
            "change (points)",
        ],
        &rows,
    )
}

/// Clean and attacked test accuracy of the plain and the adversarially trained models.
pub fn robustness_table(
    models: &[(&str, &str, &[Robustness])],
    attacks: &[Attack],
    range: Option<(f64, f64)>,
) -> String {
    let clip = range.map_or(String::new(), |(lo, hi)| format!(", range [{lo}, {hi}]"));
    let attack_names: Vec<String> = attacks.iter().map(|a| format!("`{a}`{clip}")).collect();
    let mut header = vec!["model", "file", "clean (%)"];
    header.extend(attack_names.iter().map(String::as_str));
    header.push("training (s)");
    let rows = models
        .iter()
        .map(|(file, label, runs)| {
            let mut cells = vec![
                label.to_string(),
                file_link(file),
                percent_spread(&runs.iter().map(|r| r.clean).collect::<Vec<_>>()),
            ];
            for k in 0..attacks.len() {
                let scores: Vec<f64> = runs.iter().map(|r| r.attacked[k]).collect();
                cells.push(percent_spread(&scores));
            }
            let seconds: Vec<f64> = runs.iter().map(|r| r.train_seconds).collect();
            cells.push(Spread::of(&seconds).show(1));
            cells
        })
        .collect::<Vec<_>>();
    markdown(&header, &rows)
}

/// Each seed's members, best member, ensemble and single model.
pub fn bagging_seeds(seeds: &[u64], runs: &[Bagged]) -> String {
    let rows = seeds
        .iter()
        .zip(runs)
        .map(|(seed, b)| {
            let members: Vec<String> = b.members.iter().map(|&a| percent(a)).collect();
            vec![
                seed.to_string(),
                members.join(", "),
                percent(b.best_member()),
                percent(b.ensemble),
                percent(b.single),
            ]
        })
        .collect::<Vec<_>>();
    markdown(
        &[
            "seed",
            "members' test acc. (%)",
            "best member (%)",
            "ensemble (%)",
            "single model (%)",
        ],
        &rows,
    )
}

/// The bagging figures over seeds: single model, members, best member, ensemble.
pub fn bagging_summary(runs: &[Bagged]) -> String {
    let over = |f: &dyn Fn(&Bagged) -> f64| percent_spread(&runs.iter().map(f).collect::<Vec<_>>());
    let rows = vec![
        vec!["single model".to_string(), over(&|b| b.single)],
        vec![
            "member (mean of the members)".to_string(),
            over(&|b| b.members.iter().sum::<f64>() / b.members.len().max(1) as f64),
        ],
        vec!["best member".to_string(), over(&Bagged::best_member)],
        vec!["ensemble".to_string(), over(&|b| b.ensemble)],
    ];
    markdown(&["test accuracy (%)", "mean ± spread over seeds"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::ROWS;

    fn run(train: f64, test: f64, best: usize, near_zero: f64) -> Run {
        Run {
            train_accuracy: train,
            test_accuracy: test,
            best_validation_epoch: best,
            epochs: 100,
            near_zero,
            tie_distance: None,
            params: 134_410,
            split_sizes: [300, 300, 360],
            seconds: 1.0,
        }
    }

    #[test]
    fn the_main_table_has_a_row_of_mean_and_spread_per_technique() {
        let results = vec![
            RowResult {
                row: ROWS[0],
                runs: vec![run(1.0, 0.95, 10, 0.01), run(1.0, 0.93, 14, 0.03)],
            },
            RowResult {
                row: ROWS[10],
                runs: vec![run(0.99, 0.9, 20, 0.0)],
            },
        ];
        let expected = "\
| technique | file | train acc. (%) | test acc. (%) | gap (points) | best val. loss epoch | epochs run | extra |
|---|---|---|---|---|---|---|---|
| no regularization | [none.net](../dsl-examples/techniques/none.net) | 100.00 ± 0.00 | 94.00 ± 1.41 | 6.00 ± 1.41 | 12.0 ± 2.8 | 100.0 ± 0.0 | 2.0 ± 1.4 % of weights near 0 |
| 3 hidden layers, own weights | [sharing_unshared.net](../dsl-examples/techniques/sharing_unshared.net) | 99.00 ± 0.00 | 90.00 ± 0.00 | 9.00 ± 0.00 | 20.0 ± 0.0 | 100.0 ± 0.0 | 134,410 parameters |
";
        assert_eq!(main_table(&results), expected);
    }

    #[test]
    fn bagging_tables_show_members_and_the_ensemble() {
        let runs = [
            Bagged {
                members: vec![0.9, 0.92],
                ensemble: 0.94,
                single: 0.93,
            },
            Bagged {
                members: vec![0.88, 0.9],
                ensemble: 0.96,
                single: 0.91,
            },
        ];
        assert_eq!(
            bagging_seeds(&[0, 1], &runs),
            "\
| seed | members' test acc. (%) | best member (%) | ensemble (%) | single model (%) |
|---|---|---|---|---|
| 0 | 90.00, 92.00 | 92.00 | 94.00 | 93.00 |
| 1 | 88.00, 90.00 | 90.00 | 96.00 | 91.00 |
"
        );
        assert!(bagging_summary(&runs).contains("| ensemble | 95.00 ± 1.41 |\n"));
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
