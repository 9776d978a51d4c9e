//! A value that never changes.

use super::Schedule;
use crate::validate::finite;
use crate::OptimError;

/// `v(t) = v₀` for every `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constant {
    value: f64,
}

impl Constant {
    /// Errors if `value` is not finite.
    pub fn new(value: f64) -> Result<Self, OptimError> {
        finite("constant", "value", value)?;
        Ok(Self { value })
    }
}

impl Schedule for Constant {
    fn value(&self, _t: usize) -> f64 {
        self.value
    }
}
