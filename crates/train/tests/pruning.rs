//! Pruning: masked weights stay exactly zero through retraining with momentum and Adam,
//! and the iterative procedure raises the sparsity while the accuracy floor holds.

mod common;

use knit_train::{Floor, OptimizerSpec, PruneScope, PruneSpec, Silent, TrainOptions, Trainer};
use ndarray::{ArrayD, IxDyn};
use std::path::Path;

fn trainer(plan: knit_train::Plan) -> Trainer {
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    Trainer::new(plan, data, TrainOptions::default()).unwrap()
}

#[test]
fn masked_weights_stay_exactly_zero_with_momentum_and_adam() {
    for optimizer in [
        OptimizerSpec::Sgd(knit_optim::SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-3,
            ..Default::default()
        }),
        OptimizerSpec::Adam(Default::default()),
        OptimizerSpec::AdamW(Default::default()),
    ] {
        let mut plan = common::plan(2);
        plan.optimizer = optimizer;
        plan.lr_schedule = knit_train::ScheduleSpec::Constant(optimizer.lr());
        let mut t = trainer(plan);
        t.fit(&mut Silent).unwrap(); // optimizer state is non-zero everywhere now
        let mask = ArrayD::from_shape_fn(IxDyn(&[16, 2]), |i| {
            if (i[0] + i[1]) % 3 == 0 {
                0.0
            } else {
                1.0
            }
        });
        t.set_masks(&[("h1.weight".to_string(), mask.clone())])
            .unwrap();
        for _ in 0..5 {
            t.train_epoch(&mut Silent).unwrap();
        }
        let w = t.executor().param("h1.weight").unwrap();
        for (v, m) in w.iter().zip(mask.iter()) {
            if *m == 0.0 {
                assert_eq!(*v, 0.0, "{optimizer:?}");
            } else {
                assert_ne!(*v, 0.0);
            }
        }
    }
}

#[test]
fn iterative_pruning_keeps_the_sparsest_model_above_the_floor() {
    let mut t = trainer(common::plan(1));
    t.fit(&mut Silent).unwrap();
    let spec = PruneSpec {
        params: vec!["h1.weight".into(), "out.weight".into()],
        scope: PruneScope::Global,
        from: 0.2,
        to: 0.8,
        step: 0.2,
        retrain_epochs: 2,
        floor: Floor::Drop(0.05),
    };
    let report = t.prune(&spec, &mut Silent).unwrap();
    assert!(report.dense.validation_accuracy > 0.9);
    assert!((report.floor - (report.dense.validation_accuracy - 0.05)).abs() < 1e-12);
    let sparsities: Vec<f64> = report.rounds.iter().map(|r| r.sparsity).collect();
    for (k, s) in sparsities.iter().enumerate() {
        assert!((s - (0.2 + 0.2 * k as f64)).abs() < 0.02, "{sparsities:?}");
    }
    let kept = report.kept.expect("blobs stay separable at 20 % sparsity");
    // Every round before the kept one met the floor; a later one, if any, missed it.
    assert!(report.rounds[..=kept].iter().all(|r| r.met_floor));
    assert!(report.rounds[kept + 1..].iter().all(|r| !r.met_floor));
    let zeros = ["h1.weight", "out.weight"]
        .iter()
        .flat_map(|n| {
            t.executor()
                .param(n)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>()
        })
        .filter(|v| *v == 0.0)
        .count();
    assert_eq!(
        zeros,
        (report.rounds[kept].sparsity * 80.0).round() as usize
    );
    assert!(report.rounds[kept].flops_per_example < report.dense.flops_per_example);
}

#[test]
fn pruning_an_unknown_parameter_is_an_error() {
    let mut t = trainer(common::plan(1));
    let err = t
        .set_masks(&[("h9.weight".to_string(), ArrayD::zeros(IxDyn(&[1])))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pruning: 'h9.weight' is not a trainable parameter"
    );
}
