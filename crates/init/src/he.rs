//! He (Kaiming) initializers: He et al. 2015, "Delving Deep into Rectifiers".
//!
//! They keep the variance of the activations (mode fan_in) or of the gradients (mode
//! fan_out) constant through rectifier networks: std = gain / √fan, with the gain of the
//! following nonlinearity.

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::error::{finite, positive};
use crate::sample::{fill_fan_scaled, Fan, Spread};
use crate::{calculate_gain, FanMode, Fans, InitError, Initializer, Nonlinearity};

/// The gain of `nonlinearity`, or why it is unusable (a non-finite or huge leaky slope).
fn checked_gain(initializer: &'static str, nonlinearity: Nonlinearity) -> Result<f32, InitError> {
    if let Nonlinearity::LeakyRelu(slope) = nonlinearity {
        finite(initializer, "negative_slope", slope)?;
    }
    positive(initializer, "gain", calculate_gain(&nonlinearity))
}

/// He (Kaiming) uniform: U(−bound, bound) with bound = √3 · std and std = gain / √fan
/// (PyTorch's `kaiming_uniform_`).
///
/// fan is fan_in or fan_out according to the [`FanMode`], gain is
/// [`calculate_gain`]`(nonlinearity)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeUniform {
    mode: FanMode,
    nonlinearity: Nonlinearity,
    gain: f32,
}

impl HeUniform {
    /// He uniform for a layer followed by `nonlinearity`, scaled by the fan `mode` selects.
    ///
    /// Fails if the nonlinearity's gain is not finite and positive (a non-finite leaky
    /// slope).
    ///
    /// ```
    /// use knit_init::{FanMode, HeUniform, Nonlinearity};
    /// let init = HeUniform::new(FanMode::FanOut, Nonlinearity::Relu)?;
    /// assert_eq!(init.gain(), 2f32.sqrt());
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    pub fn new(mode: FanMode, nonlinearity: Nonlinearity) -> Result<Self, InitError> {
        Ok(HeUniform {
            mode,
            nonlinearity,
            gain: checked_gain("he_uniform", nonlinearity)?,
        })
    }

    /// Which fan scales the values.
    pub fn mode(&self) -> FanMode {
        self.mode
    }

    /// The nonlinearity the gain is computed for.
    pub fn nonlinearity(&self) -> Nonlinearity {
        self.nonlinearity
    }

    /// [`calculate_gain`] of the nonlinearity.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

impl Default for HeUniform {
    /// PyTorch's defaults: mode fan_in, `leaky_relu` with slope `a = 0` (gain √2).
    fn default() -> Self {
        HeUniform {
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu(0.0),
            gain: std::f32::consts::SQRT_2,
        }
    }
}

impl Initializer for HeUniform {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let fan = Fan::of_mode(self.mode, fans);
        fill_fan_scaled(
            out,
            rng,
            "he_uniform",
            Spread::Uniform,
            f64::from(self.gain),
            fan,
        )
    }
}

/// He (Kaiming) normal: N(0, std²) with std = gain / √fan (PyTorch's `kaiming_normal_`).
///
/// fan is fan_in or fan_out according to the [`FanMode`], gain is
/// [`calculate_gain`]`(nonlinearity)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeNormal {
    mode: FanMode,
    nonlinearity: Nonlinearity,
    gain: f32,
}

impl HeNormal {
    /// He normal for a layer followed by `nonlinearity`, scaled by the fan `mode` selects.
    ///
    /// Fails if the nonlinearity's gain is not finite and positive (a non-finite leaky
    /// slope).
    pub fn new(mode: FanMode, nonlinearity: Nonlinearity) -> Result<Self, InitError> {
        Ok(HeNormal {
            mode,
            nonlinearity,
            gain: checked_gain("he_normal", nonlinearity)?,
        })
    }

    /// Which fan scales the values.
    pub fn mode(&self) -> FanMode {
        self.mode
    }

    /// The nonlinearity the gain is computed for.
    pub fn nonlinearity(&self) -> Nonlinearity {
        self.nonlinearity
    }

    /// [`calculate_gain`] of the nonlinearity.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

impl Default for HeNormal {
    /// PyTorch's defaults: mode fan_in, `leaky_relu` with slope `a = 0` (gain √2).
    fn default() -> Self {
        HeNormal {
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu(0.0),
            gain: std::f32::consts::SQRT_2,
        }
    }
}

impl Initializer for HeNormal {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let fan = Fan::of_mode(self.mode, fans);
        fill_fan_scaled(
            out,
            rng,
            "he_normal",
            Spread::Normal,
            f64::from(self.gain),
            fan,
        )
    }
}
