//! Optimizers, learning-rate (and other) schedules and gradient clipping for knit, with
//! PyTorch's `torch.optim` update formulas.
//!
//! * Optimizers: [`Sgd`] (momentum, dampening, Nesterov, weight decay), [`Adagrad`],
//!   [`Rmsprop`] (momentum, centered), [`Adam`] (AMSGrad, L2 weight decay) and [`AdamW`]
//!   (decoupled weight decay). Each is built from [`ParamSpec`]s, [`ParamGroup`]s (learning-rate
//!   multiplier, weight-decay override, frozen) and a config whose `Default` is PyTorch's, and
//!   each implements the object-safe [`Optimizer`] trait, generic over the float type
//!   ([`Real`]: `f32` to train, `f64` to check).
//! * All optimizer state is allocated at construction; [`Optimizer::step`] allocates nothing.
//! * State is a list of named arrays under PyTorch's keys (`h1.weight.exp_avg`, …), so it
//!   saves to a safetensors file and resumes bit-exactly through [`Optimizer::load_state`].
//! * [`schedule`]: closed-form schedules behind one [`Schedule`](schedule::Schedule) trait,
//!   usable for anything that changes over training.
//! * [`clip_grad_norm`] and [`clip_grad_value`], PyTorch's formulas.
//!
//! All invalid hyper-parameters, shapes and states are typed [`OptimError`]s, never panics.
//!
//! # Example
//!
//! Minimize `f(w) = ‖w − 1‖²` with Adam, a cosine schedule and gradient clipping:
//!
//! ```
//! use knit_optim::schedule::{CosineAnnealing, Schedule};
//! use knit_optim::{clip_grad_norm, Adam, AdamConfig, Optimizer, ParamGroup, ParamSpec, Slot};
//! use ndarray::{ArrayD, IxDyn};
//!
//! let specs = [ParamSpec::new("w", &[3])];
//! let config = AdamConfig { lr: 0.1, ..AdamConfig::default() };
//! let mut opt = Adam::<f64>::new(&specs, &[ParamGroup::default()], config)?;
//! let schedule = CosineAnnealing::new(0.1, 300, 0.0)?;
//!
//! let mut w = ArrayD::<f64>::zeros(IxDyn(&[3]));
//! let mut grad = ArrayD::<f64>::zeros(IxDyn(&[3]));
//! for t in 0..300 {
//!     grad.zip_mut_with(&w, |g, &x| *g = 2.0 * (x - 1.0));
//!     clip_grad_norm(&mut [grad.view_mut()], 1.0)?;
//!     opt.set_lr(schedule.value(t));
//!     opt.step(&mut [Slot::new(w.view_mut(), grad.view())])?;
//! }
//! assert!(w.iter().all(|x| (x - 1.0).abs() < 1e-3));
//!
//! // The state is named arrays: save them anywhere, resume exactly.
//! let state = opt.state();
//! assert_eq!(state[0].0, "w.step");
//! assert_eq!(state[1].0, "w.exp_avg");
//! let mut resumed = Adam::<f64>::new(&specs, &[], config)?;
//! resumed.load_state(&state)?;
//! # Ok::<(), knit_optim::OptimError>(())
//! ```

#![warn(missing_docs)]

mod adagrad;
mod adam;
mod adamw;
mod clip;
mod divisor;
mod engine;
mod error;
mod optimizer;
mod param;
mod real;
mod rmsprop;
pub mod schedule;
mod sgd;
mod state;
mod validate;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::{clip_grad_norm, clip_grad_norm_with, clip_grad_value, grad_norm, NormType};
pub use engine::{Engine, Hyper, UpdateRule};
pub use error::OptimError;
pub use optimizer::Optimizer;
pub use param::{ParamGroup, ParamSpec, Slot};
pub use real::Real;
pub use rmsprop::{Rmsprop, RmspropConfig};
pub use sgd::{Sgd, SgdConfig};
