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
use knit_dist::Collective;
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

/// Copies every trainable gradient of `exec`, scaled by `weight`, then `loss · weight`
/// into `flat` (cleared first; its allocation is kept from step to step). Gradients are
/// contiguous, so this is a copy and a vectorized scaling.
pub(crate) fn pack<F: Element>(exec: &mut Executor<F>, weight: F, loss: F, flat: &mut Vec<F>) {
    flat.clear();
    for (_, _, g) in exec.trainable_grads_mut() {
        match g.as_slice_memory_order() {
            Some(g) => flat.extend_from_slice(g),
            None => flat.extend(g.iter()),
        }
    }
    flat.push(loss);
    for v in flat.iter_mut() {
        *v *= weight;
    }
}

/// Writes the summed gradients of `flat` back into `exec`; returns the batch's loss (the
/// last entry).
pub(crate) fn unpack<F: Element>(exec: &mut Executor<F>, flat: &[F]) -> F {
    let mut rest = flat;
    for (_, _, mut g) in exec.trainable_grads_mut() {
        let (mine, tail) = rest.split_at(g.len());
        match g.as_slice_memory_order_mut() {
            Some(g) => g.copy_from_slice(mine),
            None => g.iter_mut().zip(mine).for_each(|(d, &s)| *d = s),
        }
        rest = tail;
    }
    rest.first().copied().unwrap_or(F::nan())
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
