//! Properties over random parameters, gradients and hyper-parameters.

mod common;

use common::Case;
use knit_optim::{
    AdagradConfig, AdamConfig, AdamWConfig, Optimizer, ParamSpec, RmspropConfig, Sgd, SgdConfig,
    Slot,
};
use ndarray::{arr1, Array2, ArrayD};
use proptest::prelude::*;

/// A random configuration of a random optimizer.
fn any_case() -> impl Strategy<Value = Case> {
    let unit = 0.0f64..0.99;
    prop_oneof![
        (unit.clone(), 0.0f64..1.0, 0.0f64..0.5, any::<bool>()).prop_map(
            |(momentum, dampening, weight_decay, nesterov)| {
                let nesterov = nesterov && momentum > 0.0;
                let dampening = if nesterov { 0.0 } else { dampening };
                Case::Sgd(SgdConfig {
                    lr: 0.1,
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                })
            }
        ),
        (0.0f64..1.0, 0.0f64..0.5, 0.0f64..1.0).prop_map(
            |(lr_decay, weight_decay, initial_accumulator_value)| {
                Case::Adagrad(AdagradConfig {
                    lr: 0.1,
                    lr_decay,
                    weight_decay,
                    initial_accumulator_value,
                    eps: 1e-10,
                })
            }
        ),
        (unit.clone(), 0.0f64..0.5, unit.clone(), any::<bool>()).prop_map(
            |(alpha, weight_decay, momentum, centered)| {
                Case::Rmsprop(RmspropConfig {
                    lr: 0.1,
                    alpha,
                    eps: 1e-8,
                    weight_decay,
                    momentum,
                    centered,
                })
            }
        ),
        (unit.clone(), unit.clone(), 0.0f64..0.5, any::<bool>()).prop_map(
            |(b1, b2, weight_decay, amsgrad)| {
                Case::Adam(AdamConfig {
                    lr: 0.1,
                    betas: (b1, b2),
                    eps: 1e-8,
                    weight_decay,
                    amsgrad,
                })
            }
        ),
        (unit.clone(), unit, 0.0f64..0.5, any::<bool>()).prop_map(
            |(b1, b2, weight_decay, amsgrad)| {
                Case::AdamW(AdamWConfig {
                    lr: 0.1,
                    betas: (b1, b2),
                    eps: 1e-8,
                    weight_decay,
                    amsgrad,
                })
            }
        ),
    ]
}

fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-10.0f64..10.0, n)
}

proptest! {
    #[test]
    fn with_lr_zero_no_optimizer_moves_the_parameters(
        case in any_case(),
        p in values(6),
        grads in prop::collection::vec(values(6), 1..6),
    ) {
        let specs = [ParamSpec::new("w", &[2, 3])];
        let mut opt = case.with_lr(0.0).build::<f64>(&specs, &[]).unwrap();
        let p0 = ArrayD::from_shape_vec(vec![2, 3], p).unwrap();
        let mut w = p0.clone();
        for g in grads {
            let g = ArrayD::from_shape_vec(vec![2, 3], g).unwrap();
            opt.step(&mut [Slot::new(w.view_mut(), g.view())]).unwrap();
        }
        prop_assert_eq!(w, p0);
    }

    #[test]
    fn sgd_without_momentum_is_exactly_p_minus_lr_g_f32(
        p in prop::collection::vec(-100.0f32..100.0, 1..40),
        g_seed in prop::collection::vec(-100.0f32..100.0, 40),
        lr in 0.0f64..2.0,
    ) {
        let n = p.len();
        let specs = [ParamSpec::new("w", &[n])];
        let mut opt = Sgd::<f32>::new(&specs, &[], SgdConfig { lr, ..SgdConfig::default() }).unwrap();
        let g = arr1(&g_seed[..n]).into_dyn();
        let mut w = arr1(&p).into_dyn();
        opt.step(&mut [Slot::new(w.view_mut(), g.view())]).unwrap();
        let lr32 = lr as f32;
        for ((x, p), g) in w.iter().zip(&p).zip(&g) {
            prop_assert_eq!(x.to_bits(), (p - lr32 * g).to_bits());
        }
    }

    #[test]
    fn sgd_without_momentum_is_exactly_p_minus_lr_g_f64(p in values(8), g in values(8), lr in 0.0f64..2.0) {
        let specs = [ParamSpec::new("w", &[8])];
        let mut opt = Sgd::<f64>::new(&specs, &[], SgdConfig { lr, ..SgdConfig::default() }).unwrap();
        let g = arr1(&g).into_dyn();
        let mut w = arr1(&p).into_dyn();
        opt.step(&mut [Slot::new(w.view_mut(), g.view())]).unwrap();
        for ((x, p), g) in w.iter().zip(&p).zip(&g) {
            prop_assert_eq!(x.to_bits(), (p - lr * g).to_bits());
        }
    }

    /// A transposed (non-contiguous) parameter and gradient give bit-identical results to the
    /// same values in standard layout: the scratch path is the same arithmetic.
    #[test]
    fn non_contiguous_slots_match_contiguous_ones(
        case in any_case(),
        p in values(12),
        grads in prop::collection::vec(values(12), 1..4),
    ) {
        let specs = [ParamSpec::new("w", &[4, 3])];
        let mut a = case.build::<f64>(&specs, &[]).unwrap();
        let mut b = case.build::<f64>(&specs, &[]).unwrap();
        let mut contiguous = Array2::from_shape_vec((4, 3), p.clone()).unwrap();
        // Same logical values, stored column-major.
        let mut transposed = Array2::from_shape_vec((3, 4), p).unwrap();
        transposed.assign(&contiguous.t());
        let mut strided = transposed.reversed_axes();
        prop_assert!(!strided.is_standard_layout());
        for g in grads {
            let g = Array2::from_shape_vec((4, 3), g).unwrap();
            let mut gt = Array2::zeros((3, 4));
            gt.assign(&g.t());
            let g_strided = gt.reversed_axes();
            a.step(&mut [Slot::new(contiguous.view_mut().into_dyn(), g.view().into_dyn())]).unwrap();
            b.step(&mut [Slot::new(strided.view_mut().into_dyn(), g_strided.view().into_dyn())]).unwrap();
        }
        let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&contiguous), bits(&strided));
        prop_assert_eq!(a.state(), b.state());
    }
}
