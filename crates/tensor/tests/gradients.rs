//! Every op's analytic gradient against fourth-order central finite differences in f64:
//! an element passes when |a − n| ≤ 1e-6 · max(|a|, |n|) or |a − n| ≤ 1e-9.
//!
//! Kinks (relu, leaky relu, |x|) are avoided by drawing inputs with |x| ≥ 0.05, far beyond
//! the 2h = 2e-4 reach of the stencil; divisors are kept at |b| ≥ 0.5.

mod common;

use common::*;
use knit_tensor::ops::{BatchNorm, Pointwise};
use knit_tensor::{Graph, Mode};
use ndarray::ArrayD;
use proptest::prelude::*;

fn pointwise_case(
    f: Pointwise,
    margin: f64,
) -> impl Strategy<Value = (Pointwise, ndarray::ArrayD<f64>, ndarray::ArrayD<f64>)> {
    batch_and_features().prop_flat_map(move |(b, n)| {
        (
            Just(f),
            away_from_zero(vec![b, n], margin),
            values(vec![b, n]),
        )
    })
}

fn check_pointwise(
    f: Pointwise,
    x: &ndarray::ArrayD<f64>,
    r: &ndarray::ArrayD<f64>,
) -> Result<(), TestCaseError> {
    let mut g = Graph::new();
    let xi = g.input("x", &x.shape()[1..]).unwrap();
    let y = g.pointwise(f, xi).unwrap();
    let loss = weighted_sum(&mut g, y);
    check(&g, loss, &[("x", x), ("r", r)], &[xi], Mode::Train)
}

/// `Σ r ⊙ (a ∘ b)` for the binary op number `which` (add, sub, mul, div), both inputs checked.
fn check_binary(
    a: &ndarray::ArrayD<f64>,
    b: &ndarray::ArrayD<f64>,
    r: &ndarray::ArrayD<f64>,
    which: usize,
) -> Result<(), TestCaseError> {
    let mut g = Graph::new();
    let ai = g.input("a", &a.shape()[1..]).unwrap();
    let bi = g.input("b", &b.shape()[1..]).unwrap();
    let y = match which {
        0 => g.add(ai, bi),
        1 => g.sub(ai, bi),
        2 => g.mul(ai, bi),
        _ => g.div(ai, bi),
    }
    .unwrap();
    let loss = weighted_sum(&mut g, y);
    check(
        &g,
        loss,
        &[("a", a), ("b", b), ("r", r)],
        &[ai, bi],
        Mode::Train,
    )
}

proptest! {
    #[test]
    fn relu((f, x, r) in pointwise_case(Pointwise::Relu, 0.05)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn leaky_relu((f, x, r) in pointwise_case(Pointwise::LeakyRelu { slope: 0.1 }, 0.05)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn elu((f, x, r) in pointwise_case(Pointwise::Elu { alpha: 0.7 }, 0.05)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn sigmoid((f, x, r) in pointwise_case(Pointwise::Sigmoid, 0.0)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn tanh((f, x, r) in pointwise_case(Pointwise::Tanh, 0.0)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn softplus((f, x, r) in pointwise_case(Pointwise::Softplus { beta: 1.5, threshold: 20.0 }, 0.0)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn gelu((f, x, r) in pointwise_case(Pointwise::Gelu, 0.0)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn abs((f, x, r) in pointwise_case(Pointwise::Abs, 0.05)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn scale((f, x, r) in pointwise_case(Pointwise::Scale(-2.5), 0.0)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn neg((f, x, r) in pointwise_case(Pointwise::Neg, 0.0)) { check_pointwise(f, &x, &r)?; }

    #[test]
    fn linear_with_and_without_bias(
        (x, w, b, r, bias) in (batch_and_features(), 1usize..5).prop_flat_map(|((b, n), m)| {
            (values(vec![b, n]), values(vec![m, n]), values(vec![m]), values(vec![b, m]), any::<bool>())
        })
    ) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let y = g.dense("fc", xi, f32s(&w), bias.then(|| f32s(&b))).unwrap();
        let loss = weighted_sum(&mut g, y);
        let mut wrt = vec![xi, g.id("fc.weight").unwrap()];
        if bias { wrt.push(g.id("fc.bias").unwrap()); }
        check(&g, loss, &[("x", &x), ("r", &r)], &wrt, Mode::Train)?;
    }

    #[test]
    fn matmul(
        (a, bm, r) in (batch_and_features(), 1usize..5).prop_flat_map(|((b, k), n)| {
            (values(vec![b, k]), values(vec![k, n]), values(vec![b, n]))
        })
    ) {
        let mut g = Graph::new();
        let ai = g.input("a", &a.shape()[1..]).unwrap();
        let bi = g.param("b", f32s(&bm)).unwrap();
        let y = g.matmul(ai, bi).unwrap();
        let loss = weighted_sum(&mut g, y);
        check(&g, loss, &[("a", &a), ("r", &r)], &[ai, bi], Mode::Train)?;
    }

    #[test]
    fn binary_ops_same_shape(
        (a, b, r, which) in batch_and_features().prop_flat_map(|(n, f)| {
            (values(vec![n, f]), away_from_zero(vec![n, f], 0.5), values(vec![n, f]), 0usize..4)
        })
    ) {
        check_binary(&a, &b, &r, which)?;
    }

    #[test]
    fn binary_ops_broadcast_a_parameter_over_the_batch(
        (a, p, r, which) in (batch_and_features(), 1usize..4).prop_flat_map(|((n, f), k)| {
            (values(vec![n, k, f]), away_from_zero(vec![f], 0.5), values(vec![n, k, f]), 0usize..4)
        })
    ) {
        // [B, k, f] op [f]: the parameter's gradient is summed over the batch and the rows.
        let mut g = Graph::new();
        let ai = g.input("a", &a.shape()[1..]).unwrap();
        let pi = g.param("p", f32s(&p)).unwrap();
        let y = match which { 0 => g.add(ai, pi), 1 => g.sub(pi, ai), 2 => g.mul(ai, pi), _ => g.div(ai, pi) }.unwrap();
        let loss = weighted_sum(&mut g, y);
        check(&g, loss, &[("a", &a), ("r", &r)], &[ai, pi], Mode::Train)?;
    }

    #[test]
    fn binary_ops_broadcast_within_examples(
        (a, b, r, which) in (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(n, k, f)| {
            (values(vec![n, k, 1]), away_from_zero(vec![n, 1, f], 0.5), values(vec![n, k, f]), 0usize..4)
        })
    ) {
        check_binary(&a, &b, &r, which)?;
    }

    #[test]
    fn softmax_and_log_softmax(
        (x, r, log) in batch_and_features().prop_flat_map(|(b, n)| (values(vec![b, n]), values(vec![b, n]), any::<bool>()))
    ) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let y = if log { g.log_softmax(xi) } else { g.softmax(xi) }.unwrap();
        let loss = weighted_sum(&mut g, y);
        check(&g, loss, &[("x", &x), ("r", &r)], &[xi], Mode::Train)?;
    }

    #[test]
    fn cross_entropy(
        (x, y) in batch_and_features().prop_flat_map(|(b, n)| {
            (values(vec![b, n + 1]).prop_map(|a| a * 3.0), prop::collection::vec(0..=n, b))
        })
    ) {
        let labels = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[y.len()]), y.iter().map(|&v| v as f64).collect()).unwrap();
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let yi = g.labels("y").unwrap();
        let loss = g.cross_entropy(xi, yi).unwrap();
        check(&g, loss, &[("x", &x), ("y", &labels)], &[xi], Mode::Train)?;
    }

    #[test]
    fn mse_and_bce_with_logits(
        (a, b, bce) in batch_and_features().prop_flat_map(|(n, f)| (values(vec![n, f]), values(vec![n, f]), any::<bool>()))
    ) {
        let mut g = Graph::new();
        let ai = g.input("a", &a.shape()[1..]).unwrap();
        let bi = g.input("b", &b.shape()[1..]).unwrap();
        let loss = if bce { g.bce_with_logits(ai, bi) } else { g.mse(ai, bi) }.unwrap();
        check(&g, loss, &[("a", &a), ("b", &b)], &[ai, bi], Mode::Train)?;
    }

    #[test]
    fn sum_and_mean_over_all_or_an_axis(
        (x, axis, mean) in (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(b, k, f)| {
            (values(vec![b, k, f]), prop::option::of(0usize..3), any::<bool>())
        })
    ) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let s = if mean { g.mean(xi, axis) } else { g.sum(xi, axis) }.unwrap();
        // Weight the reduced values so each output slot is checked separately.
        let shape = g.node(s).unwrap().shape.clone();
        let loss = if shape.is_scalar() {
            s
        } else if shape.batched {
            let t = g.tanh(s).unwrap();
            g.sum(t, None).unwrap()
        } else {
            let t = g.sigmoid(s).unwrap();
            g.sum(t, None).unwrap()
        };
        check(&g, loss, &[("x", &x)], &[xi], Mode::Train)?;
    }

    #[test]
    fn reshape_and_flatten(
        (x, r) in (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(b, k, f)| (values(vec![b, k, f]), values(vec![b, k * f])))
    ) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let t = g.reshape(xi, &[x.shape()[2], x.shape()[1]]).unwrap();
        let y = g.flatten(t).unwrap();
        let loss = weighted_sum(&mut g, y);
        check(&g, loss, &[("x", &x), ("r", &r)], &[xi], Mode::Train)?;
    }

    #[test]
    fn concat_along_features(
        (a, b, r) in (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(n, f1, f2)| {
            (values(vec![n, f1]), values(vec![n, f2]), values(vec![n, 2 * f1 + f2]))
        })
    ) {
        let mut g = Graph::new();
        let ai = g.input("a", &a.shape()[1..]).unwrap();
        let bi = g.input("b", &b.shape()[1..]).unwrap();
        // `a` appears twice: its gradient is the sum of both slices.
        let y = g.concat(&[ai, bi, ai], 1).unwrap();
        let loss = weighted_sum(&mut g, y);
        check(&g, loss, &[("a", &a), ("b", &b), ("r", &r)], &[ai, bi], Mode::Train)?;
    }

    #[test]
    fn batch_norm_in_both_modes(
        (x, gamma, beta, r, train) in (2usize..6, 1usize..5).prop_flat_map(|(b, c)| {
            (values(vec![b, c]), values(vec![c]), values(vec![c]), values(vec![b, c]), any::<bool>())
        })
    ) {
        batch_norm_gradients(x, gamma, beta, r, train)?;
    }

    /// `BatchNorm2d`: statistics per channel over the batch and the plane.
    #[test]
    fn batch_norm_on_images_in_both_modes(
        (x, gamma, beta, r, train) in (1usize..4, 1usize..4, 1usize..4, 1usize..4)
            .prop_filter("more than one value per channel", |(b, _, h, w)| b * h * w > 1)
            .prop_flat_map(|(b, c, h, w)| {
                (values(vec![b, c, h, w]), values(vec![c]), values(vec![c]), values(vec![b, c, h, w]), any::<bool>())
            })
    ) {
        batch_norm_gradients(x, gamma, beta, r, train)?;
    }
}

/// Checks batch norm's gradients for `x` (any batched shape batch norm accepts), `gamma`,
/// `beta`, against a loss weighted by `r`, in training or evaluation.
fn batch_norm_gradients(
    x: ArrayD<f64>,
    gamma: ArrayD<f64>,
    beta: ArrayD<f64>,
    r: ArrayD<f64>,
    train: bool,
) -> Result<(), TestCaseError> {
    let mut g = Graph::new();
    let xi = g.input("x", &x.shape()[1..]).unwrap();
    let y = g.batch_norm("bn", xi, BatchNorm::default()).unwrap();
    let loss = weighted_sum(&mut g, y);
    let mut exec = knit_tensor::Executor::<f64>::new(&g);
    exec.set_param("bn.weight", gamma.view()).unwrap();
    exec.set_param("bn.bias", beta.view()).unwrap();
    exec.set_input(xi, x.view()).unwrap();
    exec.set_input(g.id("r").unwrap(), r.view()).unwrap();
    let wrt = [xi, g.id("bn.weight").unwrap(), g.id("bn.bias").unwrap()];
    let mode = if train { Mode::Train } else { Mode::Eval };
    if !train {
        // Give the running statistics values other than their start.
        exec.set_buffer("bn.running_mean", (&gamma * 0.3).view())
            .unwrap();
        exec.set_buffer("bn.running_var", gamma.mapv(|v| 0.5 + v * v).view())
            .unwrap();
    }
    let config = knit_tensor::GradCheckConfig {
        mode,
        ..Default::default()
    };
    let report = knit_tensor::gradcheck(&mut exec, loss, &wrt, &config).unwrap();
    prop_assert!(report.passed(), "\n{}", report);
    Ok(())
}
