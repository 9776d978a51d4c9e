//! # knit-study
//!
//! The techniques study of `docs/techniques.md`: every regularization technique and training
//! procedure of knit measured on small data over several seeds, with and without the
//! technique. Each experiment is a `.net` file in `dsl-examples/techniques/`; the study
//! compiles it with knit-dsl, replaces its seed, trains it in-process with knit-train,
//! measures it and writes the tables and the sentences that read them.
//!
//! Run it with `cargo run --release -p knit-study -- [--seeds 0,1,2] [--out FILE]
//! [--only NAME...]`.

#![warn(missing_docs)]

pub mod dependencies;
pub mod document;
pub mod ensemble;
mod error;
pub mod experiments;
pub mod findings;
pub mod measure;
pub mod program;
pub mod pruning;
pub mod robustness;
pub mod space;
pub mod stats;
pub mod study;
pub mod table;
pub mod transfer;

pub use error::StudyError;
