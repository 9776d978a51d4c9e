//! Synchronous data parallelism: the pieces of a step that differ when a [`Collective`]
//! group of several ranks trains one model.
//!
//! The plan's batch is the global batch. Every rank computes the same epoch order and
//! takes a contiguous share of each batch ([`share`]); after its backward pass it scales
//! its gradients by its share of the batch, `wᵣ = kᵣ / k`, and one all-reduce adds them:
//!
//! ```text
//! Σᵣ wᵣ · ∇(1/kᵣ Σ_{i∈r} ℓᵢ + P) = ∇(1/k Σᵢ ℓᵢ) + ∇P
//! ```
//!
//! which is the single-process gradient of the batch mean plus the penalties (the weights
//! sum to one), up to the rounding of the different summation order. The batch's loss
//! travels in the same buffer, so a rank that diverges stops all of them at the same step.
//! Clipping, masks and the optimizer step then run on identical gradients on every rank,
//! and the parameters stay identical without being sent.
//!
//! Batch norm normalizes with each rank's own batch statistics (as PyTorch's
//! `DistributedDataParallel` does without `SyncBatchNorm`); the running statistics are
//! averaged over the ranks at the end of every epoch ([`average_buffers`]), before
//! validation, so that every rank evaluates, and rank 0 saves, the same model.

use crate::early_stop::{restore, snapshot};
use crate::{Checkpoint, Element, TrainError};
use knit_dist::{Collective, Contribution};
use knit_tensor::Executor;
use ndarray::ArrayD;
use std::ops::Range;
use std::path::Path;

/// The rows `rank` of `size` takes of a batch of `k` rows: `⌊k·r/N⌋ .. ⌊k·(r+1)/N⌋`,
/// contiguous, in rank order, sizes differing by at most one (empty when `k < N` for some
/// ranks).
pub(crate) fn share(k: usize, rank: usize, size: usize) -> Range<usize> {
    (k * rank / size)..(k * (rank + 1) / size)
}

/// One rank's share of a step's all-reduce: every trainable gradient of `exec`, then the
/// batch's loss, each scaled by the rank's weight `wᵣ`, written straight into the
/// collective's buffer; the sum comes back into the gradients, and its last entry is the
/// batch's loss. Gradients are contiguous, so each way is one pass of copies (with the
/// scaling fused into the write).
pub(crate) struct WeightedGradients<'a, F: Element> {
    exec: &'a mut Executor<F>,
    weight: F,
    loss: F,
    /// The number of gradient values, plus one for the loss.
    len: usize,
    /// The summed loss, once [`Contribution::read`] has run; NaN before.
    summed_loss: F,
}

impl<'a, F: Element> WeightedGradients<'a, F> {
    /// The gradients of `exec` and `loss`, to be scaled by `weight`.
    pub(crate) fn new(exec: &'a mut Executor<F>, weight: F, loss: F) -> Self {
        let len = exec
            .trainable_grads_mut()
            .map(|(_, _, g)| g.len())
            .sum::<usize>()
            + 1;
        WeightedGradients {
            exec,
            weight,
            loss,
            len,
            summed_loss: F::nan(),
        }
    }

    /// The batch's loss summed over the ranks (NaN until the all-reduce has run).
    pub(crate) fn summed_loss(&self) -> F {
        self.summed_loss
    }
}

impl<F: Element> Contribution<F> for WeightedGradients<'_, F> {
    fn len(&self) -> usize {
        self.len
    }

    fn write(&mut self, out: &mut [F]) {
        let weight = self.weight;
        let mut rest = out;
        for (_, _, g) in self.exec.trainable_grads_mut() {
            let (mine, tail) = rest.split_at_mut(g.len());
            match g.as_slice_memory_order() {
                Some(g) => mine.iter_mut().zip(g).for_each(|(d, &s)| *d = s * weight),
                None => mine
                    .iter_mut()
                    .zip(g.iter())
                    .for_each(|(d, &s)| *d = s * weight),
            }
            rest = tail;
        }
        rest[0] = self.loss * weight;
    }

    fn read(&mut self, sum: &[F]) {
        let mut rest = sum;
        for (_, _, mut g) in self.exec.trainable_grads_mut() {
            let (mine, tail) = rest.split_at(g.len());
            match g.as_slice_memory_order_mut() {
                Some(g) => g.copy_from_slice(mine),
                None => g.iter_mut().zip(mine).for_each(|(d, &s)| *d = s),
            }
            rest = tail;
        }
        self.summed_loss = rest[0];
    }
}

/// Replaces every running statistic of `exec` (batch norm's mean and variance, and its
/// step counter, which is the same everywhere) by its mean over the ranks.
pub(crate) fn average_buffers<F: Element>(
    exec: &mut Executor<F>,
    group: &dyn Collective,
) -> Result<(), TrainError> {
    let buffers: Vec<(String, ArrayD<F>)> = exec
        .buffers()
        .into_iter()
        .map(|(name, value)| (name, value.to_owned()))
        .collect();
    let mut flat: Vec<F> = buffers
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    F::all_reduce_sum(group, &mut flat)?;
    let scale = F::one() / F::lit(group.size() as f64);
    let mut rest = flat.as_slice();
    for (name, mut value) in buffers {
        let (mine, tail) = rest.split_at(value.len());
        for (v, &s) in value.iter_mut().zip(mine) {
            *v = s * scale;
        }
        exec.set_buffer(&name, value.view())?;
        rest = tail;
    }
    Ok(())
}

impl<F: Element> crate::Trainer<F> {
    /// Makes every rank's parameters and buffers rank 0's: a safeguard at the start of a
    /// data-parallel run (they are already equal when every rank compiled the same file with
    /// the same seed, or loaded the same checkpoint). Rank 0's [`snapshot`] travels as
    /// checkpoint bytes and is [`restore`]d on the others. Returns how many values differed
    /// on this rank before, which is 0 unless the ranks were started differently.
    pub fn broadcast_state(&mut self, group: &dyn Collective) -> Result<usize, TrainError> {
        let origin = Path::new("rank 0's parameters");
        let mine = snapshot(&self.exec);
        let mut bytes = Vec::new();
        if group.is_root() {
            let state = Checkpoint {
                tensors: mine.iter().cloned().collect(),
                ..Checkpoint::default()
            };
            bytes = state.to_bytes(origin)?;
        }
        group.broadcast_bytes(&mut bytes, 0)?;
        if group.is_root() {
            return Ok(0);
        }
        let root = Checkpoint::<F>::from_bytes_as(&bytes, origin)?;
        let mut differed = 0;
        let mut theirs = Vec::with_capacity(mine.len());
        for (name, value) in mine {
            let sent = root
                .tensors
                .get(&name)
                .filter(|t| t.shape() == value.shape())
                .ok_or_else(|| TrainError::Checkpoint {
                    path: origin.to_path_buf(),
                    message: format!(
                        "'{name}' is missing or of another shape: rank 0 runs another program"
                    ),
                })?;
            differed += value
                .iter()
                .zip(sent.iter())
                .filter(|(a, b)| a.as_f64().to_bits() != b.as_f64().to_bits())
                .count();
            theirs.push((name, sent.clone()));
        }
        restore(&mut self.exec, &theirs)?;
        Ok(differed)
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_cover_the_batch_in_rank_order() {
        let parts: Vec<_> = (0..3).map(|r| share(10, r, 3)).collect();
        assert_eq!(parts, vec![0..3, 3..6, 6..10]);
        assert_eq!(share(1, 0, 2), 0..0);
        assert_eq!(share(1, 1, 2), 0..1);
        assert_eq!(share(64, 0, 1), 0..64);
    }
}
