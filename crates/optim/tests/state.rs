//! Saving and resuming: `state`/`load_state` give a bit-exact resume, and corrupt states are
//! typed errors that change nothing.

mod common;

use common::{cases, init_params, specs, Case};
use knit_optim::{AdamConfig, OptimError, Optimizer, Real, SgdConfig};
use ndarray::ArrayD;

fn bits<F: Real>(params: &[ArrayD<F>]) -> Vec<u64> {
    params
        .iter()
        .flatten()
        .map(|x| x.to_f64().unwrap().to_bits())
        .collect()
}

fn resume_is_bit_identical<F: Real>() {
    for (name, case) in cases() {
        let mut opt = case.make::<F>();
        let mut params = init_params::<F>();
        common::run(opt.as_mut(), &mut params, 0..10);
        let saved_state = opt.state();
        let saved_params = params.clone();
        common::run(opt.as_mut(), &mut params, 10..20);

        let mut fresh = case.make::<F>();
        fresh.load_state(&saved_state).unwrap();
        assert_eq!(
            fresh.state(),
            saved_state,
            "{name}: state did not round-trip"
        );
        let mut resumed = saved_params;
        common::run(fresh.as_mut(), &mut resumed, 10..20);
        assert_eq!(bits(&resumed), bits(&params), "{name}: resumed run differs");
        assert_eq!(fresh.state(), opt.state(), "{name}: resumed state differs");
    }
}

#[test]
fn resume_after_load_state_is_bit_identical_f64() {
    resume_is_bit_identical::<f64>();
}

#[test]
fn resume_after_load_state_is_bit_identical_f32() {
    resume_is_bit_identical::<f32>();
}

#[test]
fn state_keys_follow_pytorch_names_in_spec_order() {
    let keys = |case: Case| {
        case.make::<f64>()
            .state()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    let amsgrad = Case::Adam(AdamConfig {
        amsgrad: true,
        ..AdamConfig::default()
    });
    assert_eq!(
        keys(amsgrad),
        [
            "a.weight.step",
            "a.weight.exp_avg",
            "a.weight.exp_avg_sq",
            "a.weight.max_exp_avg_sq",
            "a.bias.step",
            "a.bias.exp_avg",
            "a.bias.exp_avg_sq",
            "a.bias.max_exp_avg_sq"
        ]
    );
    let labelled: Vec<_> = cases()
        .into_iter()
        .map(|(name, case)| (name, keys(case)))
        .collect();
    let weight_keys = |name: &str| {
        let (_, keys) = labelled.iter().find(|(n, _)| *n == name).unwrap();
        keys.iter()
            .filter(|k| k.starts_with("a.weight."))
            .map(|k| &k["a.weight.".len()..])
            .collect::<Vec<_>>()
    };
    assert_eq!(weight_keys("sgd"), ["step"]);
    assert_eq!(weight_keys("sgd momentum"), ["step", "momentum_buffer"]);
    assert_eq!(weight_keys("adagrad"), ["step", "sum"]);
    assert_eq!(weight_keys("rmsprop"), ["step", "square_avg"]);
    assert_eq!(
        weight_keys("rmsprop centered momentum weight decay"),
        ["step", "square_avg", "momentum_buffer", "grad_avg"]
    );
    assert_eq!(weight_keys("adamw"), ["step", "exp_avg", "exp_avg_sq"]);
    let state = amsgrad.make::<f64>().state();
    assert_eq!(state[0].1.shape(), &[] as &[usize]);
    assert_eq!(state[1].1.shape(), &[3, 4]);
    assert_eq!(state[5].1.shape(), &[5]);
}

#[test]
fn adagrad_state_starts_at_the_initial_accumulator_value() {
    let case = cases()
        .into_iter()
        .find(|(n, _)| *n == "adagrad lr_decay init")
        .unwrap()
        .1;
    let state = case.make::<f64>().state();
    assert_eq!(state[1].0, "a.weight.sum");
    assert!(state[1].1.iter().all(|&x| x == 0.1));
}

/// An optimizer state: named arrays.
type State = Vec<(String, ArrayD<f64>)>;

/// A trained Adam and its state, for corrupting.
fn trained() -> (Box<dyn Optimizer<f64>>, State) {
    let mut opt = Case::Adam(AdamConfig::default()).make::<f64>();
    common::run(opt.as_mut(), &mut init_params::<f64>(), 0..3);
    let state = opt.state();
    (opt, state)
}

fn load_error(state: &[(String, ArrayD<f64>)]) -> String {
    let (mut opt, before) = trained();
    let err = opt.load_state(state).unwrap_err();
    assert_eq!(opt.state(), before, "a failed load changed the state");
    err.to_string()
}

#[test]
fn a_missing_entry_is_a_typed_error() {
    let (_, mut state) = trained();
    state.retain(|(k, _)| k != "a.bias.exp_avg_sq");
    assert_eq!(
        load_error(&state),
        "adam: state entry a.bias.exp_avg_sq is missing"
    );
    let (mut opt, state) = trained();
    let err = opt.load_state(&state[..1]).unwrap_err();
    assert!(matches!(err, OptimError::MissingState { .. }));
}

#[test]
fn a_misshapen_entry_is_a_typed_error() {
    let (_, mut state) = trained();
    state[1].1 = ArrayD::zeros(vec![4, 3]);
    assert_eq!(
        load_error(&state),
        "adam: state entry a.weight.exp_avg has shape [4, 3], expected [3, 4]"
    );
    let (_, mut state) = trained();
    state[0].1 = ArrayD::zeros(vec![1]);
    assert_eq!(
        load_error(&state),
        "adam: state entry a.weight.step has shape [1], expected []"
    );
}

#[test]
fn an_extra_or_repeated_entry_is_a_typed_error() {
    let (_, mut state) = trained();
    state.push(("a.weight.max_exp_avg_sq".into(), ArrayD::zeros(vec![3, 4])));
    assert_eq!(
        load_error(&state),
        "adam: unexpected state entry a.weight.max_exp_avg_sq"
    );
    let (_, mut state) = trained();
    state.push(state[2].clone());
    assert_eq!(
        load_error(&state),
        "adam: state entry a.weight.exp_avg_sq appears twice"
    );
}

#[test]
fn an_impossible_step_count_is_a_typed_error() {
    for (value, text) in [
        (-1.0, "-1"),
        (2.5, "2.5"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
    ] {
        let (_, mut state) = trained();
        assert_eq!(state[3].0, "a.bias.step");
        state[3].1 = ArrayD::from_elem(vec![], value);
        assert_eq!(
            load_error(&state),
            format!("adam: state entry a.bias.step must be a non-negative integer, got {text}")
        );
    }
}

#[test]
fn another_optimizers_state_is_rejected() {
    let mut sgd = Case::Sgd(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::default()
    })
    .make::<f64>();
    common::run(sgd.as_mut(), &mut init_params::<f64>(), 0..2);
    assert_eq!(
        load_error(&sgd.state()),
        "adam: state entry a.weight.exp_avg is missing"
    );
    // Same optimizer, different parameter names.
    let mut other = specs();
    other[1].name = "b.bias".into();
    let mut adam = Case::Adam(AdamConfig::default())
        .build::<f64>(&other, &[])
        .unwrap();
    let (_, state) = trained();
    assert_eq!(
        adam.load_state(&state).unwrap_err().to_string(),
        "adam: state entry b.bias.step is missing"
    );
}
