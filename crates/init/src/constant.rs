//! Constant initializers.
//!
//! They are kept on purpose even though they are poor choices for weights: every unit of a
//! layer whose weights are all equal computes the same output and receives the same
//! gradient, so the units stay identical forever (the *symmetry* problem). Random
//! initializers exist to break that symmetry. Constants remain the right choice for biases
//! and normalization parameters.

use ndarray::ArrayViewMutD;
use rand::RngCore;

use crate::error::finite;
use crate::{Fans, InitError, Initializer};

/// Fills with 0 (PyTorch's `zeros_`). Uses neither the fans nor the random stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Zeros;

impl Initializer for Zeros {
    fn fill(
        &self,
        mut out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        _rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        out.fill(0.0);
        Ok(())
    }

    fn needs_fans(&self) -> bool {
        false
    }
}

/// Fills with a fixed value (PyTorch's `constant_`). Uses neither the fans nor the random
/// stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constant {
    value: f32,
}

impl Constant {
    /// Every element = `value`, which must be finite.
    ///
    /// ```
    /// use knit_init::{initialize, Constant};
    /// let ones = initialize(&Constant::new(1.0)?, &[3], 0, "norm.weight")?;
    /// assert_eq!(ones.as_slice(), Some(&[1.0, 1.0, 1.0][..]));
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    pub fn new(value: f32) -> Result<Self, InitError> {
        Ok(Constant {
            value: finite("constant", "value", value)?,
        })
    }

    /// The fill value.
    pub fn value(&self) -> f32 {
        self.value
    }
}

impl Initializer for Constant {
    fn fill(
        &self,
        mut out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        _rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        out.fill(self.value);
        Ok(())
    }

    fn needs_fans(&self) -> bool {
        false
    }
}
