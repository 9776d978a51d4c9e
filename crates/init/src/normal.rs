//! Normal and truncated normal initializers.

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::error::{finite, non_negative, positive};
use crate::sample::{fill_normal, fill_truncated_normal};
use crate::{Fans, InitError, Initializer};

/// Values from the normal distribution N(mean, std²) (PyTorch's `normal_`).
///
/// Works on tensors of any rank (the fans are not used).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    mean: f32,
    std: f32,
}

impl Normal {
    /// N(mean, std²); `mean` must be finite, `std` finite and `>= 0` (`std == 0` fills the
    /// constant `mean`).
    ///
    /// ```
    /// use knit_init::Normal;
    /// assert!(Normal::new(0.0, 0.02).is_ok());
    /// let err = Normal::new(0.0, -1.0).unwrap_err();
    /// assert_eq!(err.to_string(), "normal: std must be >= 0, got -1");
    /// ```
    pub fn new(mean: f32, std: f32) -> Result<Self, InitError> {
        Ok(Normal {
            mean: finite("normal", "mean", mean)?,
            std: non_negative("normal", "std", std)?,
        })
    }

    /// The mean.
    pub fn mean(&self) -> f32 {
        self.mean
    }

    /// The standard deviation.
    pub fn std(&self) -> f32 {
        self.std
    }
}

impl Default for Normal {
    /// N(0, 1), PyTorch's defaults.
    fn default() -> Self {
        Normal {
            mean: 0.0,
            std: 1.0,
        }
    }
}

impl Initializer for Normal {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        fill_normal(out, f64::from(self.mean), f64::from(self.std), rng);
        Ok(())
    }

    fn needs_fans(&self) -> bool {
        false
    }
}

/// Values from N(mean, std²) conditioned on lying in `[a, b]` (PyTorch's `trunc_normal_`).
///
/// As in PyTorch, `a` and `b` are **absolute** bounds, not multiples of `std`: with the
/// default `[-2, 2]` and `std = 0.02` the truncation sits at ±100σ and changes nothing.
/// With α = (a − mean)/std, β = (b − mean)/std, φ the standard normal density, Φ its
/// distribution function and Z = Φ(β) − Φ(α):
///
/// * mean of the values = mean + std·(φ(α) − φ(β))/Z,
/// * variance = std²·[1 + (α·φ(α) − β·φ(β))/Z − ((φ(α) − φ(β))/Z)²].
///
/// Sampling is exact rejection sampling (Robert 1995), which stays accurate even when
/// `[a, b]` lies far in a tail, where PyTorch's inverse-CDF method loses precision; the
/// results are then clamped to `[a, b]` against rounding, as in PyTorch. Works on tensors
/// of any rank (the fans are not used).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruncatedNormal {
    mean: f32,
    std: f32,
    a: f32,
    b: f32,
}

impl TruncatedNormal {
    /// N(mean, std²) truncated to `[a, b]`. `mean` must be finite, `std` finite and `> 0`;
    /// `a < b`, where either bound may be infinite for one-sided truncation.
    ///
    /// ```
    /// use knit_init::TruncatedNormal;
    /// assert!(TruncatedNormal::new(0.0, 0.02, -0.04, 0.04).is_ok());
    /// let err = TruncatedNormal::new(0.0, 1.0, 2.0, -2.0).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "truncated_normal: bounds must satisfy a < b, got a = 2, b = -2"
    /// );
    /// ```
    pub fn new(mean: f32, std: f32, a: f32, b: f32) -> Result<Self, InitError> {
        const NAME: &str = "truncated_normal";
        let mean = finite(NAME, "mean", mean)?;
        let std = positive(NAME, "std", std)?;
        for (parameter, value) in [("a", a), ("b", b)] {
            if value.is_nan() {
                return Err(InitError::InvalidParameter {
                    initializer: NAME,
                    parameter,
                    value,
                    reason: "must not be NaN",
                });
            }
        }
        if a >= b {
            return Err(InitError::InvalidBounds {
                initializer: NAME,
                a,
                b,
                requirement: "a < b",
            });
        }
        Ok(TruncatedNormal { mean, std, a, b })
    }

    /// The mean of the untruncated normal.
    pub fn mean(&self) -> f32 {
        self.mean
    }

    /// The standard deviation of the untruncated normal.
    pub fn std(&self) -> f32 {
        self.std
    }

    /// Lower bound a (absolute).
    pub fn a(&self) -> f32 {
        self.a
    }

    /// Upper bound b (absolute).
    pub fn b(&self) -> f32 {
        self.b
    }
}

impl Default for TruncatedNormal {
    /// mean 0, std 1, bounds [−2, 2]: PyTorch's defaults.
    fn default() -> Self {
        TruncatedNormal {
            mean: 0.0,
            std: 1.0,
            a: -2.0,
            b: 2.0,
        }
    }
}

impl Initializer for TruncatedNormal {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        let [mean, std, a, b] = [self.mean, self.std, self.a, self.b].map(f64::from);
        fill_truncated_normal(out, mean, std, a, b, rng);
        Ok(())
    }

    fn needs_fans(&self) -> bool {
        false
    }
}
