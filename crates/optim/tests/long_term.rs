//! The `long_term` example's outcome: ‖W⁵⁰‖ vanishes for spectral radius 0.9, explodes for
//! 1.1, and stays at 1 for an orthogonal W from `knit_init::Orthogonal`.

#[allow(dead_code)]
#[path = "../examples/long_term.rs"]
mod example;

use example::{jacobian_norms, spectral_radius, weights, T};

#[test]
fn jacobian_products_vanish_explode_or_stay_at_one() {
    let weights = weights().unwrap();
    let norms = |name: &str| {
        let (_, w) = weights.iter().find(|(n, _)| n == name).unwrap();
        (spectral_radius(w), jacobian_norms(w))
    };

    let (rho, n) = norms("0.9 · orthogonal");
    assert!((rho - 0.9).abs() < 1e-4, "{rho}");
    assert!(n[T] < 0.01, "vanishes: {}", n[T]);
    assert!(
        (n[T] / 0.9f64.powi(50) - 1.0).abs() < 1e-3,
        "exactly 0.9⁵⁰: {}",
        n[T]
    );

    let (rho, n) = norms("1.1 · orthogonal");
    assert!((rho - 1.1).abs() < 1e-4, "{rho}");
    assert!(n[T] > 100.0, "explodes: {}", n[T]);
    assert!(
        (n[T] / 1.1f64.powi(50) - 1.0).abs() < 1e-3,
        "exactly 1.1⁵⁰: {}",
        n[T]
    );

    let (rho, n) = norms("orthogonal");
    assert!((rho - 1.0).abs() < 1e-4, "{rho}");
    for (t, x) in n.iter().enumerate() {
        assert!((x - 1.0).abs() < 1e-4, "‖W^{t}‖ = {x}");
    }

    let (_, n) = norms("Gaussian rescaled to ρ = 0.9");
    assert!(n[T] < 0.05, "{}", n[T]);
    let (_, n) = norms("Gaussian rescaled to ρ = 1.1");
    assert!(n[T] > 50.0, "{}", n[T]);
}
