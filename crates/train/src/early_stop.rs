//! Early stopping: watch a validation metric, stop after `patience` epochs without
//! improvement, and remember the best weights.

use crate::element::Element;
use crate::metrics::EpochMetrics;
use crate::{EarlyStop, Metric, TrainError};
use knit_tensor::Executor;
use ndarray::ArrayD;

/// The state of early stopping over a run.
#[derive(Clone, Debug)]
pub(crate) struct EarlyStopper<F> {
    pub(crate) config: EarlyStop,
    pub(crate) best: Option<f64>,
    pub(crate) best_epoch: usize,
    pub(crate) waited: usize,
    /// Parameters and buffers at the best epoch (when they are to be restored).
    pub(crate) snapshot: Vec<(String, ArrayD<F>)>,
}

impl<F: Element> EarlyStopper<F> {
    pub(crate) fn new(config: EarlyStop) -> Self {
        EarlyStopper {
            config,
            best: None,
            best_epoch: 0,
            waited: 0,
            snapshot: Vec::new(),
        }
    }

    /// The epoch with the best metric so far.
    pub(crate) fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Records an epoch; returns whether training should stop.
    ///
    /// The metric is the first model's validation loss or accuracy (training loss when there
    /// is no validation split). An epoch improves when it beats the best by more than
    /// `min_delta`.
    pub(crate) fn observe(&mut self, metrics: &EpochMetrics, exec: &Executor<F>) -> bool {
        let validation = metrics.validation.first();
        let (value, higher_is_better) = match self.config.metric {
            Metric::ValLoss => (validation.map_or(metrics.train_loss, |v| v.loss), false),
            Metric::ValAccuracy => (
                validation
                    .and_then(|v| v.accuracy)
                    .or(metrics.train_accuracy.first().copied().flatten())
                    .unwrap_or(0.0),
                true,
            ),
        };
        let improved = match self.best {
            None => true,
            Some(best) if higher_is_better => value > best + self.config.min_delta,
            Some(best) => value < best - self.config.min_delta,
        };
        if improved {
            self.best = Some(value);
            self.best_epoch = metrics.epoch;
            self.waited = 0;
            if self.config.restore_best {
                self.snapshot = snapshot(exec);
            }
            false
        } else {
            self.waited += 1;
            self.waited > self.config.patience
        }
    }

    /// Puts the best epoch's parameters and buffers back.
    pub(crate) fn restore(&self, exec: &mut Executor<F>) -> Result<(), TrainError> {
        restore(exec, &self.snapshot)
    }
}

/// Puts saved parameters and buffers (from [`snapshot`]) back into the executor.
pub(crate) fn restore<F: Element>(
    exec: &mut Executor<F>,
    saved: &[(String, ArrayD<F>)],
) -> Result<(), TrainError> {
    for (name, value) in saved {
        if exec.graph().params().any(|(_, n)| &n.name == name) {
            exec.set_param(name, value.view())?;
        } else {
            exec.set_buffer(name, value.view())?;
        }
    }
    Ok(())
}

/// Copies of every parameter and buffer.
pub(crate) fn snapshot<F: Element>(exec: &Executor<F>) -> Vec<(String, ArrayD<F>)> {
    let mut out: Vec<(String, ArrayD<F>)> = exec
        .graph()
        .params()
        .map(|(id, n)| (n.name.clone(), exec.value(id).map(|v| v.to_owned())))
        .filter_map(|(n, v)| v.ok().map(|v| (n, v)))
        .collect();
    out.extend(exec.buffers().into_iter().map(|(n, v)| (n, v.to_owned())));
    out
}
