//! The `cliff` example's outcome: an unclipped SGD step off the cliff throws the parameter onto
//! a plateau it never leaves; clipping the gradient lets SGD converge.

#[allow(dead_code)]
#[path = "../examples/cliff.rs"]
mod example;

use example::{descend, loss, runs, slope, Clip, Outcome, W0};

fn outcome(name: &str) -> Outcome {
    let (_, config, clip) = runs().into_iter().find(|(n, _, _)| *n == name).unwrap();
    descend(config, clip).unwrap()
}

#[test]
fn the_wall_has_a_huge_gradient() {
    assert!(slope(W0).abs() > 1000.0);
    assert!(slope(3.0).abs() < 1e-12 && loss(3.0).abs() < 1e-12);
    assert!(slope(1000.0) == 0.0, "far away the loss is a flat plateau");
}

#[test]
fn unclipped_sgd_is_thrown_off_and_never_returns() {
    let o = outcome("SGD lr 0.5, unclipped");
    assert!(o.first > 500.0, "thrown only to {}", o.first);
    assert!((o.last - 3.0).abs() > 500.0, "came back to {}", o.last);
    assert!(o.loss > 0.99);
    assert_eq!(o.reached, None);
}

#[test]
fn clipped_sgd_converges() {
    for name in [
        "SGD lr 0.5, clip_grad_norm 1",
        "SGD lr 0.5, clip_grad_value 1",
    ] {
        let o = outcome(name);
        assert!(
            (o.first - W0 - 0.5).abs() < 1e-9,
            "{name}: first step {} should be lr·1",
            o.first
        );
        assert!((o.last - 3.0).abs() < 1e-6, "{name}: ended at {}", o.last);
        assert!(o.loss < 1e-12, "{name}");
        assert!(
            o.reached.is_some_and(|t| t < 100),
            "{name}: {:?}",
            o.reached
        );
    }
}

#[test]
fn adam_is_not_thrown_but_the_spike_slows_it_until_clipped() {
    let unclipped = outcome("Adam lr 0.1, unclipped");
    assert!(
        (unclipped.first - W0 - 0.1).abs() < 1e-6,
        "Adam's first step is lr: {}",
        unclipped.first
    );
    assert!(unclipped.last > W0 && unclipped.last < 3.0, "{unclipped:?}");
    assert_eq!(unclipped.reached, None);
    let clipped = outcome("Adam lr 0.1, clip_grad_norm 1");
    assert!(clipped.reached.is_some_and(|t| t < 200), "{clipped:?}");
    assert!(matches!(runs()[3].2, Clip::None));
}
