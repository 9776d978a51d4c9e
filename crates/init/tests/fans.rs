//! Fans::of follows PyTorch's `_calculate_fan_in_and_fan_out`; fan-based initializers
//! refuse tensors without fans, fan-free ones accept any rank.

use knit_init::{
    initialize, initialize_with_fans, stream, Constant, FanInUniform, FanMode, Fans, GlorotNormal,
    GlorotUniform, HeNormal, HeUniform, InitError, Initializer, LeCunNormal, LeCunUniform, Normal,
    Orthogonal, TruncatedNormal, Uniform, Zeros,
};
use ndarray::{ArrayD, IxDyn};

fn fan_based() -> Vec<Box<dyn Initializer>> {
    vec![
        Box::new(FanInUniform),
        Box::new(GlorotUniform::default()),
        Box::new(GlorotNormal::default()),
        Box::new(HeUniform::default()),
        Box::new(HeNormal::default()),
        Box::new(LeCunUniform),
        Box::new(LeCunNormal),
        Box::new(Orthogonal::default()),
    ]
}

fn fan_free() -> Vec<Box<dyn Initializer>> {
    vec![
        Box::new(Zeros),
        Box::new(Constant::new(3.0).unwrap()),
        Box::new(Uniform::default()),
        Box::new(Normal::default()),
        Box::new(TruncatedNormal::default()),
    ]
}

#[test]
fn linear_weight_fans() {
    // A Linear(in=784, out=256) weight is [out, in].
    assert_eq!(
        Fans::of(&[256, 784]).unwrap(),
        Fans {
            fan_in: 784,
            fan_out: 256
        }
    );
    assert_eq!(Fans::of(&[1, 1]).unwrap(), Fans::new(1, 1));
}

#[test]
fn conv_weight_fans_include_the_receptive_field() {
    // Conv2d(in=3, out=64, kernel 5x5): [64, 3, 5, 5].
    assert_eq!(
        Fans::of(&[64, 3, 5, 5]).unwrap(),
        Fans::new(3 * 25, 64 * 25)
    );
    // Conv1d and Conv3d.
    assert_eq!(Fans::of(&[16, 8, 3]).unwrap(), Fans::new(24, 48));
    assert_eq!(Fans::of(&[4, 2, 3, 3, 3]).unwrap(), Fans::new(54, 108));
    // A zero-length kernel axis gives zero fans, as in PyTorch.
    assert_eq!(Fans::of(&[4, 2, 0]).unwrap(), Fans::new(0, 0));
}

#[test]
fn fewer_than_two_dimensions_has_no_fans() {
    for shape in [&[][..], &[10][..]] {
        let err = Fans::of(shape).unwrap_err();
        assert_eq!(
            err,
            InitError::TooFewDimensions {
                shape: shape.to_vec()
            }
        );
    }
    assert_eq!(
        Fans::of(&[10]).unwrap_err().to_string(),
        "fan_in and fan_out cannot be computed for a tensor with fewer than 2 dimensions \
         (shape [10]); pass explicit Fans (e.g. those of the layer's weight) or use a fan-free \
         initializer (constant, uniform, normal)"
    );
}

#[test]
fn overflowing_fans_are_an_error() {
    let err = Fans::of(&[2, usize::MAX, 2]).unwrap_err();
    assert!(matches!(err, InitError::ShapeTooLarge { .. }), "{err}");
}

#[test]
fn fan_based_initializers_refuse_one_dimensional_tensors() {
    for init in fan_based() {
        assert!(init.needs_fans(), "{init:?}");
        let err = initialize(init.as_ref(), &[10], 0, "bias").unwrap_err();
        assert_eq!(
            err,
            InitError::TooFewDimensions { shape: vec![10] },
            "{init:?}"
        );
    }
}

#[test]
fn fan_free_initializers_accept_any_rank() {
    for init in fan_free() {
        assert!(!init.needs_fans(), "{init:?}");
        for shape in [&[][..], &[10][..], &[3, 4][..], &[2, 3, 4][..]] {
            let values = initialize(init.as_ref(), shape, 0, "p").unwrap();
            assert_eq!(values.shape(), shape, "{init:?}");
        }
    }
}

#[test]
fn a_bias_can_use_its_weights_fans() {
    // PyTorch's Linear bias: U(−1/√fan_in, 1/√fan_in) with the weight's fan_in.
    let fans = Fans::of(&[64, 100]).unwrap();
    let bias = initialize_with_fans(&FanInUniform, &[64], fans, 0, "fc.bias").unwrap();
    assert_eq!(bias.shape(), &[64]);
    assert!(bias.iter().all(|b| b.abs() <= 0.1));
    assert!(
        bias.iter().any(|b| b.abs() > 0.05),
        "values should spread over the range"
    );
}

#[test]
fn mode_selects_the_fan() {
    let fans = Fans::new(3, 7);
    assert_eq!(FanMode::FanIn.select(fans), 3);
    assert_eq!(FanMode::FanOut.select(fans), 7);
    assert_eq!(FanMode::default(), FanMode::FanIn);
    assert_eq!(FanMode::FanOut.to_string(), "fan_out");

    // fan_out mode uses fan_out: with fan_out = 1 the He uniform bound is √6.
    let init = HeUniform::new(FanMode::FanOut, knit_init::Nonlinearity::Relu).unwrap();
    let w = initialize_with_fans(&init, &[1, 10_000], Fans::new(10_000, 1), 0, "w").unwrap();
    let max = w.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(max <= 6f32.sqrt() && max > 2.3, "max |w| = {max}");
}

#[test]
fn zero_fans_are_an_error_for_non_empty_tensors() {
    let mut w = ArrayD::<f32>::zeros(IxDyn(&[2, 2]));
    let err = HeNormal::default()
        .fill(w.view_mut(), Fans::new(0, 2), &mut stream(0, "w"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "he_normal: fan_in is 0, so the scale 1/√(fan_in) is undefined"
    );
    let err = GlorotUniform::default()
        .fill(w.view_mut(), Fans::new(0, 0), &mut stream(0, "w"))
        .unwrap_err();
    assert_eq!(
        err,
        InitError::ZeroFan {
            initializer: "glorot_uniform",
            fan: "fan_in + fan_out"
        }
    );
}

#[test]
fn zero_element_tensors_are_a_no_op() {
    // As in PyTorch: nothing to fill, so no fan is needed.
    for init in fan_based() {
        let w = initialize(init.as_ref(), &[4, 0], 0, "w").unwrap();
        assert_eq!(w.shape(), &[4, 0], "{init:?}");
    }
}
