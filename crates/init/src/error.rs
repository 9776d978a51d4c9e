//! The crate's single error type.

use std::fmt;

/// The names [`Nonlinearity::from_str`](crate::Nonlinearity) accepts, in the order the
/// error message lists them.
pub(crate) const ACCEPTED_NONLINEARITIES: &str =
    "linear, identity, sigmoid, tanh, relu, leaky_relu, leaky_relu(<negative_slope>), selu";

/// Everything that can go wrong while building or running an initializer.
///
/// Constructors report bad user parameters with this type instead of panicking, and every
/// variant renders as a one-line human message naming the initializer at fault, for example
/// `normal: std must be >= 0, got -1`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// A single numeric parameter is outside its domain (a negative std, a zero gain, …).
    #[error("{initializer}: {parameter} {reason}, got {value}")]
    InvalidParameter {
        /// Initializer (or nonlinearity) whose constructor rejected the value, e.g. `"normal"`.
        initializer: &'static str,
        /// Name of the offending parameter, e.g. `"std"`.
        parameter: &'static str,
        /// The rejected value.
        value: f32,
        /// What the value must satisfy, e.g. `"must be >= 0"`.
        reason: &'static str,
    },

    /// An interval `[a, b]` is empty or reversed.
    #[error("{initializer}: bounds must satisfy {requirement}, got a = {a}, b = {b}")]
    InvalidBounds {
        /// Initializer whose constructor rejected the bounds.
        initializer: &'static str,
        /// Lower bound as given.
        a: f32,
        /// Upper bound as given.
        b: f32,
        /// The violated relation, `"a <= b"` or `"a < b"`.
        requirement: &'static str,
    },

    /// [`Fans::of`](crate::Fans::of) was asked about a tensor with fewer than two dimensions,
    /// exactly the case PyTorch's `_calculate_fan_in_and_fan_out` refuses.
    #[error(
        "fan_in and fan_out cannot be computed for a tensor with fewer than 2 dimensions \
         (shape {shape:?}); pass explicit Fans (e.g. those of the layer's weight) or use \
         a fan-free initializer (constant, uniform, normal)"
    )]
    TooFewDimensions {
        /// The shape that was passed.
        shape: Vec<usize>,
    },

    /// An initializer defined on matrices was given a tensor of another rank.
    #[error("{initializer}: needs a matrix (2 dimensions), got shape {shape:?}")]
    NotAMatrix {
        /// The initializer.
        initializer: &'static str,
        /// The shape that was passed.
        shape: Vec<usize>,
    },

    /// The fan a scaled initializer divides by is zero, so its scale is undefined.
    #[error("{initializer}: {fan} is 0, so the scale 1/√({fan}) is undefined")]
    ZeroFan {
        /// Initializer that needed the fan.
        initializer: &'static str,
        /// Which fan: `"fan_in"`, `"fan_out"` or `"fan_in + fan_out"`.
        fan: &'static str,
    },

    /// The number of elements (or a fan) of a shape does not fit in memory.
    #[error("shape {shape:?} is too large: its size overflows the address space")]
    ShapeTooLarge {
        /// The shape that was passed.
        shape: Vec<usize>,
    },

    /// [`Nonlinearity::from_str`](crate::Nonlinearity) got a name it does not know.
    #[error(
        "unknown nonlinearity {name:?}; expected one of: {accepted}{hint}",
        accepted = ACCEPTED_NONLINEARITIES,
        hint = DidYouMean(*.suggestion)
    )]
    UnknownNonlinearity {
        /// The rejected input, as given.
        name: String,
        /// The closest accepted name, when one is close enough to be a likely typo.
        suggestion: Option<&'static str>,
    },
}

/// Renders ` (did you mean "relu"?)` or nothing.
struct DidYouMean(Option<&'static str>);

impl fmt::Display for DidYouMean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, " (did you mean {name:?}?)"),
            None => Ok(()),
        }
    }
}

/// `Ok(value)` if `value` is finite and `>= 0`, otherwise the matching [`InitError`].
pub(crate) fn non_negative(
    initializer: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<f32, InitError> {
    check(initializer, parameter, value, value >= 0.0, "must be >= 0")
}

/// `Ok(value)` if `value` is finite and `> 0`, otherwise the matching [`InitError`].
pub(crate) fn positive(
    initializer: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<f32, InitError> {
    check(initializer, parameter, value, value > 0.0, "must be > 0")
}

/// `Ok(value)` if `value` is finite, otherwise the matching [`InitError`].
pub(crate) fn finite(
    initializer: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<f32, InitError> {
    check(initializer, parameter, value, true, "")
}

fn check(
    initializer: &'static str,
    parameter: &'static str,
    value: f32,
    ok: bool,
    reason: &'static str,
) -> Result<f32, InitError> {
    let reason = if !value.is_finite() {
        "must be finite"
    } else if !ok {
        reason
    } else {
        return Ok(value);
    };
    Err(InitError::InvalidParameter {
        initializer,
        parameter,
        value,
        reason,
    })
}
