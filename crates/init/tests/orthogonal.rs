//! Orthogonal: WᵀW = gain²·I (rows ≥ cols) or WWᵀ = gain²·I (rows < cols).

use knit_init::{initialize, InitError, Initializer, Orthogonal};
use ndarray::{Array2, ArrayD, Ix2};
use proptest::prelude::*;

/// The tensor viewed as [shape[0], rest] and its Gram matrix on the smaller side, in f64.
fn gram(w: &ArrayD<f32>) -> Array2<f64> {
    let rows = w.shape()[0];
    let cols = w.len() / rows;
    let m = w
        .to_shape((rows, cols))
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
        .mapv(f64::from);
    if rows >= cols {
        m.t().dot(&m)
    } else {
        m.dot(&m.t())
    }
}

fn check_orthogonal(shape: &[usize], gain: f32, seed: u64) -> Result<(), TestCaseError> {
    let w = initialize(&Orthogonal::new(gain).unwrap(), shape, seed, "w").unwrap();
    let g = gram(&w);
    let expected = f64::from(gain).powi(2);
    let tolerance = 1e-5 * expected.max(1.0);
    for ((i, j), &value) in g.indexed_iter() {
        let target = if i == j { expected } else { 0.0 };
        prop_assert!(
            (value - target).abs() <= tolerance,
            "shape {shape:?}, gain {gain}: gram[{i}, {j}] = {value}, expected {target}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn tall_wide_and_square_matrices_are_orthogonal(
        rows in 1usize..120,
        cols in 1usize..120,
        gain in 0.1f32..3.0,
        seed in any::<u64>(),
    ) {
        check_orthogonal(&[rows, cols], gain, seed)?;
    }

    #[test]
    fn conv_kernels_are_orthogonal_when_flattened(
        out in 1usize..40,
        inp in 1usize..8,
        k in 1usize..4,
        seed in any::<u64>(),
    ) {
        check_orthogonal(&[out, inp, k, k], 1.0, seed)?;
    }
}

#[test]
fn both_orientations_at_full_size() {
    check_orthogonal(&[300, 40], 1.0, 1).unwrap();
    check_orthogonal(&[40, 300], 1.0, 2).unwrap();
    check_orthogonal(&[256, 256], 2f32.sqrt(), 3).unwrap();
}

#[test]
fn values_have_std_gain_over_sqrt_of_the_larger_side() {
    // Each of the min(r, c) orthonormal vectors has squared norm gain², spread over r·c values.
    let w = initialize(&Orthogonal::new(1.5).unwrap(), &[256, 784], 4, "w").unwrap();
    let mean_square = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / w.len() as f64;
    assert!((mean_square - 1.5f64.powi(2) / 784.0).abs() < 1e-8);
}

#[test]
fn needs_at_least_two_dimensions() {
    let err = initialize(&Orthogonal::default(), &[10], 0, "w").unwrap_err();
    assert!(matches!(err, InitError::TooFewDimensions { .. }));
    // Also when called directly with made-up fans.
    let mut v = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[10]));
    let err = Orthogonal::default()
        .fill(
            v.view_mut(),
            knit_init::Fans::new(1, 1),
            &mut knit_init::stream(0, "w"),
        )
        .unwrap_err();
    assert_eq!(err, InitError::TooFewDimensions { shape: vec![10] });
}

#[test]
fn empty_tensors_are_left_alone() {
    let w = initialize(&Orthogonal::default(), &[0, 5], 0, "w").unwrap();
    assert_eq!(w.shape(), &[0, 5]);
}
