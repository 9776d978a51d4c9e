//! The typed errors of the crate.

use thiserror::Error;

/// Everything that can go wrong when building, stepping, saving or resuming an optimizer or a
/// schedule, or when clipping gradients.
///
/// Every message starts with the component it comes from (`adam: …`, `cosine: …`), names the
/// offending parameter, hyper-parameter or state entry, and gives the value received, e.g.
/// `adam: beta1 must be in [0, 1), got 1.2`.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A hyper-parameter outside its valid range.
    #[error("{who}: {name} must be {requirement}, got {value}")]
    Hyperparameter {
        /// The optimizer, schedule or function (`sgd`, `cosine`, `clip_grad_norm`).
        who: &'static str,
        /// The hyper-parameter (`lr`, `beta1`, `t_max`).
        name: &'static str,
        /// The valid range in words (`in [0, 1)`, `>= 0 and finite`).
        requirement: &'static str,
        /// The value received.
        value: f64,
    },
    /// Nesterov momentum asked for without momentum, or with dampening.
    #[error(
        "{who}: nesterov requires momentum > 0 and dampening = 0, got momentum {momentum} and dampening {dampening}"
    )]
    Nesterov {
        /// The optimizer (`sgd`).
        who: &'static str,
        /// The momentum received.
        momentum: f64,
        /// The dampening received.
        dampening: f64,
    },
    /// A group's `lr_mult` or `weight_decay` override outside its valid range.
    #[error("{who}: group {group}: {name} must be {requirement}, got {value}")]
    Group {
        /// The optimizer.
        who: &'static str,
        /// The group's index.
        group: usize,
        /// The field (`lr_mult`, `weight_decay`).
        name: &'static str,
        /// The valid range in words.
        requirement: &'static str,
        /// The value received.
        value: f64,
    },
    /// A parameter spec that cannot be used: unknown group, duplicate name, too many elements.
    #[error("{who}: parameter {name}: {reason}")]
    Param {
        /// The optimizer.
        who: &'static str,
        /// The parameter's name.
        name: String,
        /// What is wrong, in words.
        reason: String,
    },
    /// `step` was given a different number of slots than the optimizer has parameters.
    #[error("{who}: expected {expected} slots (one per parameter, in spec order), got {got}")]
    SlotCount {
        /// The optimizer.
        who: &'static str,
        /// The number of parameter specs.
        expected: usize,
        /// The number of slots given.
        got: usize,
    },
    /// A slot's parameter or gradient does not have its spec's shape.
    #[error("{who}: {role} of {name} has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The optimizer.
        who: &'static str,
        /// The parameter's name.
        name: String,
        /// `parameter` or `gradient`.
        role: &'static str,
        /// The spec's shape.
        expected: Vec<usize>,
        /// The shape received.
        got: Vec<usize>,
    },
    /// `load_state` was not given an entry that the configuration requires.
    #[error("{who}: state entry {key} is missing")]
    MissingState {
        /// The optimizer or schedule.
        who: &'static str,
        /// The missing key, e.g. `h1.weight.exp_avg`.
        key: String,
    },
    /// `load_state` was given an entry this configuration does not have.
    #[error("{who}: unexpected state entry {key}")]
    UnexpectedState {
        /// The optimizer or schedule.
        who: &'static str,
        /// The key that matches no parameter/buffer of this configuration.
        key: String,
    },
    /// `load_state` was given the same key twice.
    #[error("{who}: state entry {key} appears twice")]
    DuplicateState {
        /// The optimizer or schedule.
        who: &'static str,
        /// The repeated key.
        key: String,
    },
    /// A state array whose shape differs from its parameter's (or `[]` for scalars).
    #[error("{who}: state entry {key} has shape {got:?}, expected {expected:?}")]
    StateShape {
        /// The optimizer.
        who: &'static str,
        /// The key.
        key: String,
        /// The shape the configuration requires.
        expected: Vec<usize>,
        /// The shape received.
        got: Vec<usize>,
    },
    /// A state value that cannot be right (a negative or fractional step count, …).
    #[error("{who}: state entry {key} must be {requirement}, got {value}")]
    StateValue {
        /// The optimizer or schedule.
        who: &'static str,
        /// The key.
        key: String,
        /// The valid range in words.
        requirement: &'static str,
        /// The value received.
        value: f64,
    },
}
