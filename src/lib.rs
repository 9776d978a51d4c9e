//! # knit
//!
//! Describe deep neural networks in a small language and train them on the CPU. This facade
//! re-exports knit's crates so that one dependency gives all of them:
//!
//! * [`tensor`]: the static computation graph, ops with forward and backward, the
//!   executor and the finite-difference gradient checker;
//! * [`init`]: seeded weight initializers (Glorot, He, LeCun, orthogonal, ...);
//! * [`optim`]: optimizers, learning-rate schedules and gradient clipping;
//! * [`regularize`]: dropout, L1/L2 penalties and parameter tying;
//! * [`data`]: CSV, IDX, NPY/NPZ and synthetic datasets, splits, scaling, batch order;
//! * [`train`]: the `Plan` of a run and the `Trainer` that runs it, with checkpoints.

pub use knit_data as data;
pub use knit_init as init;
pub use knit_optim as optim;
pub use knit_regularize as regularize;
pub use knit_tensor as tensor;
pub use knit_train as train;

/// The README's Rust code, compiled and run as doc tests so that it stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
