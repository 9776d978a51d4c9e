//! What an optimizer is built from (parameter specs and groups) and what it steps (slots).

use ndarray::{ArrayViewD, ArrayViewMutD};

/// One trainable parameter as the optimizer sees it: a unique name, a shape, a group.
///
/// The name prefixes the parameter's state keys (`h1.weight` → `h1.weight.exp_avg`), so names
/// must be unique within one optimizer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParamSpec {
    /// Unique name, e.g. `h1.weight`.
    pub name: String,
    /// Shape of the parameter (and of its gradient and per-element state).
    pub shape: Vec<usize>,
    /// Index into the optimizer's [`ParamGroup`] list (0 is the default group).
    pub group: usize,
}

impl ParamSpec {
    /// A parameter in the default group 0.
    pub fn new(name: impl Into<String>, shape: &[usize]) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
            group: 0,
        }
    }

    /// The same parameter in group `group`.
    #[must_use]
    pub fn in_group(mut self, group: usize) -> Self {
        self.group = group;
        self
    }

    /// Number of elements, `∏ shape` (`None` on overflow).
    pub fn numel(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }
}

/// Per-group overrides, applied to every parameter whose [`ParamSpec::group`] points here.
///
/// For a parameter of this group the effective learning rate is `lr · lr_mult` (with `lr` the
/// optimizer's base rate, as set by [`Optimizer::set_lr`](crate::Optimizer::set_lr)) and the
/// effective weight decay is `weight_decay.unwrap_or(config.weight_decay)`. A frozen group is
/// skipped by `step`: its parameters and state stay bit-identical.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamGroup {
    /// Multiplier on the base learning rate (`>= 0`, finite). Default 1.
    pub lr_mult: f64,
    /// Weight decay for this group instead of the optimizer's (`>= 0`, finite). Default `None`.
    /// Typical use: `Some(0.0)` for biases and norm gains.
    pub weight_decay: Option<f64>,
    /// Skip this group's parameters entirely. Default `false`.
    pub frozen: bool,
}

impl Default for ParamGroup {
    fn default() -> Self {
        Self {
            lr_mult: 1.0,
            weight_decay: None,
            frozen: false,
        }
    }
}

impl ParamGroup {
    /// This group with learning-rate multiplier `lr_mult`.
    #[must_use]
    pub fn with_lr_mult(mut self, lr_mult: f64) -> Self {
        self.lr_mult = lr_mult;
        self
    }

    /// This group with its own weight decay.
    #[must_use]
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }

    /// This group frozen (or not).
    #[must_use]
    pub fn with_frozen(mut self, frozen: bool) -> Self {
        self.frozen = frozen;
        self
    }
}

/// A parameter and its gradient, handed to [`Optimizer::step`](crate::Optimizer::step).
///
/// Both views must have the shape of the matching [`ParamSpec`]. Standard-layout (C-order
/// contiguous) views take the fast path, a loop over contiguous slices; other layouts are
/// copied through a scratch buffer that is allocated the first time such a slot is seen.
#[derive(Debug)]
pub struct Slot<'a, F> {
    /// The parameter, updated in place.
    pub param: ArrayViewMutD<'a, F>,
    /// Its gradient, read only.
    pub grad: ArrayViewD<'a, F>,
}

impl<'a, F> Slot<'a, F> {
    /// Pairs a parameter with its gradient.
    pub fn new(param: ArrayViewMutD<'a, F>, grad: ArrayViewD<'a, F>) -> Self {
        Self { param, grad }
    }
}
