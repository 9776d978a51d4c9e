//! # knit-train
//!
//! The trainer. It takes a [`Plan`] — everything a training run needs as plain Rust values,
//! buildable by hand or compiled from a `.net` file by `knit-dsl` — and loaded data, and runs
//! epochs: batches → forward → loss + penalties → backward → clipping → optimizer step →
//! schedule step, evaluating each epoch and stopping early when asked.

mod adversarial;
mod bagging;
mod checkpoint;
mod distributed;
mod early_stop;
mod element;
mod ensemble;
mod error;
mod evaluate;
mod gradflow;
mod lr_find;
mod memory;
mod metrics;
mod observer;
mod plan;
mod predict;
mod prune;
mod resume;
mod trainer;
mod validate;

pub use bagging::{
    ensemble_memory, member_seed, train_bagging, train_bagging_in, train_bagging_observed,
    BaggingReport, MemberObserver,
};
pub use checkpoint::{
    is_counter, read_limit, write_atomically, Checkpoint, COUNTER_SUFFIX, PRIVATE_PREFIX,
};
pub use element::Element;
pub use ensemble::{Ensemble, Score, Scores, ENSEMBLE_COMBINE, ENSEMBLE_MEMBERS};
pub use error::TrainError;
pub use gradflow::{gradient_flow, GradientFlow, StepNorms};
pub use lr_find::{RangeCurve, RangePoint, RangeTest};
pub use memory::{check_fits, largest_batch, optimizer_slots, run_memory};
pub use metrics::{ClipStats, EpochMetrics, EvalMetrics};
pub use observer::{Both, Observer, Silent};
pub use plan::{
    AdversarialSpec, Attack, BaggingSpec, Batching, Clip, Combine, EarlyStop, Floor, Metric,
    ModelNodes, OptimizerSpec, ParamInit, Plan, Precision, PruneScope, PruneSpec, ScheduleSpec,
    ScheduleUnit, Task, Transfer,
};
pub use predict::{softmax_rows, Predictions};
pub use prune::{PruneReport, PruneRound};
pub use trainer::{Report, TrainOptions, Trainer};
