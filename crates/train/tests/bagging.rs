//! Bagging on a hand-built plan: members on bootstrap resamples, combined by vote or average.

mod common;

use knit_train::{train_bagging, Combine, TrainOptions};
use std::path::Path;

#[test]
fn the_ensemble_is_at_least_as_good_as_its_average_member() {
    let mut plan = common::plan(3);
    plan.epochs = 3;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    for combine in [Combine::Vote, Combine::Average] {
        let (mut ensemble, report) =
            train_bagging(&plan, &data, 5, 1.0, combine, TrainOptions::default()).unwrap();
        assert_eq!(ensemble.members.len(), 5);
        assert_eq!(report.member_accuracy.len(), 5);
        for d in &report.distinct_fraction {
            // 360 draws with replacement from 360: 1 − 1/e ≈ 0.632 distinct, sd ≈ 0.015.
            assert!((d - 0.632).abs() < 0.08, "distinct fraction {d}");
        }
        assert!(
            report.ensemble_accuracy + 1e-9 >= report.member_mean - 0.01,
            "{report:?}"
        );
        let test = data.test.as_ref().unwrap();
        assert_eq!(ensemble.accuracy(test).unwrap(), report.ensemble_accuracy);
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
