//! Every invalid hyper-parameter, group, spec or slot is a typed error with a readable message,
//! and a failed `step` changes nothing.

mod common;

use common::{init_params, specs, Case};
use knit_optim::{
    AdagradConfig, Adam, AdamConfig, AdamWConfig, OptimError, Optimizer, ParamGroup, ParamSpec,
    RmspropConfig, Sgd, SgdConfig, Slot,
};
use ndarray::{arr1, ArrayD, IxDyn};

fn build_error(case: Case) -> String {
    case.build::<f64>(&specs(), &[])
        .err()
        .expect("construction should fail")
        .to_string()
}

#[test]
fn sgd_hyperparameters() {
    let c = SgdConfig::default();
    let e = |c| build_error(Case::Sgd(c));
    assert_eq!(
        e(SgdConfig { lr: -0.1, ..c }),
        "sgd: lr must be >= 0 and finite, got -0.1"
    );
    assert_eq!(
        e(SgdConfig { lr: f64::NAN, ..c }),
        "sgd: lr must be >= 0 and finite, got NaN"
    );
    assert_eq!(
        e(SgdConfig {
            lr: f64::INFINITY,
            ..c
        }),
        "sgd: lr must be >= 0 and finite, got inf"
    );
    assert_eq!(
        e(SgdConfig {
            momentum: -0.5,
            ..c
        }),
        "sgd: momentum must be >= 0 and finite, got -0.5"
    );
    assert_eq!(
        e(SgdConfig {
            dampening: 1.5,
            ..c
        }),
        "sgd: dampening must be in [0, 1], got 1.5"
    );
    assert_eq!(
        e(SgdConfig {
            weight_decay: -1.0,
            ..c
        }),
        "sgd: weight_decay must be >= 0 and finite, got -1"
    );
    assert_eq!(
        e(SgdConfig {
            nesterov: true,
            ..c
        }),
        "sgd: nesterov requires momentum > 0 and dampening = 0, got momentum 0 and dampening 0"
    );
    assert_eq!(
        e(SgdConfig {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..c
        }),
        "sgd: nesterov requires momentum > 0 and dampening = 0, got momentum 0.9 and dampening 0.1"
    );
    // lr = 0 is allowed, as in PyTorch.
    assert!(Case::Sgd(SgdConfig { lr: 0.0, ..c })
        .build::<f64>(&specs(), &[])
        .is_ok());
}

#[test]
fn adagrad_hyperparameters() {
    let c = AdagradConfig::default();
    let e = |c| build_error(Case::Adagrad(c));
    assert_eq!(
        e(AdagradConfig {
            lr_decay: -1.0,
            ..c
        }),
        "adagrad: lr_decay must be >= 0 and finite, got -1"
    );
    assert_eq!(
        e(AdagradConfig {
            initial_accumulator_value: -0.1,
            ..c
        }),
        "adagrad: initial_accumulator_value must be >= 0 and finite, got -0.1"
    );
    assert_eq!(
        e(AdagradConfig { eps: -1e-10, ..c }),
        "adagrad: eps must be >= 0 and finite, got -0.0000000001"
    );
}

#[test]
fn rmsprop_hyperparameters() {
    let c = RmspropConfig::default();
    let e = |c| build_error(Case::Rmsprop(c));
    assert_eq!(
        e(RmspropConfig { alpha: 1.01, ..c }),
        "rmsprop: alpha must be in [0, 1], got 1.01"
    );
    assert_eq!(
        e(RmspropConfig { eps: -1.0, ..c }),
        "rmsprop: eps must be >= 0 and finite, got -1"
    );
    assert_eq!(
        e(RmspropConfig {
            momentum: -0.9,
            ..c
        }),
        "rmsprop: momentum must be >= 0 and finite, got -0.9"
    );
    assert_eq!(
        e(RmspropConfig { lr: -1.0, ..c }),
        "rmsprop: lr must be >= 0 and finite, got -1"
    );
}

#[test]
fn adam_and_adamw_hyperparameters() {
    let c = AdamConfig::default();
    let e = |c| build_error(Case::Adam(c));
    assert_eq!(
        e(AdamConfig {
            betas: (1.2, 0.999),
            ..c
        }),
        "adam: beta1 must be in [0, 1), got 1.2"
    );
    assert_eq!(
        e(AdamConfig {
            betas: (0.9, 1.0),
            ..c
        }),
        "adam: beta2 must be in [0, 1), got 1"
    );
    assert_eq!(
        e(AdamConfig {
            betas: (-0.1, 0.9),
            ..c
        }),
        "adam: beta1 must be in [0, 1), got -0.1"
    );
    assert_eq!(
        e(AdamConfig { eps: -1e-8, ..c }),
        "adam: eps must be >= 0 and finite, got -0.00000001"
    );
    assert_eq!(
        e(AdamConfig {
            weight_decay: f64::NAN,
            ..c
        }),
        "adam: weight_decay must be >= 0 and finite, got NaN"
    );
    let w = AdamWConfig::default();
    assert_eq!(
        build_error(Case::AdamW(AdamWConfig {
            betas: (0.9, 2.0),
            ..w
        })),
        "adamw: beta2 must be in [0, 1), got 2"
    );
    assert_eq!(
        build_error(Case::AdamW(AdamWConfig {
            weight_decay: -0.01,
            ..w
        })),
        "adamw: weight_decay must be >= 0 and finite, got -0.01"
    );
}

#[test]
fn defaults_are_pytorchs() {
    assert_eq!(
        SgdConfig::default(),
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false
        }
    );
    assert_eq!(
        AdagradConfig::default(),
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10
        }
    );
    assert_eq!(
        RmspropConfig::default(),
        RmspropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false
        }
    );
    assert_eq!(
        AdamConfig::default(),
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false
        }
    );
    assert_eq!(AdamWConfig::default().weight_decay, 1e-2);
}

#[test]
fn groups_and_specs() {
    let adam = |specs: &[ParamSpec], groups: &[ParamGroup]| {
        Adam::<f32>::new(specs, groups, AdamConfig::default())
            .err()
            .map(|e| e.to_string())
    };
    let w = ParamSpec::new("w", &[2]);
    assert_eq!(
        adam(
            &[w.clone(), ParamSpec::new("b", &[2]).in_group(2)],
            &[ParamGroup::default(), ParamGroup::default()]
        )
        .unwrap(),
        "adam: parameter b: group 2 does not exist (2 groups)"
    );
    assert_eq!(
        adam(&[w.clone(), w.clone()], &[]).unwrap(),
        "adam: parameter w: the name appears twice"
    );
    assert_eq!(
        adam(
            std::slice::from_ref(&w),
            &[ParamGroup::default().with_lr_mult(-1.0)]
        )
        .unwrap(),
        "adam: group 0: lr_mult must be >= 0 and finite, got -1"
    );
    assert_eq!(
        adam(
            std::slice::from_ref(&w),
            &[
                ParamGroup::default(),
                ParamGroup::default().with_weight_decay(f64::INFINITY)
            ]
        )
        .unwrap(),
        "adam: group 1: weight_decay must be >= 0 and finite, got inf"
    );
    assert_eq!(
        adam(&[ParamSpec::new("huge", &[usize::MAX, 2])], &[]).unwrap(),
        format!(
            "adam: parameter huge: shape [{}, 2] has too many elements",
            usize::MAX
        )
    );
    // No groups means one default group; an empty model is fine.
    assert_eq!(adam(&[w], &[]), None);
    assert_eq!(adam(&[], &[]), None);
}

#[test]
fn step_checks_slots_before_touching_anything() {
    let mut opt = Case::Adam(AdamConfig::default()).make::<f64>();
    let mut params = init_params::<f64>();
    let before = params.clone();
    let state = opt.state();
    let g = common::grads(0, &params);

    // Too few slots.
    let err = opt
        .step(&mut [Slot::new(params[0].view_mut(), g[0].view())])
        .unwrap_err();
    assert_eq!(
        err,
        OptimError::SlotCount {
            who: "adam",
            expected: 2,
            got: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "adam: expected 2 slots (one per parameter, in spec order), got 1"
    );

    // A gradient of the wrong shape on the second slot: the first is not updated either.
    let bad = ArrayD::<f64>::zeros(IxDyn(&[4]));
    let (p0, p1) = params.split_at_mut(1);
    let err = opt
        .step(&mut [
            Slot::new(p0[0].view_mut(), g[0].view()),
            Slot::new(p1[0].view_mut(), bad.view()),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "adam: gradient of a.bias has shape [4], expected [5]"
    );

    // Slots swapped: the parameter shapes do not match the specs.
    let err = opt
        .step(&mut [
            Slot::new(p1[0].view_mut(), g[1].view()),
            Slot::new(p0[0].view_mut(), g[0].view()),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "adam: parameter of a.weight has shape [5], expected [3, 4]"
    );

    assert_eq!(params, before);
    assert_eq!(opt.state(), state);
}

#[test]
fn an_invalid_lr_from_set_lr_fails_the_step() {
    let specs = [ParamSpec::new("w", &[1])];
    let mut opt = Sgd::<f32>::new(&specs, &[], SgdConfig::default()).unwrap();
    let mut w = arr1(&[1.0f32]).into_dyn();
    let g = arr1(&[1.0f32]).into_dyn();
    for (lr, text) in [(-1.0, "-1"), (f64::NAN, "NaN")] {
        opt.set_lr(lr);
        let err = opt
            .step(&mut [Slot::new(w.view_mut(), g.view())])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("sgd: lr must be >= 0 and finite, got {text}")
        );
    }
    assert_eq!(w[[0]], 1.0);
    opt.set_lr(0.5);
    opt.step(&mut [Slot::new(w.view_mut(), g.view())]).unwrap();
    assert_eq!(w[[0]], 0.5);
}

#[test]
fn optimizers_are_object_safe_and_send() {
    fn assert_send<T: Send>(_: &T) {}
    let opts: Vec<Box<dyn Optimizer<f32>>> = common::cases()
        .into_iter()
        .map(|(_, c)| c.make::<f32>())
        .collect();
    assert_send(&opts);
    assert_eq!(opts.len(), common::cases().len());
}
