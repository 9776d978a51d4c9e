//! Uniform initializers.

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::error::finite;
use crate::sample::{fill_fan_scaled, fill_uniform, Fan, Spread};
use crate::{FanMode, Fans, InitError, Initializer};

/// Values from the uniform distribution U(a, b) (PyTorch's `uniform_`).
///
/// mean = (a + b)/2, std = (b − a)/√12. Values lie in `[a, b)`, up to the rounding to `f32`
/// which may produce `b` itself. Works on tensors of any rank (the fans are not used).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uniform {
    a: f32,
    b: f32,
}

impl Uniform {
    /// U(a, b); `a` and `b` must be finite with `a <= b` (`a == b` fills the constant `a`).
    ///
    /// ```
    /// use knit_init::Uniform;
    /// assert!(Uniform::new(-0.1, 0.1).is_ok());
    /// let err = Uniform::new(1.0, -1.0).unwrap_err();
    /// assert_eq!(err.to_string(), "uniform: bounds must satisfy a <= b, got a = 1, b = -1");
    /// ```
    pub fn new(a: f32, b: f32) -> Result<Self, InitError> {
        let a = finite("uniform", "a", a)?;
        let b = finite("uniform", "b", b)?;
        if a > b {
            return Err(InitError::InvalidBounds {
                initializer: "uniform",
                a,
                b,
                requirement: "a <= b",
            });
        }
        Ok(Uniform { a, b })
    }

    /// Lower bound a.
    pub fn a(&self) -> f32 {
        self.a
    }

    /// Upper bound b.
    pub fn b(&self) -> f32 {
        self.b
    }
}

impl Default for Uniform {
    /// U(0, 1), PyTorch's defaults.
    fn default() -> Self {
        Uniform { a: 0.0, b: 1.0 }
    }
}

impl Initializer for Uniform {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        fill_uniform(out, f64::from(self.a), f64::from(self.b), rng);
        Ok(())
    }

    fn needs_fans(&self) -> bool {
        false
    }
}

/// The classic fan-in heuristic U(−1/√fan_in, 1/√fan_in).
///
/// bound = 1/√fan_in, std = 1/√(3·fan_in).
///
/// This is PyTorch's default for `nn.Linear` and `nn.ConvNd`: the weight uses
/// `kaiming_uniform_(a=√5)`, whose gain √(2/(1+5)) = 1/√3 makes the bound exactly
/// 1/√fan_in, and the bias uses U(−1/√fan_in, 1/√fan_in) with the *weight's* fan_in (pass
/// it with [`initialize_with_fans`](crate::initialize_with_fans)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FanInUniform;

impl Initializer for FanInUniform {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let fan_in = Fan::of_mode(FanMode::FanIn, fans);
        let scale = 1.0 / 3f64.sqrt();
        fill_fan_scaled(out, rng, "fan_in_uniform", Spread::Uniform, scale, fan_in)
    }
}
