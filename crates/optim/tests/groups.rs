//! Parameter groups: frozen groups are untouched, `lr_mult` and `weight_decay` overrides take
//! effect, and a schedule drives the base learning rate.

mod common;

use common::{cases, init_params, specs, Case};
use knit_optim::schedule::{Schedule, StepDecay};
use knit_optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, ParamGroup, ParamSpec, Sgd, SgdConfig, Slot,
};
use ndarray::{arr1, ArrayD};

fn bits(a: &ArrayD<f64>) -> Vec<u64> {
    a.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn a_frozen_group_stays_bit_identical_for_every_optimizer() {
    let specs = vec![
        ParamSpec::new("a.weight", &[3, 4]),
        ParamSpec::new("a.bias", &[5]).in_group(1),
    ];
    let groups = [
        ParamGroup::default(),
        ParamGroup::default().with_frozen(true),
    ];
    for (name, case) in cases() {
        let mut opt = case.build::<f64>(&specs, &groups).unwrap();
        let mut params = init_params::<f64>();
        let before = bits(&params[1]);
        let state_before: Vec<_> = opt
            .state()
            .into_iter()
            .filter(|(k, _)| k.starts_with("a.bias"))
            .collect();
        common::run(opt.as_mut(), &mut params, 0..10);
        assert_eq!(bits(&params[1]), before, "{name}: frozen parameter moved");
        assert_ne!(
            params[0],
            init_params::<f64>()[0],
            "{name}: trainable parameter did not move"
        );
        let state_after: Vec<_> = opt
            .state()
            .into_iter()
            .filter(|(k, _)| k.starts_with("a.bias"))
            .collect();
        assert_eq!(state_after, state_before, "{name}: frozen state changed");
        let step = opt
            .state()
            .into_iter()
            .find(|(k, _)| k == "a.weight.step")
            .unwrap()
            .1;
        assert_eq!(step[[]], 10.0, "{name}");
    }
}

#[test]
fn lr_mult_scales_the_step_and_weight_decay_override_replaces_the_default() {
    // SGD, one step: p ← p − lr·mult·(g + wd·p), numbers checked by hand.
    let specs = [
        ParamSpec::new("w", &[2]),
        ParamSpec::new("b", &[2]).in_group(1),
        ParamSpec::new("c", &[2]).in_group(2),
    ];
    let groups = [
        ParamGroup::default(),
        ParamGroup::default()
            .with_lr_mult(0.5)
            .with_weight_decay(0.0),
        ParamGroup::default()
            .with_lr_mult(2.0)
            .with_weight_decay(0.25),
    ];
    let config = SgdConfig {
        lr: 0.1,
        weight_decay: 0.5,
        ..SgdConfig::default()
    };
    let mut opt = Sgd::<f64>::new(&specs, &groups, config).unwrap();
    let mut p: Vec<ArrayD<f64>> = (0..3).map(|_| arr1(&[2.0, -4.0]).into_dyn()).collect();
    let g = arr1(&[1.0, 1.0]).into_dyn();
    let mut slots: Vec<_> = p
        .iter_mut()
        .map(|p| Slot::new(p.view_mut(), g.view()))
        .collect();
    opt.step(&mut slots).unwrap();
    // group 0: 2 − 0.1·(1 + 0.5·2) = 1.8;        −4 − 0.1·(1 − 2) = −3.9
    assert_eq!(p[0], arr1(&[2.0 - 0.1 * 2.0, -4.0 + 0.1]).into_dyn());
    // group 1: 2 − 0.05·1 = 1.95;                  −4 − 0.05 = −4.05
    assert_eq!(p[1], arr1(&[2.0 - 0.05, -4.0 - 0.05]).into_dyn());
    // group 2: 2 − 0.2·(1 + 0.25·2) = 1.7;        −4 − 0.2·(1 − 1) = −4
    assert_eq!(p[2], arr1(&[2.0 - 0.2 * 1.5, -4.0]).into_dyn());
}

/// A group with `lr_mult`/`weight_decay` behaves bit for bit like an optimizer configured with
/// `lr·lr_mult` and that weight decay.
#[test]
fn group_overrides_equal_a_reconfigured_optimizer() {
    let specs = specs();
    let grouped: Vec<ParamSpec> = specs.iter().cloned().map(|s| s.in_group(1)).collect();
    let groups = [
        ParamGroup::default(),
        ParamGroup::default()
            .with_lr_mult(0.5)
            .with_weight_decay(0.2),
    ];
    let pairs = [
        (
            Case::Adam(AdamConfig {
                lr: 0.02,
                ..AdamConfig::default()
            }),
            Case::Adam(AdamConfig {
                lr: 0.01,
                weight_decay: 0.2,
                ..AdamConfig::default()
            }),
        ),
        (
            Case::AdamW(AdamWConfig {
                lr: 0.02,
                ..AdamWConfig::default()
            }),
            Case::AdamW(AdamWConfig {
                lr: 0.01,
                weight_decay: 0.2,
                ..AdamWConfig::default()
            }),
        ),
        (
            Case::Sgd(SgdConfig {
                lr: 0.02,
                momentum: 0.9,
                ..SgdConfig::default()
            }),
            Case::Sgd(SgdConfig {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 0.2,
                ..SgdConfig::default()
            }),
        ),
    ];
    for (with_groups, plain) in pairs {
        let mut a = with_groups.build::<f64>(&grouped, &groups).unwrap();
        let mut b = plain.build::<f64>(&specs, &[]).unwrap();
        let (mut pa, mut pb) = (init_params::<f64>(), init_params::<f64>());
        common::run(a.as_mut(), &mut pa, 0..15);
        common::run(b.as_mut(), &mut pb, 0..15);
        for (x, y) in pa.iter().zip(&pb) {
            assert_eq!(bits(x), bits(y), "{with_groups:?}");
        }
    }
}

#[test]
fn adamw_decays_decoupled_and_adam_decays_through_the_gradient() {
    // With g = 0 from a fresh state, Adam's L2 term becomes the gradient (a full lr-sized
    // step), while AdamW only shrinks p by lr·wd and then takes a zero Adam step.
    let specs = [ParamSpec::new("w", &[1])];
    let mut adam = Adam::<f64>::new(
        &specs,
        &[],
        AdamConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..Default::default()
        },
    )
    .unwrap();
    let mut adamw = AdamW::<f64>::new(
        &specs,
        &[],
        AdamWConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..Default::default()
        },
    )
    .unwrap();
    let zero = arr1(&[0.0]).into_dyn();
    let (mut a, mut w) = (arr1(&[2.0]).into_dyn(), arr1(&[2.0]).into_dyn());
    adam.step(&mut [Slot::new(a.view_mut(), zero.view())])
        .unwrap();
    adamw
        .step(&mut [Slot::new(w.view_mut(), zero.view())])
        .unwrap();
    assert!((a[[0]] - (2.0 - 0.1)).abs() < 1e-8, "adam: {}", a[[0]]);
    assert_eq!(w[[0]], 2.0 * (1.0 - 0.1 * 0.5), "adamw");
}

#[test]
fn a_schedule_sets_the_base_rate_and_the_multiplier_still_applies() {
    let specs = [
        ParamSpec::new("w", &[1]),
        ParamSpec::new("v", &[1]).in_group(1),
    ];
    let groups = [
        ParamGroup::default(),
        ParamGroup::default().with_lr_mult(0.5),
    ];
    let mut opt = Sgd::<f64>::new(
        &specs,
        &groups,
        SgdConfig {
            lr: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    let schedule = StepDecay::new(1.0, 2, 0.5).unwrap();
    let (mut w, mut v) = (arr1(&[0.0]).into_dyn(), arr1(&[0.0]).into_dyn());
    let g = arr1(&[-1.0]).into_dyn();
    let mut moves = vec![];
    for t in 0..4 {
        opt.set_lr(schedule.value(t));
        assert_eq!(opt.lr(), schedule.value(t));
        let (w0, v0) = (w[[0]], v[[0]]);
        opt.step(&mut [
            Slot::new(w.view_mut(), g.view()),
            Slot::new(v.view_mut(), g.view()),
        ])
        .unwrap();
        moves.push((w[[0]] - w0, v[[0]] - v0));
    }
    assert_eq!(
        moves,
        vec![(1.0, 0.5), (1.0, 0.5), (0.5, 0.25), (0.5, 0.25)]
    );
}
