//! Hooks through which a front end (progress bars, logs) follows training.

use crate::{Element, EpochMetrics, TrainError, Trainer};

/// Receives progress events of a run computing in `F`. Every method has an empty default.
pub trait Observer<F: Element = f32> {
    /// An epoch begins with this many batches.
    fn epoch_started(&mut self, _epoch: usize, _batches: usize) {}
    /// A batch was trained: its index in the epoch, its size and its total loss.
    fn batch_finished(&mut self, _batch: usize, _examples: usize, _loss: f64) {}
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
    fn epoch_committed(&mut self, _trainer: &Trainer<F>) -> Result<(), TrainError> {
        Ok(())
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<F: Element> Observer<F> for Silent {}

/// Two observers following one run, `.0` told first: a progress display and a log, say.
/// An error from [`Observer::epoch_committed`] of the first stops the run before the
/// second is told.
#[derive(Clone, Copy, Debug, Default)]
pub struct Both<A, B>(pub A, pub B);

impl<F: Element, A: Observer<F>, B: Observer<F>> Observer<F> for Both<A, B> {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        self.0.epoch_started(epoch, batches);
        self.1.epoch_started(epoch, batches);
    }
    fn batch_finished(&mut self, batch: usize, examples: usize, loss: f64) {
        self.0.batch_finished(batch, examples, loss);
        self.1.batch_finished(batch, examples, loss);
    }
    fn gradient_norm(&mut self, norm: f64) {
        self.0.gradient_norm(norm);
        self.1.gradient_norm(norm);
    }
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        self.0.epoch_finished(metrics);
        self.1.epoch_finished(metrics);
    }
    fn stopped_early(&mut self, epoch: usize, best_epoch: usize) {
        self.0.stopped_early(epoch, best_epoch);
        self.1.stopped_early(epoch, best_epoch);
    }
    fn epoch_committed(&mut self, trainer: &Trainer<F>) -> Result<(), TrainError> {
        self.0.epoch_committed(trainer)?;
        self.1.epoch_committed(trainer)
    }
}

/// An observer that may be absent (`None` ignores everything), for an optional log.
impl<F: Element, O: Observer<F>> Observer<F> for Option<O> {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        if let Some(o) = self {
            o.epoch_started(epoch, batches);
        }
    }
    fn batch_finished(&mut self, batch: usize, examples: usize, loss: f64) {
        if let Some(o) = self {
            o.batch_finished(batch, examples, loss);
        }
    }
    fn gradient_norm(&mut self, norm: f64) {
        if let Some(o) = self {
            o.gradient_norm(norm);
        }
    }
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        if let Some(o) = self {
            o.epoch_finished(metrics);
        }
    }
    fn stopped_early(&mut self, epoch: usize, best_epoch: usize) {
        if let Some(o) = self {
            o.stopped_early(epoch, best_epoch);
        }
    }
    fn epoch_committed(&mut self, trainer: &Trainer<F>) -> Result<(), TrainError> {
        match self {
            Some(o) => o.epoch_committed(trainer),
            None => Ok(()),
        }
    }
}

/// An observer borrowed for a while (to follow a run, then be used again).
impl<F: Element, O: Observer<F> + ?Sized> Observer<F> for &mut O {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        (**self).epoch_started(epoch, batches);
    }
    fn batch_finished(&mut self, batch: usize, examples: usize, loss: f64) {
        (**self).batch_finished(batch, examples, loss);
    }
    fn gradient_norm(&mut self, norm: f64) {
        (**self).gradient_norm(norm);
    }
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        (**self).epoch_finished(metrics);
    }
    fn stopped_early(&mut self, epoch: usize, best_epoch: usize) {
        (**self).stopped_early(epoch, best_epoch);
    }
    fn epoch_committed(&mut self, trainer: &Trainer<F>) -> Result<(), TrainError> {
        (**self).epoch_committed(trainer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the batches it is told of, under its name.
    struct Record<'a>(
        &'static str,
        &'a std::cell::RefCell<Vec<(&'static str, usize)>>,
    );

    impl Observer for Record<'_> {
        fn batch_finished(&mut self, batch: usize, _examples: usize, _loss: f64) {
            self.1.borrow_mut().push((self.0, batch));
        }
    }

    #[test]
    fn both_tells_the_first_then_the_second_and_none_ignores() {
        let seen = std::cell::RefCell::new(Vec::new());
        let mut first = Record("first", &seen);
        let mut pair = Both(&mut first, Some(Record("second", &seen)));
        pair.batch_finished(0, 8, 1.0);
        pair.batch_finished(1, 8, 1.0);
        let mut absent: Option<Record> = None;
        Both(&mut absent, Record("third", &seen)).batch_finished(2, 8, 1.0);
        assert_eq!(
            *seen.borrow(),
            [
                ("first", 0),
                ("second", 0),
                ("first", 1),
                ("second", 1),
                ("third", 2)
            ]
        );
    }
}
