//! The sentences under the tables: what the measured numbers show, read off the numbers
//! themselves so that they stay true when the study is rerun. A difference counts as an
//! effect only when it exceeds the seed-to-seed spread ([`Spread::clearly_differs`]).

use crate::ensemble::Bagged;
use crate::experiments::Extra;
use crate::robustness::Robustness;
use crate::stats::Spread;
use crate::table::{thousands, RowResult};
use knit_train::{Attack, PruneReport};

/// How `a` compares with `b`, in points, judged against their spreads.
fn compare(a: &Spread, b: &Spread, higher: &str, lower: &str) -> String {
    let delta = a.mean - b.mean;
    if a.clearly_differs(b) {
        format!(
            "{} ({delta:+.2} points)",
            if delta > 0.0 { higher } else { lower }
        )
    } else if a.count < 2 || b.count < 2 {
        format!("{delta:+.2} points (one seed: no spread to judge it by)")
    } else {
        format!("no clear difference ({delta:+.2} points, within the seed-to-seed spread)")
    }
}

/// One sentence per row that has a baseline: test accuracy and gap against the baseline's,
/// and the row's extra measurement against the baseline's.
pub fn main_findings(results: &[RowResult]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| {
            let base = results.iter().find(|b| Some(b.row.name) == r.row.baseline)?;
            let test = |x: &RowResult| x.spread(|run| run.test_accuracy * 100.0);
            let gap = |x: &RowResult| {
                x.spread(|run| (run.train_accuracy - run.test_accuracy) * 100.0)
            };
            let mut sentence = format!(
                "**{}** against {}: test accuracy {:.2} % vs {:.2} %, {}; train–test gap {:.2} vs {:.2} points, {}",
                r.row.label,
                base.row.label,
                test(r).mean,
                test(base).mean,
                compare(&test(r), &test(base), "higher", "lower"),
                gap(r).mean,
                gap(base).mean,
                compare(&gap(r), &gap(base), "wider", "narrower"),
            );
            let epochs = |x: &RowResult| x.spread(|run| run.epochs as f64).mean;
            if epochs(r) != epochs(base) {
                sentence += &format!(
                    "; it trained {:.1} epochs instead of {:.1}",
                    epochs(r),
                    epochs(base)
                );
            }
            match r.row.extra {
                Extra::NearZero => {
                    let share = |x: &RowResult| x.spread(|run| run.near_zero * 100.0).mean;
                    sentence += &format!(
                        "; {:.1} % of its weights are within 1e-3 of zero, against {:.1} %",
                        share(r),
                        share(base)
                    );
                }
                Extra::TieDistance => {
                    let distance =
                        |x: &RowResult| x.spread(|run| run.tie_distance.unwrap_or(f64::NAN)).mean;
                    sentence += &format!(
                        "; the summed squared distance between the paired weights is {:.2} against {:.2}",
                        distance(r),
                        distance(base)
                    );
                }
                Extra::Params => {
                    let params = |x: &RowResult| x.runs.first().map_or(0, |run| run.params);
                    sentence += &format!(
                        "; with {} parameters instead of {}",
                        thousands(params(r)),
                        thousands(params(base))
                    );
                }
                Extra::None => {}
            }
            Some(sentence + ".")
        })
        .collect()
}

/// What sharing across space saves: the convolutions' parameters against the same layers
/// with a kernel and bias of their own at every output position.
pub fn space_finding(space: &crate::space::SpaceSharing) -> String {
    format!(
        "Sharing across space: the CNN's convolutions hold {} of its {} parameters ({:.1} %), \
         because each kernel is reused at every position of the image; the same layers with a \
         kernel and a bias of their own at every output position (locally connected) would \
         need {} parameters, {:.0} times as many.",
        thousands(space.shared),
        thousands(space.total),
        space.shared as f64 / space.total.max(1) as f64 * 100.0,
        thousands(space.unshared),
        space.unshared as f64 / space.shared.max(1) as f64,
    )
}

/// The kept model of every seed against its dense model, and whether it meets the issue's
/// acceptance bar (at least 90 % of the weights pruned, test accuracy within 1 point).
pub fn pruning_finding(reports: &[PruneReport]) -> String {
    let kept: Vec<(f64, f64)> = reports
        .iter()
        .map(|r| {
            let kept = r.kept.map(|k| &r.rounds[k]).unwrap_or(&r.dense);
            let change =
                (kept.test_accuracy.unwrap_or(0.0) - r.dense.test_accuracy.unwrap_or(0.0)) * 100.0;
            (kept.sparsity * 100.0, change)
        })
        .collect();
    let sparsity = Spread::of(&kept.iter().map(|k| k.0).collect::<Vec<_>>());
    let change = Spread::of(&kept.iter().map(|k| k.1).collect::<Vec<_>>());
    let met = kept
        .iter()
        .filter(|(s, c)| *s >= 90.0 && *c >= -1.0)
        .count();
    format!(
        "The kept (sparsest within the floor) models have {} % of the pruned weights at zero and \
         a test accuracy {} points from their dense models'. {met} of {} seeds reach at least \
         90 % sparsity with the test accuracy within 1 point of the dense model.",
        sparsity.show(1),
        change.show(2),
        reports.len()
    )
}

/// The adversarially trained model against the plain one: the margin under each attack and
/// the clean accuracy it costs.
pub fn robustness_finding(
    plain: &[Robustness],
    trained: &[Robustness],
    attacks: &[Attack],
) -> String {
    let over = |runs: &[Robustness], f: &dyn Fn(&Robustness) -> f64| {
        Spread::of(&runs.iter().map(|r| f(r) * 100.0).collect::<Vec<_>>())
    };
    let margins: Vec<String> = attacks
        .iter()
        .enumerate()
        .map(|(k, attack)| {
            let (t, p) = (
                over(trained, &|r| r.attacked[k]),
                over(plain, &|r| r.attacked[k]),
            );
            format!(
                "under `{attack}` {:.2} % vs {:.2} %, {}",
                t.mean,
                p.mean,
                compare(&t, &p, "better", "worse")
            )
        })
        .collect();
    let (t, p) = (over(trained, &|r| r.clean), over(plain, &|r| r.clean));
    let time = |runs: &[Robustness]| {
        Spread::of(&runs.iter().map(|r| r.train_seconds).collect::<Vec<_>>()).mean
    };
    format!(
        "Against the plain model, the adversarially trained one scores {}. On clean examples it \
         scores {:.2} % vs {:.2} %, {}, and its training took {:.1} s instead of {:.1} s.",
        margins.join("; "),
        t.mean,
        p.mean,
        compare(&t, &p, "higher", "lower"),
        time(trained),
        time(plain),
    )
}

/// The ensemble against its best member and against a single model, and the spread across
/// seeds of each.
pub fn bagging_finding(runs: &[Bagged]) -> String {
    let over = |f: &dyn Fn(&Bagged) -> f64| {
        Spread::of(&runs.iter().map(|b| f(b) * 100.0).collect::<Vec<_>>())
    };
    let ensemble = over(&|b| b.ensemble);
    let best = over(&Bagged::best_member);
    let single = over(&|b| b.single);
    let wins = runs
        .iter()
        .filter(|b| b.ensemble >= b.best_member())
        .count();
    format!(
        "The ensemble scores {:.2} % on average against {:.2} % for its best member (at least as \
         good in {wins} of {} seeds) and {:.2} % for a single model trained on all the examples \
         ({}). Across seeds its accuracy spreads by {:.2} points, a single model's by {:.2}.",
        ensemble.mean,
        best.mean,
        runs.len(),
        single.mean,
        compare(&ensemble, &single, "higher", "lower"),
        ensemble.spread,
        single.spread,
    )
}
