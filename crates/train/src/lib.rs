//! # knit-train
//!
//! The trainer's input: a [`Plan`], everything a training run needs as plain Rust values,
//! buildable by hand or compiled from a `.net` file by `knit-dsl`.

mod plan;

pub use plan::{
    AdversarialSpec, Attack, BaggingSpec, Batching, Clip, Combine, EarlyStop, Floor, Metric, ModelNodes,
    OptimizerSpec, Plan, PruneScope, PruneSpec, ScheduleSpec, ScheduleUnit, Task, Transfer,
};
