//! Property tests: every random initializer produces values whose sample mean and variance
//! match the theoretical ones, and uniform ones stay within their bounds.

mod common;

use common::{check_moments, NORMAL_KURTOSIS, UNIFORM_KURTOSIS};
use knit_init::{
    initialize, FanInUniform, FanMode, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
    Initializer, LeCunNormal, LeCunUniform, Nonlinearity, Normal, Uniform,
};
use proptest::prelude::*;

/// One initializer with its theoretical distribution, computed here from the formulas
/// rather than from the crate.
struct Case {
    label: &'static str,
    init: Box<dyn Initializer>,
    mean: f64,
    std: f64,
    /// Half-width of the support around the mean for uniform distributions.
    bound: Option<f64>,
}

impl Case {
    fn normal(label: &'static str, init: impl Initializer + 'static, mean: f64, std: f64) -> Case {
        Case {
            label,
            init: Box::new(init),
            mean,
            std,
            bound: None,
        }
    }

    /// A uniform distribution U(mean − bound, mean + bound): std = bound/√3.
    fn uniform(
        label: &'static str,
        init: impl Initializer + 'static,
        mean: f64,
        bound: f64,
    ) -> Case {
        Case {
            label,
            init: Box::new(init),
            mean,
            std: bound / 3f64.sqrt(),
            bound: Some(bound),
        }
    }

    fn check(&self, shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
        let values = initialize(self.init.as_ref(), shape, seed, self.label)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let kurtosis = match self.bound {
            Some(bound) => {
                let (lo, hi) = ((self.mean - bound) as f32, (self.mean + bound) as f32);
                let outside = values.iter().find(|&&v| v < lo || v > hi);
                prop_assert!(
                    outside.is_none(),
                    "{}: {outside:?} outside [{lo}, {hi}]",
                    self.label
                );
                UNIFORM_KURTOSIS
            }
            None => NORMAL_KURTOSIS,
        };
        check_moments(self.label, &values, self.mean, self.std, kurtosis)
    }
}

/// All random, fan-scaled or not, initializers for a weight with the given fans.
fn cases(fan_in: f64, fan_out: f64) -> Vec<Case> {
    let sqrt = f64::sqrt;
    let tanh_gain = 5.0 / 3.0;
    let leaky_gain = sqrt(2.0 / (1.0 + 0.2 * 0.2));
    vec![
        Case::uniform("uniform", Uniform::new(-0.3, 0.7).unwrap(), 0.2, 0.5),
        Case::uniform("fan_in_uniform", FanInUniform, 0.0, 1.0 / sqrt(fan_in)),
        Case::normal("normal", Normal::new(0.5, 2.0).unwrap(), 0.5, 2.0),
        Case::uniform(
            "glorot_uniform",
            GlorotUniform::new(1.5).unwrap(),
            0.0,
            f64::from(1.5f32) * sqrt(6.0 / (fan_in + fan_out)),
        ),
        Case::normal(
            "glorot_normal",
            GlorotNormal::new(0.8).unwrap(),
            0.0,
            f64::from(0.8f32) * sqrt(2.0 / (fan_in + fan_out)),
        ),
        Case::uniform(
            "he_uniform default",
            HeUniform::default(),
            0.0,
            sqrt(3.0) * sqrt(2.0) / sqrt(fan_in),
        ),
        Case::uniform(
            "he_uniform fan_out tanh",
            HeUniform::new(FanMode::FanOut, Nonlinearity::Tanh).unwrap(),
            0.0,
            sqrt(3.0) * tanh_gain / sqrt(fan_out),
        ),
        Case::normal(
            "he_normal default",
            HeNormal::default(),
            0.0,
            sqrt(2.0 / fan_in),
        ),
        Case::normal(
            "he_normal fan_out leaky_relu(0.2)",
            HeNormal::new(FanMode::FanOut, Nonlinearity::LeakyRelu(0.2)).unwrap(),
            0.0,
            leaky_gain / sqrt(fan_out),
        ),
        Case::uniform("lecun_uniform", LeCunUniform, 0.0, sqrt(3.0 / fan_in)),
        Case::normal("lecun_normal", LeCunNormal, 0.0, 1.0 / sqrt(fan_in)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn linear_weights_match_theoretical_moments(
        out in 16usize..300,
        inp in 16usize..300,
        seed in any::<u64>(),
    ) {
        for case in cases(inp as f64, out as f64) {
            case.check(&[out, inp], seed)?;
        }
    }

    #[test]
    fn conv_weights_match_theoretical_moments(
        out in 16usize..64,
        inp in 8usize..32,
        kh in 1usize..5,
        kw in 1usize..5,
        seed in any::<u64>(),
    ) {
        let receptive = (kh * kw) as f64;
        for case in cases(inp as f64 * receptive, out as f64 * receptive) {
            case.check(&[out, inp, kh, kw], seed)?;
        }
    }
}
