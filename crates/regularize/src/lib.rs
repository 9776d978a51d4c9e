//! # knit-regularize
//!
//! Regularization as first-class pieces of a knit graph:
//!
//! * [`Dropout`]: an op defined here through knit-tensor's open `Op` trait, with inverted
//!   scaling in training, identity in evaluation and counter-based masks;
//! * [`add_penalty`]: L1, L2 and elastic-net penalties on chosen parameters, added through
//!   the graph so gradient checks cover them;
//! * [`add_tying`]: a soft penalty between parameter pairs of two models trained side by side;
//! * [`magnitude_masks`]: masks that prune the smallest weights, per layer or globally;
//! * [`Attack`] and [`signed_step`]: FGSM and PGD perturbations in the L∞ ball.
//!
//! ```
//! use knit_regularize::{add_penalty, dropout, Penalty};
//! use knit_tensor::{Executor, Graph, Mode};
//! use ndarray::{ArrayD, IxDyn};
//!
//! let mut g = Graph::new();
//! let x = g.input("x", &[4])?;
//! let h = g.dense("h1", x, ArrayD::from_elem(IxDyn(&[3, 4]), 0.5f32), None)?;
//! let h = dropout(&mut g, "drop1", h, 0.5, 7)?;
//! let data = g.sum(h, None)?;
//! let w = g.id("h1.weight")?;
//! let l2 = add_penalty(&mut g, "l2", &[w], Penalty::L2(1e-2))?;
//! let loss = g.add(data, l2)?;
//!
//! let mut exec = Executor::<f32>::new(&g);
//! exec.set_input(x, ArrayD::ones(IxDyn(&[2, 4])).view())?;
//! exec.run(loss, Mode::Eval)?; // evaluation: dropout is the identity
//! assert!((exec.scalar(l2)? - 1e-2 * 12.0 * 0.25).abs() < 1e-6);
//! assert!((exec.scalar(data)? - 2.0 * 3.0 * 2.0).abs() < 1e-5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adversarial;
mod dropout;
mod error;
mod penalty;
mod prune;
mod tying;

pub use adversarial::{signed_step, Attack};
pub use dropout::{dropout, Dropout};
pub use error::RegularizeError;
pub use penalty::{add_penalty, Penalty};
pub use prune::{magnitude_masks, sparsity, PruneScope};
pub use tying::{add_tying, TieNorm};
