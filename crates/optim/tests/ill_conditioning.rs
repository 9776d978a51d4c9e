//! The `ill_conditioning` example's outcome: SGD's step count grows with κ, the adaptive
//! methods' does not.

#[allow(dead_code)]
#[path = "../examples/ill_conditioning.rs"]
mod example;

use example::{table, KAPPAS, MAX_STEPS, NAMES};

#[test]
fn sgd_slows_with_kappa_while_adaptive_methods_do_not() {
    let table = table().unwrap();
    let steps = |name: &str| -> Vec<usize> {
        let row = NAMES.iter().position(|n| n.starts_with(name)).unwrap();
        table[row]
            .iter()
            .map(|s| s.unwrap_or(MAX_STEPS + 1))
            .collect()
    };
    let sgd = steps("SGD");
    assert!(
        sgd.windows(2).all(|w| w[0] < w[1]),
        "SGD should slow down with κ: {sgd:?}"
    );
    // Roughly linear in κ: from κ = 10 to κ = 1000 at least 30× more steps.
    assert!(sgd[3] > 30 * sgd[1], "{sgd:?}");
    assert!(
        sgd[3] < MAX_STEPS,
        "SGD at κ = 1000 should still converge within the cap: {sgd:?}"
    );

    let momentum = steps("momentum");
    assert!(momentum.windows(2).all(|w| w[0] <= w[1]), "{momentum:?}");
    // Tuned heavy ball grows like √κ: far better than SGD at κ = 1000.
    assert!(
        5 * momentum[3] < sgd[3],
        "momentum {momentum:?} vs SGD {sgd:?}"
    );

    for name in ["AdaGrad", "RMSProp", "Adam"] {
        let s = steps(name);
        let (lo, hi) = (*s.iter().min().unwrap(), *s.iter().max().unwrap());
        assert!(hi <= MAX_STEPS, "{name} should converge at every κ: {s:?}");
        assert!(
            hi * 2 <= lo * 3,
            "{name} should be nearly insensitive to κ: {s:?}"
        );
        assert!(
            10 * s[3] < sgd[3],
            "{name} at κ = 1000 should beat SGD tenfold: {s:?} vs {sgd:?}"
        );
    }
    assert_eq!(KAPPAS.len(), table[0].len());
}
