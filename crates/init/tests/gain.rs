//! calculate_gain against PyTorch's documented table, and nonlinearity names.

use knit_init::{calculate_gain, Nonlinearity};
use proptest::prelude::*;

#[test]
fn gains_match_pytorch() {
    // torch.nn.init.calculate_gain, documented table.
    let table = [
        (Nonlinearity::Linear, 1.0),
        (Nonlinearity::Identity, 1.0),
        (Nonlinearity::Sigmoid, 1.0),
        (Nonlinearity::Tanh, 5.0 / 3.0),
        (Nonlinearity::Relu, 2f64.sqrt()),
        (
            Nonlinearity::LeakyRelu(0.01),
            (2.0 / (1.0 + 0.01f64.powi(2))).sqrt(),
        ),
        (Nonlinearity::LeakyRelu(0.0), 2f64.sqrt()),
        (Nonlinearity::LeakyRelu(0.2), (2.0 / 1.04f64).sqrt()),
        (Nonlinearity::LeakyRelu(5f32.sqrt()), (1.0f64 / 3.0).sqrt()),
        (Nonlinearity::Selu, 0.75),
    ];
    for (nonlinearity, expected) in table {
        let gain = f64::from(calculate_gain(&nonlinearity));
        assert!(
            (gain - expected).abs() < 1e-6,
            "{nonlinearity}: {gain} vs {expected}"
        );
    }
}

#[test]
fn pytorch_names_parse() {
    let names = [
        ("linear", Nonlinearity::Linear),
        ("identity", Nonlinearity::Identity),
        ("sigmoid", Nonlinearity::Sigmoid),
        ("tanh", Nonlinearity::Tanh),
        ("relu", Nonlinearity::Relu),
        ("leaky_relu", Nonlinearity::LeakyRelu(0.01)),
        ("leaky_relu(0.2)", Nonlinearity::LeakyRelu(0.2)),
        (" leaky_relu( -0.1 ) ", Nonlinearity::LeakyRelu(-0.1)),
        ("selu", Nonlinearity::Selu),
    ];
    for (name, expected) in names {
        assert_eq!(name.parse::<Nonlinearity>().unwrap(), expected, "{name:?}");
    }
    assert_eq!(Nonlinearity::DEFAULT_NEGATIVE_SLOPE, 0.01);
}

#[test]
fn display_uses_the_parseable_names() {
    assert_eq!(Nonlinearity::Relu.to_string(), "relu");
    assert_eq!(Nonlinearity::LeakyRelu(0.2).to_string(), "leaky_relu(0.2)");
    assert_eq!(Nonlinearity::Selu.to_string(), "selu");
}

proptest! {
    #[test]
    fn display_round_trips(slope in -10.0f32..10.0, index in 0usize..7) {
        let all = [
            Nonlinearity::Linear,
            Nonlinearity::Identity,
            Nonlinearity::Sigmoid,
            Nonlinearity::Tanh,
            Nonlinearity::Relu,
            Nonlinearity::LeakyRelu(slope),
            Nonlinearity::Selu,
        ];
        let value = all[index];
        prop_assert_eq!(value.to_string().parse::<Nonlinearity>().unwrap(), value);
    }
}
