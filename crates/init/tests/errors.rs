//! Every invalid parameter is an `InitError` with a readable message, never a panic.

use knit_init::{
    Constant, FanMode, GlorotNormal, GlorotUniform, HeNormal, HeUniform, InitError, Nonlinearity,
    Normal, Orthogonal, TruncatedNormal, Uniform,
};

fn message<T: std::fmt::Debug>(result: Result<T, InitError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn negative_or_non_finite_std() {
    assert_eq!(
        message(Normal::new(0.0, -1.0)),
        "normal: std must be >= 0, got -1"
    );
    assert_eq!(
        message(Normal::new(0.0, f32::NAN)),
        "normal: std must be finite, got NaN"
    );
    assert_eq!(
        message(Normal::new(f32::INFINITY, 1.0)),
        "normal: mean must be finite, got inf"
    );
    assert_eq!(
        Normal::new(0.0, -0.5).unwrap_err(),
        InitError::InvalidParameter {
            initializer: "normal",
            parameter: "std",
            value: -0.5,
            reason: "must be >= 0",
        }
    );
    // std = 0 is a constant, allowed for the plain normal but not the truncated one.
    assert!(Normal::new(1.0, 0.0).is_ok());
    assert_eq!(
        message(TruncatedNormal::new(0.0, 0.0, -2.0, 2.0)),
        "truncated_normal: std must be > 0, got 0"
    );
}

#[test]
fn reversed_or_empty_bounds() {
    assert_eq!(
        message(Uniform::new(2.0, 1.0)),
        "uniform: bounds must satisfy a <= b, got a = 2, b = 1"
    );
    assert!(Uniform::new(1.0, 1.0).is_ok(), "a == b is the constant a");
    assert_eq!(
        message(Uniform::new(0.0, f32::INFINITY)),
        "uniform: b must be finite, got inf"
    );
    assert_eq!(
        message(TruncatedNormal::new(0.0, 1.0, 1.0, 1.0)),
        "truncated_normal: bounds must satisfy a < b, got a = 1, b = 1"
    );
    assert_eq!(
        message(TruncatedNormal::new(0.0, 1.0, 3.0, -3.0)),
        "truncated_normal: bounds must satisfy a < b, got a = 3, b = -3"
    );
    assert_eq!(
        message(TruncatedNormal::new(0.0, 1.0, f32::NAN, 1.0)),
        "truncated_normal: a must not be NaN, got NaN"
    );
}

#[test]
fn non_positive_gain() {
    assert_eq!(
        message(GlorotUniform::new(0.0)),
        "glorot_uniform: gain must be > 0, got 0"
    );
    assert_eq!(
        message(GlorotNormal::new(-1.0)),
        "glorot_normal: gain must be > 0, got -1"
    );
    assert_eq!(
        message(Orthogonal::new(-0.5)),
        "orthogonal: gain must be > 0, got -0.5"
    );
    assert_eq!(
        message(Orthogonal::new(f32::INFINITY)),
        "orthogonal: gain must be finite, got inf"
    );
}

#[test]
fn unusable_nonlinearity_gain() {
    assert_eq!(
        message(HeUniform::new(
            FanMode::FanIn,
            Nonlinearity::LeakyRelu(f32::NAN)
        )),
        "he_uniform: negative_slope must be finite, got NaN"
    );
    // A huge slope makes the gain √(2/(1+slope²)) underflow to 0.
    assert_eq!(
        message(HeNormal::new(
            FanMode::FanOut,
            Nonlinearity::LeakyRelu(1e30)
        )),
        "he_normal: gain must be > 0, got 0"
    );
}

#[test]
fn non_finite_constant() {
    assert_eq!(
        message(Constant::new(f32::NAN)),
        "constant: value must be finite, got NaN"
    );
}

#[test]
fn unknown_nonlinearity_lists_the_accepted_names() {
    assert_eq!(
        message("rleu".parse::<Nonlinearity>()),
        "unknown nonlinearity \"rleu\"; expected one of: linear, identity, sigmoid, tanh, \
         relu, leaky_relu, leaky_relu(<negative_slope>), selu (did you mean \"relu\"?)"
    );
    assert_eq!(
        message("softmax".parse::<Nonlinearity>()),
        "unknown nonlinearity \"softmax\"; expected one of: linear, identity, sigmoid, tanh, \
         relu, leaky_relu, leaky_relu(<negative_slope>), selu"
    );
    assert_eq!(
        "Tanh".parse::<Nonlinearity>().unwrap_err(),
        InitError::UnknownNonlinearity {
            name: "Tanh".into(),
            suggestion: Some("tanh")
        }
    );
    assert_eq!(
        message("leaky_relu(inf)".parse::<Nonlinearity>()),
        "leaky_relu: negative_slope must be finite, got inf"
    );
    assert!(
        message("leaky_relu(abc)".parse::<Nonlinearity>()).contains("did you mean \"leaky_relu\"?")
    );
}
