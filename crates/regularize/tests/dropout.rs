//! Dropout: expectation preserved, identity in evaluation, masks reproducible per step, and
//! the gradient checked against finite differences with the step's mask fixed.

use knit_regularize::{dropout, Dropout};
use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

fn graph(p: f64, features: usize) -> (Graph, knit_tensor::NodeId, knit_tensor::NodeId) {
    let mut g = Graph::new();
    let x = g.input("x", &[features]).unwrap();
    let d = dropout(&mut g, "drop", x, p, 11).unwrap();
    (g, x, d)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn training_preserves_the_expectation_and_zeroes_the_ratio(p in 0.05f64..0.9, step in 0u64..1000) {
        // 200,000 ones: the output mean is 1 in expectation; the share of zeros is p.
        let n = 200_000;
        let (g, x, d) = graph(p, n);
        let mut exec = Executor::<f64>::new(&g);
        exec.set_step(step);
        exec.set_input(x, ArrayD::ones(IxDyn(&[1, n])).view()).unwrap();
        exec.run(d, Mode::Train).unwrap();
        let out = exec.value(d).unwrap();
        let mean = out.mean().unwrap();
        let zeros = out.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        let kept_value = 1.0 / (1.0 - p);
        prop_assert!(out.iter().all(|&v| v == 0.0 || (v - kept_value).abs() < 1e-12));
        // Binomial spread: sd(zeros) = sqrt(p(1-p)/n) ≤ 0.0012; allow 6 sd.
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        prop_assert!((zeros - p).abs() < 6.0 * sd, "zeros {} vs p {}", zeros, p);
        prop_assert!((mean - 1.0).abs() < 6.0 * sd * kept_value, "mean {}", mean);
    }

    #[test]
    fn evaluation_is_the_identity(p in 0.0f64..0.95, values in prop::collection::vec(-5.0f64..5.0, 1..50)) {
        let (g, x, d) = graph(p, values.len());
        let mut exec = Executor::<f64>::new(&g);
        let input = ArrayD::from_shape_vec(IxDyn(&[1, values.len()]), values).unwrap();
        exec.set_input(x, input.view()).unwrap();
        exec.run(d, Mode::Eval).unwrap();
        prop_assert_eq!(exec.value(d).unwrap(), input.view());
    }

    #[test]
    fn the_gradient_matches_finite_differences_with_the_mask_fixed(
        p in 0.1f64..0.8, step in 0u64..100, values in prop::collection::vec(-2.0f64..2.0, 2..30)
    ) {
        let n = values.len();
        let mut g = Graph::new();
        let x = g.input("x", &[n]).unwrap();
        let d = dropout(&mut g, "drop", x, p, 3).unwrap();
        let t = g.tanh(d).unwrap();
        let loss = g.sum(t, None).unwrap();
        let mut exec = Executor::<f64>::new(&g);
        exec.set_step(step);
        exec.set_input(x, ArrayD::from_shape_vec(IxDyn(&[1, n]), values).unwrap().view()).unwrap();
        let report = gradcheck(&mut exec, loss, &[x], &GradCheckConfig::default()).unwrap();
        prop_assert!(report.passed(), "\n{}", report);
    }
}

#[test]
fn masks_depend_on_the_step_and_seed_only() {
    let run = |seed: u64, step: u64| {
        let mut g = Graph::new();
        let x = g.input("x", &[64]).unwrap();
        let rate = g.constant("p", ArrayD::from_elem(IxDyn(&[]), 0.5)).unwrap();
        let d = g.op(Some("drop"), Dropout { seed }, &[x, rate]).unwrap();
        let mut exec = Executor::<f32>::new(&g);
        exec.set_step(step);
        exec.set_input(x, ArrayD::ones(IxDyn(&[2, 64])).view())
            .unwrap();
        exec.run(d, Mode::Train).unwrap();
        let first = exec.value(d).unwrap().to_owned();
        exec.run(d, Mode::Train).unwrap();
        assert_eq!(
            exec.value(d).unwrap(),
            first,
            "recomputing a step must give the same mask"
        );
        first
    };
    assert_eq!(run(1, 5), run(1, 5));
    assert_ne!(run(1, 5), run(1, 6));
    assert_ne!(run(1, 5), run(2, 5));
}

#[test]
fn the_ratio_can_follow_a_schedule_and_is_validated() {
    let (g, x, d) = graph(0.5, 10_000);
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(x, ArrayD::ones(IxDyn(&[1, 10_000])).view())
        .unwrap();
    exec.set_constant("drop.p", ArrayD::from_elem(IxDyn(&[]), 0.0).view())
        .unwrap();
    exec.run(d, Mode::Train).unwrap();
    assert!(exec.value(d).unwrap().iter().all(|&v| v == 1.0));
    exec.set_constant("drop.p", ArrayD::from_elem(IxDyn(&[]), 1.5).view())
        .unwrap();
    assert_eq!(
        exec.run(d, Mode::Train).unwrap_err().to_string(),
        "dropout 'drop': the ratio must be in [0, 1), got 1.5"
    );
    let mut g2 = Graph::new();
    let x2 = g2.input("x", &[2]).unwrap();
    assert_eq!(
        dropout(&mut g2, "d", x2, 1.0, 0).unwrap_err().to_string(),
        "dropout: the ratio must be in [0, 1), got 1"
    );
}
