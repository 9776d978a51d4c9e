//! Bagging on hand-built plans: members on bootstrap resamples, combined by vote, average
//! or (regression) the mean; ensembles stored in one checkpoint and read back.

mod common;

use knit_data::{bootstrap, Header, LabelColumn, Source};
use knit_init::{initialize, HeNormal, Zeros};
use knit_tensor::Graph;
use knit_train::{
    train_bagging, BaggingReport, Checkpoint, Combine, Ensemble, ModelNodes, Plan, Score, Task,
    TrainOptions,
};
use std::path::Path;

/// Three members on full-size resamples, combined by averaging.
fn three_averaged(plan: &Plan, data: &knit_data::Splits) -> (Ensemble, BaggingReport) {
    train_bagging(
        plan,
        data,
        3,
        1.0,
        Combine::Average,
        TrainOptions::default(),
    )
    .unwrap()
}

#[test]
fn the_ensemble_is_at_least_as_good_as_its_average_member() {
    let mut plan = common::plan(3);
    plan.epochs = 3;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    for combine in [Combine::Vote, Combine::Average] {
        let (mut ensemble, report) =
            train_bagging(&plan, &data, 5, 1.0, combine, TrainOptions::default()).unwrap();
        assert_eq!(ensemble.members.len(), 5);
        assert_eq!(report.members.len(), 5);
        assert_eq!((report.score, report.split), (Score::Accuracy, "test"));
        for d in &report.distinct_fraction {
            // 360 draws with replacement from 360: 1 − 1/e ≈ 0.632 distinct, sd ≈ 0.015.
            assert!((d - 0.632).abs() < 0.08, "distinct fraction {d}");
        }
        assert!(
            report.ensemble + 1e-9 >= report.member_mean - 0.01,
            "{report:?}"
        );
        let test = data.test.as_ref().unwrap();
        assert_eq!(ensemble.score(test).unwrap(), report.ensemble);
        // Each member's score is its own evaluation's accuracy.
        for (member, score) in ensemble.members.iter_mut().zip(&report.members) {
            assert_eq!(member.evaluate(test).unwrap()[0].accuracy, Some(*score));
        }
        // Members differ: bootstrap resamples and batch orders are their own.
        let a = ensemble.members[0]
            .executor()
            .param("h1.weight")
            .unwrap()
            .to_owned();
        let b = ensemble.members[1]
            .executor()
            .param("h1.weight")
            .unwrap()
            .to_owned();
        assert_ne!(a, b);
    }
}

#[test]
fn members_train_within_the_thread_budget_and_give_the_same_bits_on_any() {
    let mut plan = common::plan(4);
    plan.epochs = 2;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let run = |threads: usize| {
        let options = TrainOptions {
            threads,
            ..TrainOptions::default()
        };
        train_bagging(&plan, &data, 4, 1.0, Combine::Vote, options).unwrap()
    };
    let (one, one_report) = run(1);
    let (three, three_report) = run(3);
    let weights = |e: &Ensemble| -> Vec<Vec<u32>> {
        e.members
            .iter()
            .map(|m| {
                let w = m.executor().param("h1.weight").unwrap();
                w.iter().map(|v| v.to_bits()).collect()
            })
            .collect()
    };
    assert_eq!(weights(&one), weights(&three));
    assert_eq!(one_report.members, three_report.members);
    assert_eq!(one_report.ensemble, three_report.ensemble);
    // Every member's own training report: one entry per epoch, losses that match.
    assert_eq!(three_report.reports.len(), 4);
    for (a, b) in one_report.reports.iter().zip(&three_report.reports) {
        assert_eq!(a.epochs.len(), 2);
        let losses = |r: &knit_train::Report| -> Vec<f64> {
            r.epochs.iter().map(|e| e.train_loss).collect()
        };
        assert_eq!(losses(a), losses(b));
        assert_eq!(a.test, b.test);
    }
}

#[test]
fn bootstrap_keeps_one_minus_one_over_e_distinct_in_the_large_limit() {
    // P(an example is never drawn in n draws) = (1 − 1/n)ⁿ → 1/e; the distinct count's
    // standard deviation is about √(0.097·n), 0.0007·n here.
    let n = 200_000;
    for member in 0..3 {
        let mut rows = bootstrap(n, 1.0, 11, member);
        assert_eq!(rows.len(), n);
        rows.sort_unstable();
        rows.dedup();
        let distinct = rows.len() as f64 / n as f64;
        let expected = 1.0 - (-1.0f64).exp();
        assert!((distinct - expected).abs() < 0.003, "{distinct}");
    }
}

#[test]
fn an_ensemble_checkpoint_holds_every_member_and_predicts_identically() {
    let mut plan = common::plan(4);
    plan.epochs = 2;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let (mut ensemble, report) = three_averaged(&plan, &data);
    let path = std::env::temp_dir().join(format!(
        "knit-ensemble-test-{}.safetensors",
        std::process::id()
    ));
    ensemble.checkpoint().write(&path).unwrap();
    let ckpt = Checkpoint::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(ckpt.metadata["knit.ensemble.members"], "3");
    assert_eq!(ckpt.metadata["knit.ensemble.combine"], "average");
    // A torch.nn.ModuleList's state_dict: members.K.<name>, buffers included.
    let mut names: Vec<&str> = ckpt.tensors.keys().map(String::as_str).collect();
    names.retain(|n| n.starts_with("members.1."));
    assert_eq!(
        names,
        [
            "members.1.bn1.bias",
            "members.1.bn1.num_batches_tracked",
            "members.1.bn1.running_mean",
            "members.1.bn1.running_var",
            "members.1.bn1.weight",
            "members.1.h1.bias",
            "members.1.h1.weight",
            "members.1.out.weight",
        ]
    );
    assert_eq!(Ensemble::members_in(&ckpt, &path).unwrap(), Some(3));

    let mut loaded =
        Ensemble::from_checkpoint(&plan, &data, TrainOptions::default(), &ckpt, &path).unwrap();
    assert_eq!(loaded.combine, Combine::Average);
    let test = data.test.as_ref().unwrap();
    let before = ensemble.predictions(test.features.view()).unwrap();
    let after = loaded.predictions(test.features.view()).unwrap();
    assert_eq!(before, after);
    assert_eq!(loaded.score(test).unwrap(), report.ensemble);
    // The averaged probabilities are the mean of the members' softmax outputs.
    let mut mean = loaded.members[0]
        .predict_proba(test.features.view())
        .unwrap();
    for m in &mut loaded.members[1..] {
        mean += &m.predict_proba(test.features.view()).unwrap();
    }
    mean /= 3.0;
    for (a, b) in mean.iter().zip(after.values.iter()) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn a_single_model_checkpoint_is_not_an_ensemble() {
    let plan = common::plan(4);
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let trainer =
        knit_train::Trainer::new(plan.clone(), data.clone(), TrainOptions::default()).unwrap();
    let ckpt = trainer.checkpoint();
    let path = Path::new("one.safetensors");
    assert_eq!(Ensemble::members_in(&ckpt, path).unwrap(), None);
    let err =
        Ensemble::from_checkpoint(&plan, &data, TrainOptions::default(), &ckpt, path).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint one.safetensors: it holds a single model, not an ensemble (no metadata entry 'knit.ensemble.members')"
    );
    let mut bad = ckpt.clone();
    bad.metadata
        .insert("knit.ensemble.members".into(), "zero".into());
    assert_eq!(
        Ensemble::members_in(&bad, path).unwrap_err().to_string(),
        "checkpoint one.safetensors: metadata entry 'knit.ensemble.members' should be a positive member count, found 'zero'"
    );
}

/// A 2-16-1 tanh MLP with mse on the bundled wave data (y = sin x1 + x2²/2 + noise).
fn regression_plan() -> Plan {
    let mut data = common::blobs(0);
    data.name = "wave".into();
    data.source = Source::Csv {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/data/wave.csv"),
        label: LabelColumn::Last,
        header: Header::Auto,
    };
    data.split.stratified = false;
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let y = g.input("y", &[1]).unwrap();
    let w1 = initialize(&HeNormal::default(), &[16, 2], 1, "h1.weight").unwrap();
    let b1 = initialize(&Zeros, &[16], 1, "h1.bias").unwrap();
    let h = g.dense("h1", x, w1, Some(b1)).unwrap();
    let h = g.tanh(h).unwrap();
    let w2 = initialize(&HeNormal::default(), &[1, 16], 1, "out.weight").unwrap();
    let out = g.dense("out", h, w2, None).unwrap();
    let loss = g.mse(out, y).unwrap();
    let model = ModelNodes {
        name: "net".into(),
        input: x,
        output: out,
        data_loss: loss,
    };
    let mut plan = Plan::new(g, model, y, data, Task::Regression);
    plan.seed = 2;
    plan.epochs = 5;
    plan
}

#[test]
fn a_regression_ensemble_predicts_the_mean_and_reports_mse() {
    let plan = regression_plan();
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let (mut ensemble, report) = three_averaged(&plan, &data);
    assert_eq!((report.score, report.split), (Score::Mse, "test"));
    let test = data.test.as_ref().unwrap();
    // Each member's MSE is its mse loss on the test split.
    for (member, score) in ensemble.members.iter_mut().zip(&report.members) {
        let loss = member.evaluate(test).unwrap()[0].loss;
        assert!(
            (loss - score).abs() < 1e-5 * loss.max(1.0),
            "{loss} {score}"
        );
    }
    // The ensemble predicts the members' mean; its MSE is computed from that mean.
    let outputs: Vec<_> = ensemble
        .members
        .iter_mut()
        .map(|m| m.outputs(test.features.view()).unwrap())
        .collect();
    let predicted = ensemble.predictions(test.features.view()).unwrap();
    assert_eq!(predicted.classes, None);
    let err = ensemble
        .accuracy_under_attack(test, knit_train::Attack::Fgsm { eps: 0.1 }, None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "adversarial evaluation: accuracy under attack needs a classification ensemble"
    );
    let mut squared = 0.0;
    for i in 0..test.len() {
        let mean = outputs.iter().map(|o| f64::from(o[[i, 0]])).sum::<f64>() / 3.0;
        assert!((predicted.values[[i, 0]] - mean).abs() < 1e-12);
        squared += (mean - f64::from(test.labels[i])).powi(2);
    }
    assert!((report.ensemble - squared / test.len() as f64).abs() < 1e-12);
    // Averaging cuts the variance: the mean's error is at most the members' mean error.
    assert!(report.ensemble <= report.member_mean + 1e-12, "{report:?}");

    let err =
        train_bagging(&plan, &data, 3, 1.0, Combine::Vote, TrainOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bagging: a regression ensemble cannot vote; combine by average (the mean)"
    );
}

#[test]
fn bagging_rejects_an_empty_ensemble() {
    let plan = common::plan(3);
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let err =
        train_bagging(&plan, &data, 0, 1.0, Combine::Vote, TrainOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bagging: needs at least one member and a positive resample fraction, got 0 and 1"
    );
}

#[test]
fn every_member_is_followed_by_its_own_observer() {
    use knit_train::{train_bagging_observed, BaggingSpec, EpochMetrics, Observer};
    use std::sync::{Arc, Mutex};

    struct Log {
        member: usize,
        seen: Arc<Mutex<Vec<(usize, usize)>>>,
    }
    impl Observer for Log {
        fn epoch_finished(&mut self, m: &EpochMetrics) {
            self.seen.lock().unwrap().push((self.member, m.epoch));
        }
    }

    let mut plan = common::plan(5);
    plan.epochs = 3;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let spec = BaggingSpec {
        members: 4,
        fraction: 1.0,
        combine: Combine::Vote,
    };
    let options = TrainOptions {
        threads: 2,
        ..TrainOptions::default()
    };
    let observed = train_bagging_observed(&plan, &data, spec, options, &|member| {
        Box::new(Log {
            member,
            seen: Arc::clone(&seen),
        })
    })
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    // Members train two at a time: their events interleave, each member's in order.
    for member in 0..4 {
        let epochs: Vec<usize> = seen
            .iter()
            .filter(|(m, _)| *m == member)
            .map(|(_, e)| *e)
            .collect();
        assert_eq!(epochs, [1, 2, 3], "member {member}");
    }
    assert_eq!(seen.len(), 12);
    // Observing changes nothing.
    let (_, silent) = train_bagging(&plan, &data, 4, 1.0, Combine::Vote, options).unwrap();
    assert_eq!(observed.1.members, silent.members);
}

#[test]
fn an_ensemble_is_estimated_as_all_its_members_held_at_once() {
    // Members are kept for the ensemble, each with its trainer and its data copies, so the
    // memory refused before training is that of all of them, not of one.
    let plan = common::plan(3);
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let rows = data.train.len();
    let features = data.train.features.ncols();
    let batch = knit_train::largest_batch(&plan, rows, 512);
    let one = knit_train::run_memory(&plan, batch, features).total();
    let held = rows
        + data.validation.as_ref().map_or(0, |v| v.len())
        + data.test.as_ref().map_or(0, |t| t.len());
    let five = knit_train::ensemble_memory(&plan, &data, 5, 1.0, 512);
    assert_eq!(
        five.total(),
        5 * (one + held as u64 * (features as u64 + 1) * 4)
    );
    let err = knit_train::check_fits(&five, five.total() - 1, batch).unwrap_err();
    assert!(err.to_string().contains("(× 5 members)"), "{err}");
}
