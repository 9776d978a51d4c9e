//! Hooks through which a front end (progress bars, logs) follows training.

use crate::EpochMetrics;

/// Receives progress events. Every method has an empty default.
pub trait Observer {
    /// An epoch begins with this many batches.
    fn epoch_started(&mut self, _epoch: usize, _batches: usize) {}
    /// A batch was trained: its index in the epoch, its size and its total loss.
    fn batch_finished(&mut self, _batch: usize, _examples: usize, _loss: f32) {}
    /// An epoch ended, evaluation included.
    fn epoch_finished(&mut self, _metrics: &EpochMetrics) {}
    /// Early stopping ended the run after this epoch.
    fn stopped_early(&mut self, _epoch: usize, _best_epoch: usize) {}
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}
