//! One file per subcommand.

pub mod attack;
pub mod bench;
pub mod check;
pub mod common;
pub mod eval;
pub mod explain;
pub mod export;
pub mod fmt;
pub mod gradcheck;
pub mod gradflow;
pub mod lr_find;
pub mod metrics_log;
pub mod predict;
pub mod sweep;
pub mod train;
pub mod world;
