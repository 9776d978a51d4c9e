//! A CNN through the trainer: transfer learning refuses a kernel of another shape, naming
//! the file, the parameter and both shapes, and changes nothing; FGSM on images stays in
//! the ε-ball and the pixel range and lowers a trained CNN's accuracy.

mod common;

use knit_train::{Attack, Checkpoint, OptimizerSpec, ScheduleSpec, Silent, TrainOptions, Trainer};
use std::path::Path;

fn trainer(plan: knit_train::Plan) -> Trainer {
    let data = knit_data::load(&plan.data, Path::new(".")).unwrap();
    Trainer::new(plan, data, TrainOptions::default()).unwrap()
}

/// Every parameter's values as bit patterns.
fn bits(t: &Trainer) -> Vec<(String, Vec<u32>)> {
    t.executor()
        .graph()
        .params()
        .map(|(id, n)| {
            let v = t.executor().value(id).unwrap();
            (n.name.clone(), v.iter().map(|x| x.to_bits()).collect())
        })
        .collect()
}

#[test]
fn a_pretrained_kernel_of_another_shape_is_refused_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pre.safetensors");
    let mut base = trainer(common::cnn_plan(1, 3));
    base.fit(&mut Silent).unwrap();
    base.save(&path).unwrap();
    let ckpt = Checkpoint::read(&path).unwrap();

    // The same CNN with 5×5 kernels, loading only the convolution (`only c1.*`).
    let mut wider = trainer(common::cnn_plan(2, 5));
    let before = bits(&wider);
    let only = ["c1.weight".to_string(), "c1.bias".to_string()];
    let err = wider
        .load_some_weights(&ckpt, &path, &[], Some(&only))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint {}: entry 'c1.weight': has shape [4, 1, 3, 3], but the model's \
             parameter 'c1.weight' has shape [4, 1, 5, 5]",
            path.display()
        )
    );
    assert_eq!(bits(&wider), before, "nothing is loaded");

    // The same shapes load, and only what was asked for.
    let mut same = trainer(common::cnn_plan(2, 3));
    let fresh = bits(&same);
    assert_eq!(
        same.load_some_weights(&ckpt, &path, &[], Some(&only))
            .unwrap(),
        2
    );
    let loaded = bits(&same);
    let trained = bits(&base);
    assert_eq!(loaded[..2], trained[..2], "c1 comes from the file");
    assert_eq!(loaded[2], fresh[2], "out keeps its initialization");
    assert_ne!(fresh[..2], trained[..2]);
}

#[test]
fn fgsm_on_images_stays_in_the_ball_and_lowers_a_trained_cnns_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let mut plan = common::cnn_on(3, 3, common::bars(dir.path(), 600), 8);
    plan.epochs = 6;
    plan.optimizer = OptimizerSpec::Adam(knit_optim::AdamConfig {
        lr: 1e-2,
        ..Default::default()
    });
    plan.lr_schedule = ScheduleSpec::Constant(1e-2);
    let mut t = trainer(plan);
    t.fit(&mut Silent).unwrap();
    let test = t.splits().test.clone().unwrap();
    let clean = t.evaluate(&test).unwrap()[0].accuracy.unwrap();
    assert!(clean > 0.9, "the CNN learns the bars: {clean}");

    let eps = 0.25;
    let range = Some((0.0, 1.0));
    let adv = t
        .perturb(
            test.features.view(),
            test.labels.view(),
            Attack::Fgsm { eps },
            range,
        )
        .unwrap();
    let delta = &adv - &test.features;
    let max = delta.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(f64::from(max) <= eps + 1e-6, "max |δ| = {max}");
    assert!(f64::from(max) > eps - 1e-6, "some pixel moves by ε: {max}");
    assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)), "in [0, 1]");
    let attacked = t
        .accuracy_under_attack(&test, Attack::Fgsm { eps }, range)
        .unwrap();
    assert!(
        attacked < clean - 0.2,
        "clean {clean}, under fgsm(eps: {eps}) {attacked}"
    );
}
