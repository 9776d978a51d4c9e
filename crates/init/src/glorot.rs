//! Glorot (Xavier) initializers: Glorot & Bengio 2010, "Understanding the difficulty of
//! training deep feedforward neural networks".
//!
//! They balance the forward and backward passes by scaling with the average of the two fans:
//! std = gain · √(2 / (fan_in + fan_out)).

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::error::positive;
use crate::sample::{fill_fan_scaled, Fan, Spread};
use crate::{Fans, InitError, Initializer};

/// Glorot (Xavier) uniform: U(−bound, bound) with
/// bound = gain · √(6 / (fan_in + fan_out)) (PyTorch's `xavier_uniform_`).
///
/// std = gain · √(2 / (fan_in + fan_out)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlorotUniform {
    gain: f32,
}

impl GlorotUniform {
    /// Glorot uniform with the given gain (finite, `> 0`); see [`calculate_gain`](crate::calculate_gain).
    ///
    /// ```
    /// use knit_init::GlorotUniform;
    /// let err = GlorotUniform::new(0.0).unwrap_err();
    /// assert_eq!(err.to_string(), "glorot_uniform: gain must be > 0, got 0");
    /// ```
    pub fn new(gain: f32) -> Result<Self, InitError> {
        Ok(GlorotUniform {
            gain: positive("glorot_uniform", "gain", gain)?,
        })
    }

    /// The gain.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

impl Default for GlorotUniform {
    /// Gain 1, PyTorch's default.
    fn default() -> Self {
        GlorotUniform { gain: 1.0 }
    }
}

impl Initializer for GlorotUniform {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let gain = f64::from(self.gain);
        fill_fan_scaled(
            out,
            rng,
            "glorot_uniform",
            Spread::Uniform,
            gain,
            Fan::average(fans),
        )
    }
}

/// Glorot (Xavier) normal: N(0, std²) with std = gain · √(2 / (fan_in + fan_out))
/// (PyTorch's `xavier_normal_`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlorotNormal {
    gain: f32,
}

impl GlorotNormal {
    /// Glorot normal with the given gain (finite, `> 0`); see [`calculate_gain`](crate::calculate_gain).
    pub fn new(gain: f32) -> Result<Self, InitError> {
        Ok(GlorotNormal {
            gain: positive("glorot_normal", "gain", gain)?,
        })
    }

    /// The gain.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

impl Default for GlorotNormal {
    /// Gain 1, PyTorch's default.
    fn default() -> Self {
        GlorotNormal { gain: 1.0 }
    }
}

impl Initializer for GlorotNormal {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let gain = f64::from(self.gain);
        fill_fan_scaled(
            out,
            rng,
            "glorot_normal",
            Spread::Normal,
            gain,
            Fan::average(fans),
        )
    }
}
