//! Hooks through which a front end (progress bars, logs) follows training.

use crate::{EpochMetrics, TrainError, Trainer};

/// Receives progress events. Every method has an empty default.
pub trait Observer {
    /// An epoch begins with this many batches.
    fn epoch_started(&mut self, _epoch: usize, _batches: usize) {}
    /// A batch was trained: its index in the epoch, its size and its total loss.
    fn batch_finished(&mut self, _batch: usize, _examples: usize, _loss: f32) {}
    /// With norm clipping, the global gradient norm of the batch just trained, before
    /// clipping (called before [`batch_finished`](Self::batch_finished)).
    fn gradient_norm(&mut self, _norm: f64) {}
    /// An epoch ended, evaluation included.
    fn epoch_finished(&mut self, _metrics: &EpochMetrics) {}
    /// Early stopping ended the run after this epoch.
    fn stopped_early(&mut self, _epoch: usize, _best_epoch: usize) {}
    /// An epoch is complete, early-stopping bookkeeping included: the trainer's state is
    /// what a checkpoint written now must hold to resume exactly (a front end saves the
    /// last good checkpoint here). An error stops the run.
    fn epoch_committed(&mut self, _trainer: &Trainer) -> Result<(), TrainError> {
        Ok(())
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}
