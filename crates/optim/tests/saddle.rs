//! The `saddle` example's outcome: momentum and the adaptive methods leave the saddle of
//! x² − y² faster than plain SGD; nobody leaves from exactly on the ridge.

#[allow(dead_code)]
#[path = "../examples/saddle.rs"]
mod example;

use example::{configs, escape};

#[test]
fn momentum_and_adaptive_methods_leave_the_saddle_faster_than_sgd() {
    let steps = |name: &str, y0: f64| {
        let config = configs().into_iter().find(|(n, _)| *n == name).unwrap().1;
        escape(config, y0).unwrap()
    };
    let sgd = steps("SGD", 1e-6).expect("SGD leaves eventually");
    // (1 + 2·lr)^t > 10⁶ ⇒ t = ⌈ln 10⁶ / ln 1.02⌉ = 698.
    assert_eq!(sgd, 698);
    for name in ["momentum 0.9", "Nesterov 0.9", "RMSProp", "Adam"] {
        let s = steps(name, 1e-6).unwrap();
        assert!(2 * s < sgd, "{name}: {s} steps vs SGD's {sgd}");
    }
    // Adam and RMSProp normalize the gradient: how close to the ridge they start barely matters.
    for name in ["RMSProp", "Adam"] {
        let (near, far) = (steps(name, 1e-6).unwrap(), steps(name, 1e-3).unwrap());
        assert!(near <= far + 5, "{name}: {near} vs {far}");
    }
    // SGD's time to leave is logarithmic in the distance from the ridge.
    assert!(steps("SGD", 1e-3).unwrap() < sgd);
    // AdaGrad does leave, though its ever-growing accumulator makes it the slowest.
    assert!(steps("AdaGrad", 1e-6).unwrap() > sgd);
    // Exactly on the ridge the gradient along y is zero: no first-order method leaves.
    for (name, config) in configs() {
        assert_eq!(escape(config, 0.0).unwrap(), None, "{name}");
    }
}
