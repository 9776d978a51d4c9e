//! # knit-tensor
//!
//! The static computation graph under knit: nodes with shapes checked when they are added,
//! ops with a forward and a backward pass, an [`Executor`] that allocates its buffers once
//! per batch size, and a finite-difference [`gradcheck`] that every op is tested against.
//!
//! * A [`Graph`] holds inputs (with a free batch dimension), named parameters in PyTorch's
//!   layouts (`h1.weight` is `[out, in]`), constants and ops. It knows no float type.
//! * The open [`Op`] trait (shape inference) with its [`Kernel`] (forward/backward, for
//!   `f32` and `f64`) lets other crates add ops; dropout lives in `knit-regularize`.
//! * An [`Executor<F>`] runs the graph in `f32` for training or `f64` for checks, and
//!   computes gradients of any node with respect to parameters and inputs; a node used
//!   twice (a shared weight) receives the sum of its gradients.
//!
//! ```
//! use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode};
//! use ndarray::{array, ArrayD, IxDyn};
//!
//! let mut g = Graph::new();
//! let x = g.input("x", &[3])?;
//! let y = g.labels("y")?;
//! let h = g.dense("h1", x, ArrayD::from_elem(IxDyn(&[4, 3]), 0.1f32), Some(ArrayD::zeros(IxDyn(&[4]))))?;
//! let h = g.tanh(h)?;
//! let logits = g.dense("out", h, ArrayD::from_elem(IxDyn(&[2, 4]), -0.2f32), None)?;
//! let loss = g.cross_entropy(logits, y)?;
//!
//! let mut exec = Executor::<f64>::new(&g);
//! exec.set_input(x, array![[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]].view().into_dyn())?;
//! exec.set_input(y, array![0.0, 1.0].view().into_dyn())?;
//! let params: Vec<_> = g.params().map(|(id, _)| id).collect();
//! let report = gradcheck(&mut exec, loss, &params, &GradCheckConfig::default())?;
//! assert!(report.passed(), "{report}");
//! # Ok::<(), knit_tensor::TensorError>(())
//! ```

mod builder;
mod denormal;
mod error;
mod exec;
mod float;
mod gradcheck;
mod graph;
pub mod linalg;
mod memory;
mod op;
pub mod ops;
mod shape;

pub use builder::RecurrentWeights;
pub use denormal::{flush_denormals, init_thread_pool, with_thread_pool};
pub use error::TensorError;
pub use exec::Executor;
pub use float::Float;
pub use gradcheck::{
    gradcheck, gradcheck_sampled, GradCheckConfig, GradCheckEntry, GradCheckReport,
};
pub use graph::{Graph, Node, NodeId, NodeKind};
pub use memory::{MemoryEstimate, TensorBytes};
pub use op::{Arity, BackwardCtx, ForwardCtx, GradInputs, Inputs, Kernel, Mode, Op, StateSpec};
pub use shape::{broadcast_shapes, Shape};
