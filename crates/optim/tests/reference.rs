//! Every optimizer's trajectory against a scalar f64 reference written here, independently,
//! from the formula in PyTorch's `torch.optim` documentation.

mod common;

use common::{cases, grad, init_params, Case};
use knit_optim::{Adam, AdamConfig, Optimizer, ParamSpec, Real, Sgd, SgdConfig, Slot};
use ndarray::{arr1, ArrayD};

/// Per-element reference state.
#[derive(Debug, Clone, Copy, Default)]
struct S {
    exp_avg: f64,
    exp_avg_sq: f64,
    max_exp_avg_sq: f64,
    momentum_buffer: f64,
    sum: f64,
    square_avg: f64,
    grad_avg: f64,
}

/// Adam as documented: m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) (v_max with amsgrad), p −= lr·m̂/(√v̂ + eps).
#[allow(clippy::too_many_arguments)]
fn adam_reference(
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    amsgrad: bool,
    t: i32,
    p: &mut f64,
    g: f64,
    s: &mut S,
) {
    let (b1, b2) = betas;
    s.exp_avg = b1 * s.exp_avg + (1.0 - b1) * g;
    s.exp_avg_sq = b2 * s.exp_avg_sq + (1.0 - b2) * g * g;
    let v = if amsgrad {
        s.max_exp_avg_sq = s.max_exp_avg_sq.max(s.exp_avg_sq);
        s.max_exp_avg_sq
    } else {
        s.exp_avg_sq
    };
    let m_hat = s.exp_avg / (1.0 - b1.powi(t));
    let v_hat = v / (1.0 - b2.powi(t));
    *p -= lr * m_hat / (v_hat.sqrt() + eps);
}

/// One reference update of one element at step `t` (1-based).
fn reference_step(case: Case, t: usize, p: &mut f64, g: f64, s: &mut S) {
    match case {
        Case::Sgd(c) => {
            let mut d = g + c.weight_decay * *p;
            if c.momentum != 0.0 {
                s.momentum_buffer = if t == 1 {
                    d
                } else {
                    c.momentum * s.momentum_buffer + (1.0 - c.dampening) * d
                };
                d = if c.nesterov {
                    d + c.momentum * s.momentum_buffer
                } else {
                    s.momentum_buffer
                };
            }
            *p -= c.lr * d;
        }
        Case::Adagrad(c) => {
            let g = g + c.weight_decay * *p;
            let clr = c.lr / (1.0 + (t as f64 - 1.0) * c.lr_decay);
            s.sum += g * g;
            *p -= clr * g / (s.sum.sqrt() + c.eps);
        }
        Case::Rmsprop(c) => {
            let g = g + c.weight_decay * *p;
            s.square_avg = c.alpha * s.square_avg + (1.0 - c.alpha) * g * g;
            let v = if c.centered {
                s.grad_avg = c.alpha * s.grad_avg + (1.0 - c.alpha) * g;
                s.square_avg - s.grad_avg * s.grad_avg
            } else {
                s.square_avg
            };
            let denom = v.sqrt() + c.eps;
            if c.momentum > 0.0 {
                s.momentum_buffer = c.momentum * s.momentum_buffer + g / denom;
                *p -= c.lr * s.momentum_buffer;
            } else {
                *p -= c.lr * g / denom;
            }
        }
        Case::Adam(c) => {
            let g = g + c.weight_decay * *p;
            adam_reference(c.lr, c.betas, c.eps, c.amsgrad, t as i32, p, g, s);
        }
        Case::AdamW(c) => {
            *p *= 1.0 - c.lr * c.weight_decay;
            adam_reference(c.lr, c.betas, c.eps, c.amsgrad, t as i32, p, g, s);
        }
    }
}

fn initial_state(case: Case) -> S {
    match case {
        Case::Adagrad(c) => S {
            sum: c.initial_accumulator_value,
            ..S::default()
        },
        _ => S::default(),
    }
}

const STEPS: usize = 30;

/// Runs `case` in `F` and the reference in f64 side by side; returns the largest error
/// `|x − r| / (|r| + floor)` seen over all steps and elements, and how far the reference moved.
fn compare<F: Real>(case: Case, floor: f64) -> (f64, f64) {
    let mut opt = case.make::<F>();
    let mut params = init_params::<F>();
    let mut reference: Vec<Vec<f64>> = init_params::<f64>()
        .iter()
        .map(|a| a.iter().copied().collect())
        .collect();
    let start = reference.clone();
    let mut states: Vec<Vec<S>> = reference
        .iter()
        .map(|p| vec![initial_state(case); p.len()])
        .collect();
    let mut worst = 0.0f64;
    for t in 0..STEPS {
        for (i, (ps, ss)) in reference.iter_mut().zip(&mut states).enumerate() {
            for (k, (p, s)) in ps.iter_mut().zip(ss.iter_mut()).enumerate() {
                let g = grad(t, i, k, *p);
                reference_step(case, t + 1, p, g, s);
            }
        }
        common::step(opt.as_mut(), &mut params, t).unwrap();
        for (array, r) in params.iter().zip(&reference) {
            for (x, r) in array.iter().zip(r) {
                worst = worst.max((x.to_f64().unwrap() - r).abs() / (r.abs() + floor));
            }
        }
    }
    let moved = reference
        .iter()
        .flatten()
        .zip(start.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    (worst, moved)
}

#[test]
fn f64_trajectories_match_the_documented_formulas_to_1e_6_relative() {
    for (name, case) in cases() {
        let (worst, moved) = compare::<f64>(case, 1e-12);
        assert!(moved > 1e-2, "{name}: the reference barely moves ({moved})");
        assert!(
            worst < 1e-6,
            "{name}: relative error {worst:e} over {STEPS} steps"
        );
    }
}

#[test]
fn f32_trajectories_follow_the_f64_references_loosely() {
    for (name, case) in cases() {
        let (worst, _) = compare::<f32>(case, 1e-2);
        assert!(
            worst < 1e-4,
            "{name}: f32 error {worst:e} over {STEPS} steps"
        );
    }
}

#[test]
fn state_holds_the_documented_buffers() {
    // After 3 SGD-momentum steps with constant gradient g, the buffer is g·(1 + μ + μ²).
    let specs = [ParamSpec::new("w", &[2])];
    let config = SgdConfig {
        lr: 0.1,
        momentum: 0.5,
        ..SgdConfig::default()
    };
    let mut opt = Sgd::<f64>::new(&specs, &[], config).unwrap();
    let mut w = arr1(&[1.0, -2.0]).into_dyn();
    let g = arr1(&[0.5, 2.0]).into_dyn();
    for _ in 0..3 {
        opt.step(&mut [Slot::new(w.view_mut(), g.view())]).unwrap();
    }
    let state = opt.state();
    assert_eq!(
        state[0],
        ("w.step".to_string(), ArrayD::from_elem(vec![], 3.0))
    );
    assert_eq!(state[1], ("w.momentum_buffer".to_string(), (&g * 1.75)));
    // p = p0 − lr·g·(1 + 1.5 + 1.75)
    assert_eq!(
        w,
        arr1(&[1.0 - 0.1 * 0.5 * 4.25, -2.0 - 0.1 * 2.0 * 4.25]).into_dyn()
    );
}

#[test]
fn adam_first_step_moves_each_element_by_lr_against_the_gradient_sign() {
    // m̂ = g and v̂ = g² at t = 1, so the first step is lr·g/(|g| + eps) ≈ lr·sign(g).
    let specs = [ParamSpec::new("w", &[4])];
    let mut opt = Adam::<f64>::new(
        &specs,
        &[],
        AdamConfig {
            lr: 0.01,
            ..AdamConfig::default()
        },
    )
    .unwrap();
    let mut w = arr1(&[0.0, 0.0, 0.0, 0.0]).into_dyn();
    let g = arr1(&[1e-3, -5.0, 300.0, -0.2]).into_dyn();
    opt.step(&mut [Slot::new(w.view_mut(), g.view())]).unwrap();
    for (x, g) in w.iter().zip(&g) {
        assert!((x + 0.01 * g.signum()).abs() < 1e-7, "{x} for g = {g}");
    }
}
