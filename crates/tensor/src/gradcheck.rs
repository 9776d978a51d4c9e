//! A finite-difference gradient checker in `f64`.

use crate::graph::NodeKind;
use crate::{Executor, Mode, NodeId, TensorError};
use std::fmt;

/// Settings of [`gradcheck`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheckConfig {
    /// The finite-difference step h.
    pub step: f64,
    /// Relative tolerance: an element passes if `|a − n| ≤ rtol · max(|a|, |n|)` …
    pub rtol: f64,
    /// … or if `|a − n| ≤ atol` (for gradients that are zero up to rounding).
    pub atol: f64,
    /// The mode of the forward passes (batch norm differs between the two).
    pub mode: Mode,
}

impl Default for GradCheckConfig {
    /// h = 1e-4 with the fourth-order stencil below (truncation error ~h⁴, rounding ~1e-16/h),
    /// rtol = 1e-6, atol = 1e-9.
    fn default() -> Self {
        GradCheckConfig {
            step: 1e-4,
            rtol: 1e-6,
            atol: 1e-9,
            mode: Mode::Train,
        }
    }
}

/// The comparison for one parameter or input.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckEntry {
    /// The node's name.
    pub name: String,
    /// How many elements were compared.
    pub elements: usize,
    /// How many elements the node has (more than `elements` when sampled).
    pub total: usize,
    /// The largest `|analytic − numeric|`.
    pub max_abs_error: f64,
    /// The largest `|a − n| / max(|a|, |n|)` among elements with `max(|a|, |n|) > atol`.
    pub max_rel_error: f64,
    /// The multi-index of the element furthest outside its tolerance (or closest to it).
    pub worst_index: Vec<usize>,
    /// The analytic gradient there.
    pub analytic: f64,
    /// The finite-difference gradient there.
    pub numeric: f64,
    /// Whether every element is within tolerance.
    pub passed: bool,
}

/// The result of a gradient check: one entry per parameter or input.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// One entry per checked node, in the order asked.
    pub entries: Vec<GradCheckEntry>,
}

impl GradCheckReport {
    /// Whether every element of every node passed.
    pub fn passed(&self) -> bool {
        self.entries.iter().all(|e| e.passed)
    }
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:>8} {:>12} {:>12} {:>14} {:>14} {:>14}  result",
            "node", "checked", "max abs err", "max rel err", "worst at", "analytic", "numeric"
        )?;
        for e in &self.entries {
            writeln!(
                f,
                "{:<24} {:>8} {:>12.3e} {:>12.3e} {:>14} {:>14.6e} {:>14.6e}  {}",
                e.name,
                if e.elements == e.total {
                    e.elements.to_string()
                } else {
                    format!("{}/{}", e.elements, e.total)
                },
                e.max_abs_error,
                e.max_rel_error,
                format!("{:?}", e.worst_index),
                e.analytic,
                e.numeric,
                if e.passed { "ok" } else { "FAIL" }
            )?;
        }
        Ok(())
    }
}

/// Compares the executor's analytic gradients of the scalar `loss` with respect to each node
/// in `wrt` (parameters or inputs; inputs are switched to require a gradient) against
/// central finite differences.
///
/// The numeric derivative uses the fourth-order central stencil
/// `f'(x) ≈ (8·(f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / (12h)`, whose truncation error is
/// O(h⁴); values are restored exactly after each element. Functions with kinks (relu, |x|)
/// are only comparable where no kink lies within 2h of an input; callers keep their inputs
/// away from kinks.
pub fn gradcheck(
    exec: &mut Executor<f64>,
    loss: NodeId,
    wrt: &[NodeId],
    config: &GradCheckConfig,
) -> Result<GradCheckReport, TensorError> {
    gradcheck_sampled(exec, loss, wrt, config, usize::MAX, 0)
}

/// [`gradcheck`] on at most `per_node` elements of each node, chosen uniformly without
/// replacement by a stream seeded with `seed` (the same seed checks the same elements),
/// so that a large model is checked in seconds: every element costs four forward passes.
/// A node with at most `per_node` elements is checked whole.
pub fn gradcheck_sampled(
    exec: &mut Executor<f64>,
    loss: NodeId,
    wrt: &[NodeId],
    config: &GradCheckConfig,
    per_node: usize,
    seed: u64,
) -> Result<GradCheckReport, TensorError> {
    let loss_node = exec.graph().node(loss)?.clone();
    if !loss_node.shape.is_scalar() {
        return Err(TensorError::NotScalar {
            node: loss_node.name,
            shape: loss_node.shape,
        });
    }
    for &id in wrt {
        if matches!(exec.graph().node(id)?.kind, NodeKind::Input) {
            exec.require_grad(id)?;
        }
    }
    exec.run(loss, config.mode)?;
    exec.backward(loss)?;
    let analytic: Vec<_> = wrt
        .iter()
        .map(|&id| exec.grad(id).map(|g| g.to_owned()))
        .collect::<Result<_, _>>()?;

    let mut entries = Vec::with_capacity(wrt.len());
    for (&id, analytic) in wrt.iter().zip(analytic) {
        let name = exec.graph().node(id)?.name.clone();
        let chosen = sample(analytic.len(), per_node, seed ^ id.0 as u64);
        let mut entry = GradCheckEntry {
            name,
            elements: chosen.len(),
            total: analytic.len(),
            max_abs_error: 0.0,
            max_rel_error: 0.0,
            worst_index: Vec::new(),
            analytic: 0.0,
            numeric: 0.0,
            passed: true,
        };
        let mut worst_badness = -1.0;
        let dims = analytic.shape().to_vec();
        let flat_values: Vec<f64> = analytic.iter().copied().collect();
        for flat in chosen {
            let a = flat_values[flat];
            let n = numeric_derivative(exec, loss, id, flat, config)?;
            let abs = (a - n).abs();
            let scale = a.abs().max(n.abs());
            let rel = if scale > config.atol {
                abs / scale
            } else {
                0.0
            };
            entry.max_abs_error = entry.max_abs_error.max(abs);
            entry.max_rel_error = entry.max_rel_error.max(rel);
            let ok = abs <= config.atol || abs <= config.rtol * scale;
            entry.passed &= ok;
            let badness = abs / (config.atol + config.rtol * scale);
            if badness > worst_badness {
                worst_badness = badness;
                entry.worst_index = unravel(flat, &dims);
                entry.analytic = a;
                entry.numeric = n;
            }
        }
        entries.push(entry);
    }
    Ok(GradCheckReport { entries })
}

/// `k` distinct indices of `0..n` in increasing order, drawn by a partial Fisher–Yates
/// shuffle driven by SplitMix64 from `seed`; all of them when `k >= n`.
fn sample(n: usize, k: usize, seed: u64) -> Vec<usize> {
    if k >= n {
        return (0..n).collect();
    }
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // Only the swapped positions are stored, so a sample of k costs O(k), not O(n).
    let mut swapped = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(k);
    for i in 0..k {
        let j = i + (next() % (n - i) as u64) as usize;
        let at_j = *swapped.get(&j).unwrap_or(&j);
        let at_i = *swapped.get(&i).unwrap_or(&i);
        swapped.insert(j, at_i);
        out.push(at_j);
    }
    out.sort_unstable();
    out
}

/// The multi-index of flat (row-major) position `flat` in an array of `dims`.
fn unravel(mut flat: usize, dims: &[usize]) -> Vec<usize> {
    let mut index = vec![0; dims.len()];
    for (slot, &d) in index.iter_mut().zip(dims).rev() {
        *slot = flat % d.max(1);
        flat /= d.max(1);
    }
    index
}

/// The fourth-order central difference of the loss along element `flat` of node `id`.
fn numeric_derivative(
    exec: &mut Executor<f64>,
    loss: NodeId,
    id: NodeId,
    flat: usize,
    config: &GradCheckConfig,
) -> Result<f64, TensorError> {
    let h = config.step;
    let original = exec.value_slice_mut(id)[flat];
    let mut at = |offset: f64| -> Result<f64, TensorError> {
        exec.value_slice_mut(id)[flat] = original + offset;
        exec.run(loss, config.mode)?;
        exec.scalar(loss)
    };
    let (p1, m1, p2, m2) = (at(h)?, at(-h)?, at(2.0 * h)?, at(-2.0 * h)?);
    exec.value_slice_mut(id)[flat] = original;
    Ok((8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h))
}

#[cfg(test)]
mod tests {
    use super::{sample, unravel};

    #[test]
    fn a_sample_is_distinct_sorted_in_range_and_seeded() {
        let a = sample(1_000_000, 64, 7);
        assert_eq!(a.len(), 64);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&i| i < 1_000_000));
        assert_eq!(a, sample(1_000_000, 64, 7));
        assert_ne!(a, sample(1_000_000, 64, 8));
        assert_eq!(sample(5, 64, 7), vec![0, 1, 2, 3, 4]);
        let mut all = sample(10, 10, 3);
        all.dedup();
        assert_eq!(all.len(), 10);
    }

    #[test]
    fn unravel_is_row_major() {
        assert_eq!(unravel(7, &[3, 4]), vec![1, 3]);
        assert_eq!(unravel(0, &[]), Vec::<usize>::new());
    }
}
