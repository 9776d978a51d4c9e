//! What training and evaluation measure.

/// Loss and, for classification, accuracy of one model on one dataset.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalMetrics {
    /// Mean data loss per example.
    pub loss: f64,
    /// Fraction of examples whose arg-max output is their label (classification).
    pub accuracy: Option<f64>,
    /// Accuracy within each true class (classification).
    pub per_class_accuracy: Vec<f64>,
    /// `confusion[true][predicted]` counts (classification).
    pub confusion: Vec<Vec<u64>>,
    /// Number of examples evaluated.
    pub examples: usize,
}

/// Accumulates predictions into a confusion matrix.
#[derive(Clone, Debug)]
pub(crate) struct Confusion {
    counts: Vec<Vec<u64>>,
}

impl Confusion {
    pub(crate) fn new(classes: usize) -> Self {
        Confusion {
            counts: vec![vec![0; classes]; classes],
        }
    }

    /// Adds one example.
    pub(crate) fn add(&mut self, truth: usize, predicted: usize) {
        if truth < self.counts.len() && predicted < self.counts.len() {
            self.counts[truth][predicted] += 1;
        }
    }

    /// The counts row by row (`[true][predicted]`), for a reduction over ranks.
    pub(crate) fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.iter().flatten().copied()
    }

    /// Replaces the counts, row by row, by `counts` (the reduced ones).
    pub(crate) fn set_counts(&mut self, counts: impl Iterator<Item = u64>) {
        for (c, k) in self.counts.iter_mut().flatten().zip(counts) {
            *c = k;
        }
    }

    /// Overall accuracy, per-class accuracy and the matrix.
    pub(crate) fn finish(self) -> (f64, Vec<f64>, Vec<Vec<u64>>) {
        let total: u64 = self.counts.iter().flatten().sum();
        let correct: u64 = (0..self.counts.len()).map(|k| self.counts[k][k]).sum();
        let per_class = self
            .counts
            .iter()
            .enumerate()
            .map(|(k, row)| {
                let n: u64 = row.iter().sum();
                if n == 0 {
                    0.0
                } else {
                    row[k] as f64 / n as f64
                }
            })
            .collect();
        let accuracy = if total == 0 {
            0.0
        } else {
            correct as f64 / total as f64
        };
        (accuracy, per_class, self.counts)
    }
}

/// The index of the largest value (the first one on ties; NaN is never the largest; 0 when
/// there is none).
pub(crate) fn argmax<T: PartialOrd>(row: impl Iterator<Item = T>) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in row.enumerate() {
        #[allow(clippy::eq_op)] // `v == v` is false only for NaN
        let comparable = v == v;
        if comparable && best.as_ref().is_none_or(|(_, b)| v > *b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// What one epoch of training gave.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The learning rate used.
    pub lr: f64,
    /// Mean total loss (data + penalties) over the epoch's batches, weighted by batch size.
    pub train_loss: f64,
    /// Mean data loss of each model over the epoch.
    pub train_data_loss: Vec<f64>,
    /// Training accuracy of each model over the epoch's batches (classification).
    pub train_accuracy: Vec<Option<f64>>,
    /// Each penalty's mean value over the epoch.
    pub penalties: Vec<(String, f64)>,
    /// For each tied pair (`a ~ b`), the squared distance ‖a − b‖² at the end of the epoch.
    pub tie_distances: Vec<(String, f64)>,
    /// Each model's metrics on the validation split, if there is one.
    pub validation: Vec<EvalMetrics>,
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded).
    pub seconds: f64,
    /// Training examples per second.
    pub samples_per_second: f64,
    /// With norm clipping: the global gradient norms the epoch's steps saw before clipping.
    pub clipping: Option<ClipStats>,
}

/// The global gradient norms of an epoch's steps, measured before clipping (the cliffs of a
/// recurrent net show as a few steps with norms far above the others).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClipStats {
    /// Steps taken.
    pub steps: usize,
    /// Steps whose norm exceeded the maximum, so that their gradients were scaled down.
    pub clipped: usize,
    /// The largest norm seen.
    pub largest_norm: f64,
}

impl ClipStats {
    /// Counts one step whose norm before clipping was `norm`, against the maximum `max`.
    pub fn record(&mut self, norm: f64, max: f64) {
        self.steps += 1;
        self.clipped += usize::from(norm > max);
        self.largest_norm = self.largest_norm.max(norm);
    }
}
