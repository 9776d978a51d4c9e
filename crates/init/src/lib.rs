//! Seeded, reproducible weight initializers for knit's CPU training.
//!
//! Before training, every parameter tensor of a network needs starting values. This crate
//! provides the classic schemes, with the formulas, fan rules and gains of PyTorch's
//! `torch.nn.init` so that results can be compared one to one:
//!
//! | initializer | values | PyTorch |
//! |---|---|---|
//! | [`Zeros`], [`Constant`] | a constant | `zeros_`, `constant_` |
//! | [`Uniform`] | U(a, b) | `uniform_` |
//! | [`FanInUniform`] | U(−1/√fan_in, 1/√fan_in) | `nn.Linear`'s default |
//! | [`Normal`] | N(mean, std²) | `normal_` |
//! | [`TruncatedNormal`] | N(mean, std²) restricted to [a, b] | `trunc_normal_` |
//! | [`GlorotUniform`], [`GlorotNormal`] | std = gain·√(2/(fan_in+fan_out)) | `xavier_uniform_`, `xavier_normal_` |
//! | [`HeUniform`], [`HeNormal`] | std = gain/√fan | `kaiming_uniform_`, `kaiming_normal_` |
//! | [`LeCunUniform`], [`LeCunNormal`] | std = 1/√fan_in | He with linear gain |
//! | [`Orthogonal`] | gain · a random orthogonal matrix | `orthogonal_` |
//! | [`Identity`] | gain · I (the IRNN's recurrent weights) | `eye_` |
//! | [`ConstantRows`] | another initializer, with a block of rows set to a constant (an LSTM's forget-gate bias) | `fill_` on a slice |
//!
//! Every initializer implements the object-safe [`Initializer`] trait, which fills an
//! [`ndarray`] view of any shape in place. The scale of the fan-based ones comes from the
//! [`Fans`] of the tensor ([`Fans::of`] follows PyTorch's `_calculate_fan_in_and_fan_out`)
//! and from [`calculate_gain`] of a [`Nonlinearity`]. Parameters are `f32`.
//!
//! # Seed streams
//!
//! Reproducibility is per parameter: [`stream`]`(seed, name)` derives a ChaCha8 generator
//! whose key comes from the run's `seed` (SplitMix64 expansion) and whose 64-bit stream id is
//! the FNV-1a hash of the parameter's `name`. Both hashes are fixed and platform independent,
//! so the same seed and name give the same bits everywhere, while different names get
//! independent streams. Adding a layer therefore never perturbs the initial values of the
//! others, and nothing depends on the order in which parameters are created.
//! [`initialize`] puts it together: shape → fans → stream → filled array.
//!
//! # Sampling
//!
//! All random values are drawn and transformed in `f64` and rounded once to `f32`: uniform
//! values as `low + (high − low)·u` with `u` from [`rand::distr::StandardUniform`] (53-bit
//! resolution in `[0, 1)`), normal values as `mean + std·z` with `z` from
//! [`rand_distr::StandardNormal`]. Elements are visited in logical row-major order whatever
//! the memory layout of the view, so the values depend only on the shape, the fans and the
//! stream.
//!
//! # Example
//!
//! ```
//! use knit_init::{initialize, initialize_with_fans, Fans, FanInUniform, HeUniform, Zeros};
//!
//! // A 784 → 256 linear layer: weight [out, in] = [256, 784].
//! let weight = initialize(&HeUniform::default(), &[256, 784], 42, "fc1.weight")?;
//! let bound = (6.0f32 / 784.0).sqrt(); // √3 · gain / √fan_in with gain √2
//! assert!(weight.iter().all(|w| w.abs() <= bound));
//!
//! // Same seed and name: the same bits. Another name: another stream.
//! assert_eq!(weight, initialize(&HeUniform::default(), &[256, 784], 42, "fc1.weight")?);
//! assert_ne!(weight, initialize(&HeUniform::default(), &[256, 784], 42, "fc2.weight")?);
//!
//! // Constant initializers work on 1-D biases...
//! let bias = initialize(&Zeros, &[256], 42, "fc1.bias")?;
//! assert!(bias.iter().all(|&b| b == 0.0));
//! // ...and a fan-based one can use the weight's fans, like PyTorch's Linear bias.
//! let bias = initialize_with_fans(&FanInUniform, &[256], Fans::of(&[256, 784])?, 42, "fc1.bias")?;
//! assert!(bias.iter().all(|b| b.abs() <= 1.0 / 28.0));
//! # Ok::<(), knit_init::InitError>(())
//! ```

#![warn(missing_docs)]

mod constant;
mod error;
mod glorot;
mod he;
mod identity;
mod lecun;
mod normal;
mod orthogonal;
mod rows;
mod sample;
mod stream;
mod uniform;

use std::fmt;
use std::str::FromStr;

use ndarray::{ArrayD, ArrayViewMutD, IxDyn};
use rand::RngCore;

pub use constant::{Constant, Zeros};
pub use error::InitError;
pub use glorot::{GlorotNormal, GlorotUniform};
pub use he::{HeNormal, HeUniform};
pub use identity::Identity;
pub use lecun::{LeCunNormal, LeCunUniform};
pub use normal::{Normal, TruncatedNormal};
pub use orthogonal::Orthogonal;
pub use rows::ConstantRows;
pub use stream::stream;
pub use uniform::{FanInUniform, Uniform};

/// A way to give a parameter tensor its starting values.
///
/// The trait is object safe, so initializers can be chosen at run time and stored as
/// `Box<dyn Initializer>`.
pub trait Initializer: fmt::Debug + Send + Sync {
    /// Fill `out` (any shape) in place.
    ///
    /// `fans` is normally [`Fans::of`]`(out.shape())`; callers may pass other fans, e.g. the
    /// weight's fans when initializing a 1-D bias the way PyTorch's `nn.Linear` does.
    /// Initializers that do not scale with the fans ignore them. All random values are
    /// taken from `rng`; nothing else influences them.
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError>;

    /// Whether [`fill`](Initializer::fill) needs the tensor's fans (or, for
    /// [`Orthogonal`], at least two dimensions). Defaults to `true`.
    ///
    /// [`initialize`] uses it to decide whether a tensor with fewer than two dimensions is an
    /// error ([`InitError::TooFewDimensions`]), as in PyTorch, or fine (constant, uniform,
    /// normal and truncated normal, which return `false`).
    fn needs_fans(&self) -> bool {
        true
    }
}

/// The fan-in and fan-out of a parameter tensor: how many inputs feed each output unit and
/// how many outputs each input unit feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fans {
    /// Number of input connections per output unit.
    pub fan_in: usize,
    /// Number of output connections per input unit.
    pub fan_out: usize,
}

impl Fans {
    /// Fans given explicitly.
    pub const fn new(fan_in: usize, fan_out: usize) -> Self {
        Fans { fan_in, fan_out }
    }

    /// The fans of a weight of shape `shape`, following PyTorch's
    /// `_calculate_fan_in_and_fan_out`.
    ///
    /// * `[out, in]` (a linear weight): fan_in = in, fan_out = out;
    /// * `[out, in, k₁, k₂, …]` (a convolution kernel): with the receptive field
    ///   r = k₁·k₂·…, fan_in = in·r and fan_out = out·r.
    ///
    /// Fewer than two dimensions is an error ([`InitError::TooFewDimensions`]), exactly like
    /// PyTorch: a bias has no fans of its own.
    ///
    /// ```
    /// use knit_init::Fans;
    /// assert_eq!(Fans::of(&[256, 784])?, Fans::new(784, 256));
    /// assert_eq!(Fans::of(&[64, 3, 5, 5])?, Fans::new(3 * 25, 64 * 25));
    /// assert!(Fans::of(&[10]).is_err());
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    pub fn of(shape: &[usize]) -> Result<Fans, InitError> {
        let [fan_out_maps, fan_in_maps, kernel @ ..] = shape else {
            return Err(InitError::TooFewDimensions {
                shape: shape.to_vec(),
            });
        };
        let too_large = || InitError::ShapeTooLarge {
            shape: shape.to_vec(),
        };
        let receptive_field = kernel
            .iter()
            .try_fold(1usize, |acc, &k| acc.checked_mul(k))
            .ok_or_else(too_large)?;
        Ok(Fans {
            fan_in: fan_in_maps
                .checked_mul(receptive_field)
                .ok_or_else(too_large)?,
            fan_out: fan_out_maps
                .checked_mul(receptive_field)
                .ok_or_else(too_large)?,
        })
    }
}

/// Which fan the He (Kaiming) initializers scale by.
///
/// `FanIn` preserves the variance of the activations in the forward pass, `FanOut` that of
/// the gradients in the backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FanMode {
    /// Scale by fan_in (PyTorch's default `mode='fan_in'`).
    #[default]
    FanIn,
    /// Scale by fan_out.
    FanOut,
}

impl FanMode {
    /// The fan this mode selects from `fans`.
    pub fn select(self, fans: Fans) -> usize {
        match self {
            FanMode::FanIn => fans.fan_in,
            FanMode::FanOut => fans.fan_out,
        }
    }

    /// `"fan_in"` or `"fan_out"`, PyTorch's spelling.
    pub fn name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan_in",
            FanMode::FanOut => "fan_out",
        }
    }
}

impl fmt::Display for FanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The nonlinearity that follows a layer, which determines its recommended gain
/// ([`calculate_gain`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nonlinearity {
    /// No activation: gain 1.
    Linear,
    /// The identity: gain 1.
    Identity,
    /// Logistic sigmoid: gain 1.
    Sigmoid,
    /// Hyperbolic tangent: gain 5/3.
    Tanh,
    /// Rectified linear unit: gain √2.
    Relu,
    /// Leaky ReLU with the given negative slope: gain √(2 / (1 + slope²)).
    LeakyRelu(f32),
    /// Scaled exponential linear unit: gain 3/4.
    Selu,
}

impl Nonlinearity {
    /// PyTorch's default negative slope for `leaky_relu` (`calculate_gain('leaky_relu')`).
    pub const DEFAULT_NEGATIVE_SLOPE: f32 = 0.01;

    /// Accepted names without parameters, as [`FromStr`] spells them.
    const NAMES: [(&'static str, Nonlinearity); 7] = [
        ("linear", Nonlinearity::Linear),
        ("identity", Nonlinearity::Identity),
        ("sigmoid", Nonlinearity::Sigmoid),
        ("tanh", Nonlinearity::Tanh),
        ("relu", Nonlinearity::Relu),
        (
            "leaky_relu",
            Nonlinearity::LeakyRelu(Nonlinearity::DEFAULT_NEGATIVE_SLOPE),
        ),
        ("selu", Nonlinearity::Selu),
    ];
}

/// The recommended gain for a nonlinearity: the factor that keeps the variance of the
/// activations stable through the layer. Values are PyTorch's `calculate_gain`:
///
/// | nonlinearity | gain |
/// |---|---|
/// | linear, identity, sigmoid | 1 |
/// | tanh | 5/3 |
/// | relu | √2 |
/// | leaky_relu(slope) | √(2 / (1 + slope²)) |
/// | selu | 3/4 |
///
/// ```
/// use knit_init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(&Nonlinearity::Relu), 2f32.sqrt());
/// assert_eq!(calculate_gain(&Nonlinearity::Tanh), 5.0 / 3.0);
/// ```
pub fn calculate_gain(nonlinearity: &Nonlinearity) -> f32 {
    match *nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Identity | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => std::f32::consts::SQRT_2,
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

impl fmt::Display for Nonlinearity {
    /// The name [`FromStr`] accepts: `relu`, `leaky_relu(0.2)`, ….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Nonlinearity::LeakyRelu(slope) = self {
            return write!(f, "leaky_relu({slope})");
        }
        let (name, _) = Nonlinearity::NAMES
            .iter()
            .find(|(_, value)| value == self)
            .ok_or(fmt::Error)?;
        f.write_str(name)
    }
}

impl FromStr for Nonlinearity {
    type Err = InitError;

    /// Parses PyTorch's names: `linear`, `identity`, `sigmoid`, `tanh`, `relu`, `selu`,
    /// `leaky_relu` (slope 0.01, PyTorch's default) and `leaky_relu(<slope>)`.
    ///
    /// An unknown name gives [`InitError::UnknownNonlinearity`], whose message lists the
    /// accepted names and suggests the closest one.
    ///
    /// ```
    /// use knit_init::Nonlinearity;
    /// assert_eq!("relu".parse::<Nonlinearity>()?, Nonlinearity::Relu);
    /// assert_eq!("leaky_relu(0.2)".parse::<Nonlinearity>()?, Nonlinearity::LeakyRelu(0.2));
    /// let err = "rleu".parse::<Nonlinearity>().unwrap_err();
    /// assert!(err.to_string().contains("did you mean \"relu\"?"));
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    fn from_str(input: &str) -> Result<Self, InitError> {
        let text = input.trim();
        if let Some((_, value)) = Nonlinearity::NAMES.iter().find(|(name, _)| *name == text) {
            return Ok(*value);
        }
        let slope = text
            .strip_prefix("leaky_relu(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|inner| inner.trim().parse::<f32>().ok());
        if let Some(slope) = slope {
            return error::finite("leaky_relu", "negative_slope", slope)
                .map(Nonlinearity::LeakyRelu);
        }
        Err(InitError::UnknownNonlinearity {
            name: input.to_owned(),
            suggestion: closest_name(text),
        })
    }
}

/// The accepted name within edit distance 2 of `text` (case-insensitively), if any.
fn closest_name(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    let typed = lower.split('(').next().unwrap_or_default();
    Nonlinearity::NAMES
        .iter()
        .map(|(name, _)| (levenshtein(typed, name), *name))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Edit distance (insertions, deletions, substitutions) between two strings, by characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A new array of shape `shape` filled by `init` from [`stream`]`(seed, name)`.
///
/// The fans are [`Fans::of`]`(shape)`. A shape with fewer than two dimensions is accepted
/// only by initializers that do not need fans ([`Initializer::needs_fans`]); fan-based ones
/// then fail with [`InitError::TooFewDimensions`] like PyTorch (use [`initialize_with_fans`]
/// to give them the weight's fans instead).
pub fn initialize(
    init: &dyn Initializer,
    shape: &[usize],
    seed: u64,
    name: &str,
) -> Result<ArrayD<f32>, InitError> {
    let fans = match Fans::of(shape) {
        Ok(fans) => fans,
        // A fan-free initializer never reads them.
        Err(_) if !init.needs_fans() => Fans::new(0, 0),
        Err(err) => return Err(err),
    };
    initialize_with_fans(init, shape, fans, seed, name)
}

/// Like [`initialize`] but with explicitly given `fans`, e.g. a bias initialized from its
/// weight's fans the way PyTorch's `nn.Linear` does.
pub fn initialize_with_fans(
    init: &dyn Initializer,
    shape: &[usize],
    fans: Fans,
    seed: u64,
    name: &str,
) -> Result<ArrayD<f32>, InitError> {
    check_allocatable(shape)?;
    let mut out = ArrayD::zeros(IxDyn(shape));
    init.fill(out.view_mut(), fans, &mut stream(seed, name))?;
    Ok(out)
}

/// Rejects shapes whose `f32` buffer could not be addressed, where ndarray would panic.
fn check_allocatable(shape: &[usize]) -> Result<(), InitError> {
    let bytes = shape
        .iter()
        .filter(|&&len| len != 0)
        .try_fold(std::mem::size_of::<f32>(), |acc, &len| acc.checked_mul(len));
    match bytes {
        Some(bytes) if isize::try_from(bytes).is_ok() => Ok(()),
        _ => Err(InitError::ShapeTooLarge {
            shape: shape.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", "relu"), 4);
        assert_eq!(levenshtein("rleu", "relu"), 2);
        assert_eq!(levenshtein("leakyrelu", "leaky_relu"), 1);
        assert_eq!(levenshtein("tanh", "tanh"), 0);
    }

    #[test]
    fn closest_name_is_case_insensitive_and_bounded() {
        assert_eq!(closest_name("ReLU"), Some("relu"));
        assert_eq!(closest_name("LeakyReLU(0.1)"), Some("leaky_relu"));
        assert_eq!(closest_name("softmax"), None);
    }

    #[test]
    fn huge_shapes_are_rejected_before_allocation() {
        let err = initialize(&Zeros, &[usize::MAX, 2], 0, "w").unwrap_err();
        assert!(matches!(err, InitError::ShapeTooLarge { .. }));
        let err = initialize(&Zeros, &[usize::MAX / 2, 0, 3], 0, "w").unwrap_err();
        assert!(matches!(err, InitError::ShapeTooLarge { .. }));
        let empty = initialize(&Zeros, &[usize::MAX / 8, 0], 0, "w").unwrap();
        assert_eq!(empty.len(), 0);
    }
}
