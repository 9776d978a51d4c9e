//! Gradient clipping: PyTorch's formulas on hand-checked numbers, and properties.

use knit_optim::{clip_grad_norm, clip_grad_norm_with, clip_grad_value, grad_norm, NormType};
use ndarray::{arr1, arr2, ArrayD, ArrayViewMutD};
use proptest::prelude::*;

fn views(arrays: &mut [ArrayD<f64>]) -> Vec<ArrayViewMutD<'_, f64>> {
    arrays.iter_mut().map(|a| a.view_mut()).collect()
}

fn norm2(arrays: &[ArrayD<f64>]) -> f64 {
    arrays.iter().flatten().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn clip_grad_norm_scales_by_max_norm_over_norm_plus_1e_6() {
    // Global norm over both arrays: √(3² + 4² + 12²) = 13.
    let mut g = vec![arr1(&[3.0, 4.0]).into_dyn(), arr2(&[[12.0]]).into_dyn()];
    let total = clip_grad_norm(&mut views(&mut g), 1.0).unwrap();
    assert_eq!(total, 13.0);
    let coef = 1.0 / (13.0 + 1e-6);
    assert_eq!(g[0], arr1(&[3.0 * coef, 4.0 * coef]).into_dyn());
    assert_eq!(g[1], arr2(&[[12.0 * coef]]).into_dyn());
    assert!(norm2(&g) < 1.0);
}

#[test]
fn clip_grad_norm_other_norms() {
    let mut g = vec![arr1(&[3.0, -4.0]).into_dyn(), arr1(&[1.0]).into_dyn()];
    let inf = clip_grad_norm_with(&mut views(&mut g), 2.0, NormType::Inf).unwrap();
    assert_eq!(inf, 4.0);
    assert_eq!(g[0][[1]], -4.0 * (2.0 / (4.0 + 1e-6)));
    let mut g = vec![arr1(&[3.0, -4.0]).into_dyn(), arr1(&[1.0]).into_dyn()];
    let l1 = clip_grad_norm_with(&mut views(&mut g), 100.0, NormType::P(1.0)).unwrap();
    assert_eq!(l1, 8.0);
    assert_eq!(g[0], arr1(&[3.0, -4.0]).into_dyn());
    let views: Vec<_> = g.iter().map(|a| a.view()).collect();
    assert_eq!(grad_norm(&views, NormType::L2).unwrap(), 26f64.sqrt());
}

#[test]
fn clip_grad_value_clamps_each_element() {
    let mut g = vec![arr1(&[-3.0, 0.5, 2.0, f64::NAN]).into_dyn()];
    clip_grad_value(&mut views(&mut g), 1.0).unwrap();
    assert_eq!(
        g[0].iter().take(3).copied().collect::<Vec<_>>(),
        [-1.0, 0.5, 1.0]
    );
    assert!(g[0][[3]].is_nan());
}

#[test]
fn non_contiguous_gradients_are_clipped_too() {
    let mut a = arr2(&[[3.0, 0.0], [4.0, 0.0]]).into_dyn();
    a.swap_axes(0, 1);
    let mut g = vec![a];
    assert_eq!(clip_grad_norm(&mut views(&mut g), 1.0).unwrap(), 5.0);
    assert!((norm2(&g) - 1.0).abs() < 1e-6);
    clip_grad_value(&mut views(&mut g), 0.1).unwrap();
    assert_eq!(g[0].iter().copied().fold(0.0, f64::max), 0.1);
}

#[test]
fn invalid_arguments_are_typed_errors() {
    let mut g = vec![arr1(&[1.0]).into_dyn()];
    assert_eq!(
        clip_grad_norm(&mut views(&mut g), -1.0)
            .unwrap_err()
            .to_string(),
        "clip_grad_norm: max_norm must be >= 0, got -1"
    );
    assert_eq!(
        clip_grad_norm_with(&mut views(&mut g), 1.0, NormType::P(0.0))
            .unwrap_err()
            .to_string(),
        "clip_grad_norm: p must be > 0 and finite, got 0"
    );
    assert_eq!(
        clip_grad_value(&mut views(&mut g), f64::NAN)
            .unwrap_err()
            .to_string(),
        "clip_grad_value: clip must be >= 0, got NaN"
    );
    assert_eq!(g[0][[0]], 1.0);
}

fn gradients() -> impl Strategy<Value = Vec<ArrayD<f64>>> {
    prop::collection::vec(prop::collection::vec(-1e3f64..1e3, 0..20), 1..4)
        .prop_map(|vs| vs.into_iter().map(|v| arr1(&v).into_dyn()).collect())
}

proptest! {
    #[test]
    fn clip_grad_norm_never_increases_any_element_or_the_norm(mut g in gradients(), max_norm in 0.0f64..2e3) {
        let before = g.clone();
        let total = clip_grad_norm(&mut views(&mut g), max_norm).unwrap();
        prop_assert!((total - norm2(&before)).abs() <= 1e-9 * total.max(1.0));
        for (a, b) in g.iter().flatten().zip(before.iter().flatten()) {
            prop_assert!(a.abs() <= b.abs());
        }
        prop_assert!(norm2(&g) <= norm2(&before));
        prop_assert!(norm2(&g) <= max_norm * (1.0 + 1e-12));
    }

    #[test]
    fn clip_grad_norm_leaves_small_gradients_bit_identical(mut g in gradients(), slack in 1e-6f64..10.0) {
        // Untouched exactly when coef = max_norm/(N + 1e-6) >= 1.
        let max_norm = norm2(&g) + slack + 1e-6;
        let before: Vec<u64> = g.iter().flatten().map(|x| x.to_bits()).collect();
        clip_grad_norm(&mut views(&mut g), max_norm).unwrap();
        let after: Vec<u64> = g.iter().flatten().map(|x| x.to_bits()).collect();
        prop_assert_eq!(after, before);
    }

    #[test]
    fn clip_grad_value_bounds_every_element(mut g in gradients(), clip in 0.0f64..500.0) {
        let before = g.clone();
        clip_grad_value(&mut views(&mut g), clip).unwrap();
        for (a, b) in g.iter().flatten().zip(before.iter().flatten()) {
            prop_assert!(a.abs() <= clip);
            if b.abs() <= clip {
                prop_assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }

    #[test]
    fn clip_grad_norm_f32_never_increases_the_norm(v in prop::collection::vec(-1e3f32..1e3, 1..64), max_norm in 0.0f32..100.0) {
        let mut g = [arr1(&v).into_dyn()];
        let n = |a: &ArrayD<f32>| a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        let before = n(&g[0]);
        clip_grad_norm(&mut g.iter_mut().map(|a| a.view_mut()).collect::<Vec<_>>(), max_norm).unwrap();
        prop_assert!(n(&g[0]) <= before);
        prop_assert!(n(&g[0]) <= f64::from(max_norm) * (1.0 + 1e-5));
    }
}
