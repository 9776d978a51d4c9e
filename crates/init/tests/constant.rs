//! Zeros and Constant fill exactly and never touch the random stream.

use knit_init::{initialize, stream, Constant, Fans, Initializer, Zeros};
use ndarray::{s, ArrayD, IxDyn};
use rand::RngCore;

#[test]
fn zeros_and_constants_fill_exactly() {
    let z = initialize(&Zeros, &[4, 5, 6], 0, "w").unwrap();
    assert!(z.iter().all(|&x| x.to_bits() == 0), "exactly +0.0");
    for value in [0.1f32, -3.25, 1e-30, f32::MAX] {
        let c = initialize(&Constant::new(value).unwrap(), &[7, 3], 0, "w").unwrap();
        assert!(c.iter().all(|&x| x.to_bits() == value.to_bits()), "{value}");
    }
    assert_eq!(Constant::new(0.5).unwrap().value(), 0.5);
}

#[test]
fn fills_a_strided_view_in_place() {
    let mut a = ArrayD::<f32>::from_elem(IxDyn(&[4, 4]), 9.0);
    Constant::new(1.0)
        .unwrap()
        .fill(
            a.slice_mut(s![.., ..;2]).into_dyn(),
            Fans::new(4, 4),
            &mut stream(0, "w"),
        )
        .unwrap();
    for ((_, j), &x) in a
        .clone()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .indexed_iter()
    {
        assert_eq!(x, if j % 2 == 0 { 1.0 } else { 9.0 });
    }
}

#[test]
fn constants_do_not_consume_randomness() {
    let mut used = stream(5, "w");
    let mut a = ArrayD::<f32>::zeros(IxDyn(&[3, 3]));
    Zeros
        .fill(a.view_mut(), Fans::new(3, 3), &mut used)
        .unwrap();
    Constant::new(2.0)
        .unwrap()
        .fill(a.view_mut(), Fans::new(3, 3), &mut used)
        .unwrap();
    assert_eq!(used.next_u64(), stream(5, "w").next_u64());
}

#[test]
fn every_unit_is_identical_the_symmetry_problem() {
    // Why random initializers exist: with constant weights all output units are equal.
    let w = initialize(&Constant::new(0.1).unwrap(), &[3, 4], 0, "w").unwrap();
    let rows: Vec<Vec<f32>> = w
        .outer_iter()
        .map(|r| r.iter().copied().collect())
        .collect();
    assert!(rows.windows(2).all(|p| p[0] == p[1]));
}
