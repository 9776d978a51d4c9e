//! Magnitude pruning: masks that zero the smallest weights.
//!
//! Pruning removes weights after training to cut computation and storage; dropout switches
//! units off at random during training to regularize. A pruned weight stays exactly zero
//! while the network is retrained: the trainer multiplies its gradient, its optimizer state
//! and the weight itself by the mask at every step.

use knit_tensor::Float;

/// Whether weights are ranked within each parameter or across all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneScope {
    /// Zero the smallest fraction of every parameter separately.
    PerLayer,
    /// Zero the smallest fraction of all the parameters' weights together.
    Global,
}

/// Masks (1 = keep, 0 = pruned) that zero the `sparsity` fraction of smallest-magnitude
/// weights, per layer or globally.
///
/// Exactly `round(sparsity · n)` weights are pruned (n per parameter, or in total); ties in
/// magnitude are broken by position, so the result is deterministic. Weights already zero
/// are the smallest and go first, so masks of a rising sparsity are nested.
pub fn magnitude_masks<T: Float>(params: &[&[T]], sparsity: f64, scope: PruneScope) -> Vec<Vec<T>> {
    let sparsity = sparsity.clamp(0.0, 1.0);
    match scope {
        PruneScope::PerLayer => params
            .iter()
            .map(|p| {
                let mut mask = vec![T::one(); p.len()];
                prune_smallest(&[p], &mut [&mut mask], sparsity);
                mask
            })
            .collect(),
        PruneScope::Global => {
            let mut masks: Vec<Vec<T>> = params.iter().map(|p| vec![T::one(); p.len()]).collect();
            let mut refs: Vec<&mut [T]> = masks.iter_mut().map(Vec::as_mut_slice).collect();
            prune_smallest(params, &mut refs, sparsity);
            masks
        }
    }
}

/// Zeroes in `masks` the entries of the `sparsity` fraction of smallest |w| over `params`.
fn prune_smallest<T: Float>(params: &[&[T]], masks: &mut [&mut [T]], sparsity: f64) {
    // |w| widened to f64 (exactly) orders the weights as in their own type.
    let mut order: Vec<(f64, usize, usize)> = params
        .iter()
        .enumerate()
        .flat_map(|(k, p)| {
            p.iter()
                .enumerate()
                .map(move |(i, w)| (w.abs().as_f64(), k, i))
        })
        .collect();
    let count = (sparsity * order.len() as f64).round() as usize;
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for &(_, k, i) in &order[..count] {
        masks[k][i] = T::zero();
    }
}

/// Fraction of zero entries in masks.
pub fn sparsity<T: Float>(masks: &[Vec<T>]) -> f64 {
    let total: usize = masks.iter().map(Vec::len).sum();
    let zeros: usize = masks.iter().flatten().filter(|&&m| m == T::zero()).count();
    if total == 0 {
        0.0
    } else {
        zeros as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_layer_prunes_the_smallest_of_each() {
        let a = [0.5f32, -0.1, 0.3, -0.9];
        let b = [10.0f32, 20.0];
        let masks = magnitude_masks(&[&a, &b], 0.5, PruneScope::PerLayer);
        assert_eq!(masks, vec![vec![1.0, 0.0, 0.0, 1.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn global_ranks_across_parameters() {
        let a = [0.5f32, -0.1, 0.3, -0.9];
        let b = [10.0f32, 20.0];
        let masks = magnitude_masks(&[&a, &b], 0.5, PruneScope::Global);
        assert_eq!(masks, vec![vec![0.0, 0.0, 0.0, 1.0], vec![1.0, 1.0]]);
        assert!((sparsity(&masks) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ties_are_broken_by_position_and_zeros_go_first() {
        let a = [0.0f32, 1.0, 1.0, 1.0, 0.0];
        let masks = magnitude_masks(&[&a], 0.6, PruneScope::PerLayer);
        assert_eq!(masks, vec![vec![0.0, 0.0, 1.0, 1.0, 0.0]]);
    }
}
