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

#[test]
fn each_round_reports_sparse_bytes_and_weight_flops_by_their_formulas() {
    let mut t = trainer(common::plan(1));
    t.fit(&mut Silent).unwrap();
    let spec = PruneSpec {
        params: vec!["h1.weight".into(), "out.weight".into()],
        scope: PruneScope::PerLayer,
        from: 0.5,
        to: 0.5,
        step: 0.1,
        retrain_epochs: 1,
        floor: Floor::Absolute(0.0),
    };
    let report = t.prune(&spec, &mut Silent).unwrap();
    // The 2-16-3 plan: h1.weight 32, h1.bias 16, bn1 weight and bias 16 + 16, out.weight 48;
    // buffers: bn1 running mean and variance, 16 + 16, and its i64 batch counter.
    let dense_values = 32 + 16 + 16 + 16 + 48 + 32;
    assert_eq!(report.dense.checkpoint_bytes, 4 * dense_values + 8);
    assert_eq!(report.dense.nonzero_parameters, 128);
    // Linear layers: 2·32 + 16 (h1), 2·48 (out, no bias).
    assert_eq!(report.dense.flops_per_example, 2 * 32 + 16 + 2 * 48);
    let round = &report.rounds[0];
    assert_eq!(report.kept, Some(0));
    // Half of each pruned weight: 16 of 32 and 24 of 48 kept.
    assert_eq!(round.nonzero_parameters, 128 - 16 - 24);
    let masked_bytes = (32 / 8 + 4 * 16) + (48 / 8 + 4 * 24);
    assert_eq!(
        round.checkpoint_bytes,
        4 * (16 + 16 + 16 + 32) + 8 + masked_bytes
    );
    assert_eq!(round.flops_per_example, 2 * 16 + 16 + 2 * 24);
    assert_eq!(t.sparse_bytes(), round.checkpoint_bytes);
    assert_eq!(t.weight_flops(), round.flops_per_example);
}

#[test]
fn masks_stored_in_a_checkpoint_are_applied_when_it_is_loaded() {
    let mut t = trainer(common::plan(1));
    t.fit(&mut Silent).unwrap();
    let mask = ArrayD::from_shape_fn(IxDyn(&[3, 16]), |i| (i[1] % 2) as f32);
    t.set_masks(&[("out.weight".to_string(), mask.clone())])
        .unwrap();
    let mut ckpt = t.checkpoint();
    assert_eq!(ckpt.tensors["_knit.mask.out.weight"], mask);
    // Weights that are not zero in the file are still held at zero by the stored mask.
    ckpt.tensors
        .insert("out.weight".into(), ArrayD::from_elem(IxDyn(&[3, 16]), 0.5));
    let mut loaded = trainer(common::plan(1));
    loaded
        .load_weights(&ckpt, Path::new("p.safetensors"), &[])
        .unwrap();
    assert_eq!(
        loaded
            .load_masks(&ckpt, Path::new("p.safetensors"))
            .unwrap(),
        1
    );
    let w = loaded.executor().param("out.weight").unwrap();
    assert_eq!(w.to_owned(), mask.mapv(|m| m * 0.5));
    let mut none = trainer(common::plan(1));
    let plain = none.checkpoint();
    assert_eq!(
        none.load_masks(&plain, Path::new("p.safetensors")).unwrap(),
        0
    );
}

#[test]
fn the_dense_model_is_kept_when_no_round_meets_the_floor() {
    let mut t = trainer(common::plan(1));
    t.fit(&mut Silent).unwrap();
    let dense = t.executor().param("h1.weight").unwrap().to_owned();
    let spec = PruneSpec {
        params: vec!["h1.weight".into()],
        scope: PruneScope::PerLayer,
        from: 0.5,
        to: 0.5,
        step: 0.1,
        retrain_epochs: 1,
        floor: Floor::Absolute(1.1), // unreachable
    };
    let report = t.prune(&spec, &mut Silent).unwrap();
    assert_eq!(report.kept, None);
    assert!(!report.rounds[0].met_floor);
    assert_eq!(t.executor().param("h1.weight").unwrap().to_owned(), dense);
    assert!(!t.checkpoint().tensors.contains_key("_knit.mask.h1.weight"));
}
