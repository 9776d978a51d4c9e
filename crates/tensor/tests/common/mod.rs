//! Helpers shared by the tensor crate's tests: random arrays away from kinks and a
//! one-call gradient check.
#![allow(dead_code)]

use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode, NodeId};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

/// An array of the given shape with values uniform in [-2, 2].
pub fn values(dims: Vec<usize>) -> impl Strategy<Value = ArrayD<f64>> {
    let n: usize = dims.iter().product();
    prop::collection::vec(-2.0..2.0f64, n)
        .prop_map(move |v| ArrayD::from_shape_vec(IxDyn(&dims), v).expect("sized"))
}

/// Values with |x| ≥ `margin`, so that a kink at 0 (relu, leaky relu, |x|) is never within
/// a finite-difference step of any input. This is how kinks are avoided in these tests.
pub fn away_from_zero(dims: Vec<usize>, margin: f64) -> impl Strategy<Value = ArrayD<f64>> {
    values(dims).prop_map(move |a| a.mapv(|v| if v >= 0.0 { v + margin } else { v - margin }))
}

/// Batch size and feature count for one test case.
pub fn batch_and_features() -> impl Strategy<Value = (usize, usize)> {
    (1usize..5, 1usize..6)
}

/// Adds a random weighting input `r` shaped like the batched node `y`, and returns the
/// scalar `Σ r ⊙ y`: a loss whose gradient with respect to `y` is `r`, so every output
/// element is checked with its own weight.
pub fn weighted_sum(g: &mut Graph, y: NodeId) -> NodeId {
    let dims = g.node(y).unwrap().shape.dims.clone();
    let r = g.input("r", &dims).unwrap();
    let p = g.mul(y, r).unwrap();
    g.sum(p, None).unwrap()
}

/// Feeds the inputs, checks ∂loss/∂wrt against finite differences, and fails the property
/// with the report's table when any element is off.
pub fn check(
    g: &Graph,
    loss: NodeId,
    feeds: &[(&str, &ArrayD<f64>)],
    wrt: &[NodeId],
    mode: Mode,
) -> Result<(), TestCaseError> {
    let mut exec = Executor::<f64>::new(g);
    for (name, value) in feeds {
        let id = g.id(name).unwrap();
        exec.set_input(id, value.view()).unwrap();
    }
    let config = GradCheckConfig {
        mode,
        ..GradCheckConfig::default()
    };
    let report = gradcheck(&mut exec, loss, wrt, &config).unwrap();
    prop_assert!(report.passed(), "\n{}", report);
    Ok(())
}

/// An `f32` array from an `f64` one (parameters are stored in `f32`).
pub fn f32s(a: &ArrayD<f64>) -> ArrayD<f32> {
    a.mapv(|v| v as f32)
}
