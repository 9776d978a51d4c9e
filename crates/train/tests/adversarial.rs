//! Adversarial examples and training on a hand-built plan.

mod common;

use knit_train::{
    train_bagging, AdversarialSpec, Attack, Combine, Ensemble, Silent, TrainOptions, Trainer,
};
use std::path::Path;

fn trainer(plan: knit_train::Plan) -> Trainer {
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    Trainer::new(plan, data, TrainOptions::default()).unwrap()
}

#[test]
fn fgsm_perturbations_have_max_norm_eps_and_lower_accuracy() {
    let mut t = trainer(common::plan(1));
    t.fit(&mut Silent).unwrap();
    let data = knit_data::load(&t.plan().data, Path::new(".")).unwrap();
    let test = data.test.unwrap();
    let eps = 0.3;
    let adv = t
        .perturb(
            test.features.view(),
            test.labels.view(),
            Attack::Fgsm { eps },
            None,
        )
        .unwrap();
    let max = (&adv - &test.features)
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    assert!((f64::from(max) - eps).abs() < 1e-6, "max |δ| = {max}");
    let clean = t.evaluate(&test).unwrap()[0].accuracy.unwrap();
    let attacked = t
        .accuracy_under_attack(&test, Attack::Fgsm { eps: 1.0 }, None)
        .unwrap();
    assert!(attacked < clean, "clean {clean}, attacked {attacked}");
    let pgd = t
        .accuracy_under_attack(
            &test,
            Attack::Pgd {
                eps: 1.0,
                alpha: 0.25,
                steps: 10,
            },
            None,
        )
        .unwrap();
    assert!(pgd <= attacked + 0.02, "pgd {pgd} vs fgsm {attacked}");
}

#[test]
fn adversarial_training_is_more_robust_than_plain_training() {
    let attack = Attack::Fgsm { eps: 1.0 };
    let mut plain = trainer(common::plan(1));
    plain.fit(&mut Silent).unwrap();
    let mut plan = common::plan(1);
    plan.adversarial = Some(AdversarialSpec {
        attack,
        mix: 0.5,
        warmup_epochs: 1,
        range: None,
    });
    let mut robust = trainer(plan);
    robust.fit(&mut Silent).unwrap();
    let test = knit_data::load(&plain.plan().data, Path::new("."))
        .unwrap()
        .test
        .unwrap();
    let a = plain.accuracy_under_attack(&test, attack, None).unwrap();
    let b = robust.accuracy_under_attack(&test, attack, None).unwrap();
    assert!(b > a, "plain {a}, adversarially trained {b}");
}

#[test]
fn pgd_stays_in_the_eps_ball_and_the_range_and_is_as_strong_as_fgsm() {
    let mut t = trainer(common::plan(1));
    t.fit(&mut Silent).unwrap();
    let test = knit_data::load(&t.plan().data, Path::new("."))
        .unwrap()
        .test
        .unwrap();
    let (eps, range) = (0.5, (-1.5, 1.5));
    let pgd = Attack::Pgd {
        eps,
        alpha: 2.5 * eps / 10.0,
        steps: 10,
    };
    let adv = t
        .perturb(test.features.view(), test.labels.view(), pgd, Some(range))
        .unwrap();
    for (a, x) in adv.iter().zip(test.features.iter()) {
        assert!(f64::from((a - x).abs()) <= eps + 1e-6, "{a} vs {x}");
        let (lo, hi) = (range.0 as f32, range.1 as f32);
        assert!((lo..=hi).contains(a), "{a} outside the range");
    }
    let clean = t.evaluate(&test).unwrap()[0].accuracy.unwrap();
    let fgsm = t
        .accuracy_under_attack(&test, Attack::Fgsm { eps }, Some(range))
        .unwrap();
    let strong = t.accuracy_under_attack(&test, pgd, Some(range)).unwrap();
    assert!(
        strong <= fgsm + 0.02 && fgsm < clean,
        "clean {clean}, fgsm {fgsm}, pgd {strong}"
    );
}

#[test]
fn an_ensemble_is_attacked_through_all_its_members() {
    let mut plan = common::plan(2);
    plan.epochs = 3;
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    let test = data.test.clone().unwrap();

    // A one-member ensemble is attacked exactly as its member alone.
    let mut alone = trainer(plan.clone());
    alone.fit(&mut Silent).unwrap();
    let mut twin = trainer(plan.clone());
    twin.fit(&mut Silent).unwrap();
    let attack = Attack::Pgd {
        eps: 0.5,
        alpha: 0.1,
        steps: 5,
    };
    let mut single = Ensemble {
        members: vec![twin],
        combine: Combine::Vote,
    };
    assert_eq!(
        single.accuracy_under_attack(&test, attack, None).unwrap(),
        alone.accuracy_under_attack(&test, attack, None).unwrap()
    );

    // Three members: no perturbation leaves the ensemble's own accuracy, a large one lowers it.
    let (mut ensemble, report) = train_bagging(
        &plan,
        &data,
        3,
        1.0,
        Combine::Average,
        TrainOptions::default(),
    )
    .unwrap();
    let untouched = ensemble
        .accuracy_under_attack(&test, Attack::Fgsm { eps: 0.0 }, None)
        .unwrap();
    assert_eq!(untouched, report.ensemble);
    let attacked = ensemble
        .accuracy_under_attack(&test, Attack::Fgsm { eps: 1.0 }, None)
        .unwrap();
    assert!(
        attacked < report.ensemble,
        "clean {}, attacked {attacked}",
        report.ensemble
    );
}
