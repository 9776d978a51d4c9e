//! The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural
//! Networks", §3.3): from the plan's initial weights, one optimizer step per batch with the
//! learning rate rising exponentially from `start` to `end`, recording the loss, until the
//! loss diverges. The curve of smoothed loss against the rate shows where training starts
//! to work, where it is fastest and where it breaks.

use crate::trainer::EpochSums;
use crate::{Element, TrainError, Trainer};
use knit_data::epoch_order;

/// The settings of a range test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeTest {
    /// The first learning rate (> 0).
    pub start: f64,
    /// The last learning rate (> `start`).
    pub end: f64,
    /// At most this many steps (at least 2); the rate of step `i` of `n` is
    /// `start · (end/start)^(i/(n−1))`.
    pub steps: usize,
    /// The smoothing of the loss: `s_i = β s_{i−1} + (1 − β) ℓ_i`, reported bias-corrected,
    /// `s_i / (1 − β^(i+1))` (as fastai's finder).
    pub beta: f64,
    /// The test stops once the smoothed loss exceeds this many times its lowest value.
    pub diverge_factor: f64,
}

impl Default for RangeTest {
    /// 1e-7 to 10 over 100 steps, β = 0.98, stop at 4× the lowest smoothed loss.
    fn default() -> Self {
        RangeTest {
            start: 1e-7,
            end: 10.0,
            steps: 100,
            beta: 0.98,
            diverge_factor: 4.0,
        }
    }
}

/// One step of the test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangePoint {
    /// The learning rate of the step.
    pub lr: f64,
    /// The batch's loss before the step.
    pub loss: f64,
    /// The smoothed loss, bias-corrected.
    pub smoothed: f64,
}

/// The test's result: the points and why it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeCurve {
    /// One point per step taken.
    pub points: Vec<RangePoint>,
    /// Whether the loss diverged (non-finite, or above the factor) before the last rate.
    pub diverged: bool,
}

impl RangeCurve {
    /// The suggested rate and the rule that chose it: the rate of the steepest descent of
    /// the smoothed loss against log(lr) (the most negative finite difference between
    /// neighbouring points, up to the lowest smoothed loss), as Smith and fastai read the
    /// curve; `None` with fewer than 3 points before the minimum.
    pub fn steepest(&self) -> Option<f64> {
        let lowest = self.lowest()?;
        let points = &self.points[..=lowest];
        if points.len() < 3 {
            return None;
        }
        points
            .windows(2)
            .map(|w| {
                let slope = (w[1].smoothed - w[0].smoothed) / (w[1].lr.ln() - w[0].lr.ln());
                (w[0].lr, slope)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(lr, _)| lr)
    }

    /// The index of the lowest smoothed loss.
    pub fn lowest(&self) -> Option<usize> {
        self.points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.smoothed.is_finite())
            .min_by(|a, b| a.1.smoothed.total_cmp(&b.1.smoothed))
            .map(|(i, _)| i)
    }

    /// A tenth of the rate of the lowest smoothed loss (the other common reading).
    pub fn tenth_of_minimum(&self) -> Option<f64> {
        self.lowest().map(|i| self.points[i].lr / 10.0)
    }
}

impl<F: Element> Trainer<F> {
    /// Runs the range test `test` on this trainer's training split, from its current
    /// weights (a fresh trainer's are the plan's initial ones); the trainer is spent
    /// afterwards (its weights and optimizer state have moved). Batches follow the plan's
    /// order, epoch after epoch, for as many steps as the test takes.
    pub fn lr_range_test(&mut self, test: RangeTest) -> Result<RangeCurve, TrainError> {
        if !(test.start > 0.0 && test.end > test.start && test.end.is_finite() && test.steps >= 2) {
            return Err(TrainError::Procedure {
                procedure: "lr-find",
                message: format!(
                    "needs 0 < start < end and at least 2 steps, got start {}, end {}, {} steps",
                    test.start, test.end, test.steps
                ),
            });
        }
        let n = self.data.train.len();
        let batch = crate::trainer::batch_size(self.plan.batching, n).max(1);
        let batches = n.div_ceil(batch).max(1);
        let mut sums = EpochSums::new(self.plan.models.len(), self.plan.penalties.len());
        let (mut points, mut average, mut best) = (Vec::new(), 0.0, f64::INFINITY);
        let mut diverged = false;
        for i in 0..test.steps {
            let b = i % batches;
            if b == 0 {
                let epoch = (i / batches) as u64;
                epoch_order(n, self.plan.shuffle, self.plan.seed, epoch, &mut self.order);
            }
            let lr = test.start * (test.end / test.start).powf(i as f64 / (test.steps - 1) as f64);
            self.optimizer.set_lr(lr);
            let range = b * batch..((b + 1) * batch).min(n);
            let loss = match self.step_on(range, &mut sums) {
                Ok(loss) => loss.as_f64(),
                Err(TrainError::Diverged { .. }) => f64::NAN,
                Err(e) => return Err(e),
            };
            average = test.beta * average + (1.0 - test.beta) * loss;
            let smoothed = average / (1.0 - test.beta.powi(i as i32 + 1));
            points.push(RangePoint { lr, loss, smoothed });
            if !smoothed.is_finite() || smoothed > test.diverge_factor * best {
                diverged = i + 1 < test.steps;
                break;
            }
            best = best.min(smoothed);
        }
        Ok(RangeCurve { points, diverged })
    }
}
