//! Truncated normal: every value inside [a, b], and the sample moments match the moments
//! of the truncated distribution.

mod common;

use common::{check_moments, simpson, truncated_normal_moments};
use knit_init::{initialize, TruncatedNormal};
use proptest::prelude::*;

/// Draws `shape` from `init` and checks support and moments.
fn check(init: TruncatedNormal, shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let values = initialize(&init, shape, seed, "trunc").unwrap();
    let (a, b) = (init.a(), init.b());
    let outside = values.iter().find(|&&v| !(a <= v && v <= b));
    prop_assert!(
        outside.is_none(),
        "{outside:?} outside [{a}, {b}] for {init:?}"
    );
    let m = truncated_normal_moments(
        f64::from(init.mean()),
        f64::from(init.std()),
        f64::from(a),
        f64::from(b),
    );
    check_moments(&format!("{init:?}"), &values, m.mean, m.std, m.kurtosis)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn values_stay_in_bounds_with_truncated_moments(
        out in 16usize..300,
        inp in 16usize..300,
        mean in -1.0f32..1.0,
        std in 0.1f32..2.0,
        alpha in -3.0f32..1.5,
        width in 0.2f32..4.0,
        seed in any::<u64>(),
    ) {
        let a = mean + std * alpha;
        let b = a + std * width;
        check(TruncatedNormal::new(mean, std, a, b).unwrap(), &[out, inp], seed)?;
    }
}

#[test]
fn default_is_standard_normal_cut_at_two() {
    let init = TruncatedNormal::default();
    assert_eq!(
        (init.mean(), init.std(), init.a(), init.b()),
        (0.0, 1.0, -2.0, 2.0)
    );
    // Known values: Var = 1 − 2·2φ(2)/(Φ(2) − Φ(−2)) ≈ 0.773741.
    let m = truncated_normal_moments(0.0, 1.0, -2.0, 2.0);
    assert!(m.mean.abs() < 1e-12);
    assert!((m.std * m.std - 0.773_741).abs() < 1e-5, "{m:?}");
    check(init, &[256, 784], 1).unwrap();
}

#[test]
fn closed_form_moments_agree_with_numerical_integration() {
    for (a, b) in [
        (-2.0, 2.0),
        (-0.5, 3.0),
        (1.0, 1.5),
        (6.0, 6.5),
        (-8.0, -7.0),
    ] {
        let m = truncated_normal_moments(0.0, 1.0, a, b);
        let z = simpson(common::phi, a, b);
        let mean = simpson(|x| x * common::phi(x), a, b) / z;
        let var = simpson(|x| (x - mean).powi(2) * common::phi(x), a, b) / z;
        assert!(
            (m.mean - mean).abs() < 1e-9,
            "[{a}, {b}]: {} vs {mean}",
            m.mean
        );
        assert!(
            (m.std.powi(2) - var).abs() < 1e-9 * var.max(1.0),
            "[{a}, {b}]"
        );
    }
}

#[test]
fn half_normal_from_one_sided_bounds() {
    // [0, ∞): mean √(2/π), variance 1 − 2/π.
    let init = TruncatedNormal::new(0.0, 1.0, 0.0, f32::INFINITY).unwrap();
    let m = truncated_normal_moments(0.0, 1.0, 0.0, f64::INFINITY);
    let pi = std::f64::consts::PI;
    assert!((m.mean - (2.0 / pi).sqrt()).abs() < 1e-9);
    assert!((m.std.powi(2) - (1.0 - 2.0 / pi)).abs() < 1e-9);
    check(init, &[200, 200], 2).unwrap();
    // (−∞, 1]
    check(
        TruncatedNormal::new(0.0, 1.0, f32::NEG_INFINITY, 1.0).unwrap(),
        &[200, 200],
        3,
    )
    .unwrap();
}

#[test]
fn far_tails_are_sampled_exactly() {
    // Inverse-CDF sampling loses all precision here; rejection sampling does not.
    for (mean, std, a, b) in [
        (0.0, 1.0, 6.0, 6.5),
        (0.0, 1.0, -9.0, -8.0),
        (0.0, 1.0, 3.0, f32::INFINITY),
        (1.0, 0.5, 4.0, 4.001),
    ] {
        check(
            TruncatedNormal::new(mean, std, a, b).unwrap(),
            &[100, 300],
            4,
        )
        .unwrap();
    }
}

#[test]
fn small_std_with_default_bounds_is_a_plain_normal() {
    // PyTorch's absolute-bounds gotcha: std 0.02 with [−2, 2] truncates at ±100σ.
    let init = TruncatedNormal::new(0.0, 0.02, -2.0, 2.0).unwrap();
    let values = initialize(&init, &[256, 784], 5, "vit").unwrap();
    check_moments("std 0.02", &values, 0.0, 0.02, common::NORMAL_KURTOSIS).unwrap();
}
