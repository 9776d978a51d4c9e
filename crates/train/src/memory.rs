//! The memory a run needs, computed from the plan before anything is allocated, and the
//! refusal of a run that cannot fit in the machine's available memory.
//!
//! A run holds the executor's buffers at its largest batch (the training batch, or the
//! evaluation batch if larger: [`knit_tensor::Graph::memory`]), the optimizer's state
//! (per trainable element: momentum 1, AdaGrad 1, RMSProp 1 to 3, Adam and AdamW 2, or 3
//! with AMSGrad), the best-epoch snapshot of early stopping (one copy of the parameters),
//! and the batch copies the trainer keeps (`x_batch`, and `x_clean` for adversarial
//! training).

use crate::plan::{Batching, OptimizerSpec, Plan, Precision};
use crate::TrainError;
use knit_tensor::MemoryEstimate;

/// Bytes of a value of the run's precision.
fn value_bytes(precision: Precision) -> u64 {
    match precision {
        Precision::F32 => 4,
        Precision::F64 => 8,
    }
}

/// Tensors named in a refusal.
const NAMED: usize = 3;

/// The optimizer's state values per trainable element.
pub fn optimizer_slots(spec: &OptimizerSpec) -> u64 {
    match spec {
        OptimizerSpec::Sgd(c) => u64::from(c.momentum != 0.0),
        OptimizerSpec::Adagrad(_) => 1,
        OptimizerSpec::Rmsprop(c) => 1 + u64::from(c.momentum != 0.0) + u64::from(c.centered),
        OptimizerSpec::Adam(c) => 2 + u64::from(c.amsgrad),
        OptimizerSpec::AdamW(c) => 2 + u64::from(c.amsgrad),
    }
}

/// The batch a run's buffers grow to: the training batch (the whole training set for
/// `batch full`) or the evaluation batch, whichever is larger.
pub fn largest_batch(plan: &Plan, train_rows: usize, eval_batch: usize) -> usize {
    let train = match plan.batching {
        Batching::Full => train_rows,
        Batching::Online => 1,
        Batching::Mini(b) => b.min(train_rows.max(1)),
    };
    train.max(eval_batch.min(train_rows.max(1)))
}

/// What a run of `plan` allocates at `batch` examples per step, with `features` input
/// values per example, in the plan's precision.
pub fn run_memory(plan: &Plan, batch: usize, features: usize) -> MemoryEstimate {
    let width = value_bytes(plan.precision);
    let mut estimate = plan.graph.memory(batch, width, plan.adversarial.is_some());
    let slots = optimizer_slots(&plan.optimizer);
    for (_, param) in plan.graph.trainable_params() {
        let bytes = (param.shape.size() as u64).saturating_mul(width);
        if slots > 0 {
            estimate.push(
                param.name.clone(),
                "optimizer state",
                bytes.saturating_mul(slots),
            );
        }
        if plan.early_stop.is_some() {
            estimate.push(param.name.clone(), "best-epoch copy", bytes);
        }
    }
    let batch_copy = (batch as u64)
        .saturating_mul(features as u64)
        .saturating_mul(width);
    let copies = 1 + u64::from(plan.adversarial.is_some());
    estimate.push("batch", "copies", batch_copy.saturating_mul(copies));
    estimate
}

/// Refuses a run whose estimate exceeds `available` bytes, naming the largest tensors.
pub fn check_fits(
    estimate: &MemoryEstimate,
    available: u64,
    batch: usize,
) -> Result<(), TrainError> {
    let needed = estimate.total();
    if needed <= available {
        return Ok(());
    }
    let largest = estimate
        .largest(NAMED)
        .iter()
        .map(|t| format!("{} {} {}", t.name, t.what, knit_io::bytes_text(t.bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(TrainError::OutOfMemory {
        needed,
        available,
        batch,
        largest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use knit_tensor::TensorBytes;

    #[test]
    fn a_refusal_names_the_largest_tensors() {
        let estimate = MemoryEstimate {
            tensors: vec![
                TensorBytes {
                    name: "h1".into(),
                    what: "values",
                    bytes: 30 << 30,
                },
                TensorBytes {
                    name: "h1.weight".into(),
                    what: "values",
                    bytes: 1 << 20,
                },
                TensorBytes {
                    name: "h1".into(),
                    what: "gradients",
                    bytes: 30 << 30,
                },
            ],
        };
        assert!(check_fits(&estimate, 64 << 30, 64).is_ok());
        let err = check_fits(&estimate, 8 << 30, 1797).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the run needs about 60.0 GiB at batch 1797, but 8.0 GiB of memory is available; \
             the largest tensors: h1 values 30.0 GiB, h1 gradients 30.0 GiB, h1.weight values 1.0 MiB. \
             Use a smaller batch or smaller layers"
        );
    }
}
