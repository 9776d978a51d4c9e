//! # knit-data
//!
//! What a knit program says about its data, as plain Rust values: where examples come from
//! ([`Source`]), how they are split ([`Split`]) and scaled ([`Scaling`]). Loading and batch
//! iteration build on these descriptions.

mod spec;

pub use spec::{DataSpec, Header, LabelColumn, Scaling, Source, Split, Synthetic};
