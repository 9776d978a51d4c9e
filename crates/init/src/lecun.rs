//! LeCun initializers: LeCun et al. 1998, "Efficient BackProp".
//!
//! Variance 1 / fan_in, i.e. std = 1/√fan_in: exactly He (Kaiming) with mode fan_in and the
//! linear gain 1 (`HeUniform::new(FanMode::FanIn, Nonlinearity::Linear)`). It is the
//! initialization SELU networks are designed for.

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::sample::{fill_fan_scaled, Fan, Spread};
use crate::{FanMode, Fans, InitError, Initializer};

/// LeCun uniform: U(−bound, bound) with bound = √(3 / fan_in), so that the variance is
/// 1 / fan_in. Equal to He uniform with mode fan_in and linear gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeCunUniform;

impl Initializer for LeCunUniform {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let fan_in = Fan::of_mode(FanMode::FanIn, fans);
        fill_fan_scaled(out, rng, "lecun_uniform", Spread::Uniform, 1.0, fan_in)
    }
}

/// LeCun normal: a plain N(0, std²) with std = 1/√fan_in (variance 1 / fan_in), not
/// truncated. Equal to He normal with mode fan_in and linear gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeCunNormal;

impl Initializer for LeCunNormal {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let fan_in = Fan::of_mode(FanMode::FanIn, fans);
        fill_fan_scaled(out, rng, "lecun_normal", Spread::Normal, 1.0, fan_in)
    }
}
