//! Range checks shared by every constructor: each returns a typed [`OptimError::Hyperparameter`].

use crate::OptimError;

/// `Ok` when `ok`, else the error "`who`: `name` must be `requirement`, got `value`".
pub(crate) fn require(
    who: &'static str,
    name: &'static str,
    value: f64,
    ok: bool,
    requirement: &'static str,
) -> Result<(), OptimError> {
    if ok {
        Ok(())
    } else {
        Err(OptimError::Hyperparameter {
            who,
            name,
            requirement,
            value,
        })
    }
}

/// `value >= 0` and finite (learning rates, weight decay, eps, momentum, …).
pub(crate) fn non_negative(
    who: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    require(
        who,
        name,
        value,
        value >= 0.0 && value.is_finite(),
        ">= 0 and finite",
    )
}

/// `value` in `[0, 1)` (Adam's betas).
pub(crate) fn unit_half_open(
    who: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    require(who, name, value, (0.0..1.0).contains(&value), "in [0, 1)")
}

/// `value` in `[0, 1]` (RMSProp's alpha, SGD's dampening).
pub(crate) fn unit_closed(
    who: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    require(who, name, value, (0.0..=1.0).contains(&value), "in [0, 1]")
}

/// An integer count `>= 1` (periods, step sizes).
pub(crate) fn at_least_one(
    who: &'static str,
    name: &'static str,
    value: usize,
) -> Result<(), OptimError> {
    require(who, name, value as f64, value >= 1, ">= 1")
}

/// Any finite value.
pub(crate) fn finite(who: &'static str, name: &'static str, value: f64) -> Result<(), OptimError> {
    require(who, name, value, value.is_finite(), "finite")
}
