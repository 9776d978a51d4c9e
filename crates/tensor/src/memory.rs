//! What an [`Executor`](crate::Executor) of a graph will allocate at a given batch size,
//! computed from the graph alone, so that a run that cannot fit is refused before anything
//! is allocated.
//!
//! Per node the executor holds a value buffer (`batch × size` elements for a batched node),
//! a gradient buffer of the same length where a gradient flows (from a trainable parameter
//! or an input that asks for one), the op's scratch (`Op::scratch_len`), its backward workspace where a gradient flows
//! (`Op::workspace_len`) and its persistent
//! state (batch norm's running statistics); a parameter's initial value is also kept by the
//! graph, in `f32`.

use crate::{Graph, NodeKind};

/// One tensor's share of an estimate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorBytes {
    /// The node's name (`h1.weight`, `h1.relu`).
    pub name: String,
    /// What the bytes hold: "values", "gradients", "scratch", "workspace",
    /// "state" or "initial values".
    pub what: &'static str,
    /// Bytes.
    pub bytes: u64,
}

/// The bytes a graph's executor needs at one batch size, with the tensors that need them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Every buffer, in node order.
    pub tensors: Vec<TensorBytes>,
}

impl MemoryEstimate {
    /// The total, saturating at `u64::MAX` (an estimate that large is refused anyway).
    pub fn total(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |sum, t| sum.saturating_add(t.bytes))
    }

    /// The `n` largest buffers, largest first (ties in node order).
    pub fn largest(&self, n: usize) -> Vec<&TensorBytes> {
        let mut sorted: Vec<&TensorBytes> = self.tensors.iter().collect();
        sorted.sort_by_key(|t| std::cmp::Reverse(t.bytes));
        sorted.truncate(n);
        sorted
    }

    /// Adds a buffer that is not part of the graph (optimizer state, a data set).
    pub fn push(&mut self, name: impl Into<String>, what: &'static str, bytes: u64) {
        self.tensors.push(TensorBytes {
            name: name.into(),
            what,
            bytes,
        });
    }
}

impl Graph {
    /// What an executor in a float type of `float_bytes` bytes (4 for `f32`) allocates once
    /// it has run forward and backward at `batch` examples; `input_grads` says whether
    /// inputs get gradients too (adversarial training).
    ///
    /// Gradients are counted where the executor keeps them: on trainable parameters, on
    /// inputs when asked, and on every op downstream of either.
    pub fn memory(&self, batch: usize, float_bytes: u64, input_grads: bool) -> MemoryEstimate {
        let nodes = self.nodes();
        let mut needs_grad = vec![false; nodes.len()];
        let mut dims: Vec<Vec<usize>> = Vec::with_capacity(nodes.len());
        let mut out = MemoryEstimate::default();
        let bytes = |elements: u64| elements.saturating_mul(float_bytes);
        for (i, node) in nodes.iter().enumerate() {
            let own = node.shape.concrete(batch);
            let elements = own.iter().fold(1u64, |p, &d| p.saturating_mul(d as u64));
            needs_grad[i] = match &node.kind {
                NodeKind::Input => input_grads,
                NodeKind::Param { trainable, .. } => *trainable,
                NodeKind::Constant { .. } => false,
                NodeKind::Op { op, inputs, .. } => inputs
                    .iter()
                    .enumerate()
                    .any(|(k, j)| op.differentiable(k) && needs_grad[j.0]),
            };
            out.push(node.name.clone(), "values", bytes(elements));
            if needs_grad[i] {
                out.push(node.name.clone(), "gradients", bytes(elements));
            }
            match &node.kind {
                NodeKind::Param { .. } => {
                    out.push(
                        node.name.clone(),
                        "initial values",
                        elements.saturating_mul(4),
                    );
                }
                NodeKind::Op { op, inputs, state } => {
                    let in_dims: Vec<&[usize]> =
                        inputs.iter().map(|j| dims[j.0].as_slice()).collect();
                    let scratch = op.scratch_len(&in_dims, &own) as u64;
                    if scratch > 0 {
                        out.push(node.name.clone(), "scratch", bytes(scratch));
                    }
                    let workspace = op.workspace_len(&in_dims, &own) as u64;
                    if needs_grad[i] && workspace > 0 {
                        out.push(node.name.clone(), "workspace", bytes(workspace));
                    }
                    let kept: u64 = state
                        .iter()
                        .map(|s| s.dims.iter().product::<usize>() as u64)
                        .sum();
                    if kept > 0 {
                        out.push(node.name.clone(), "state", bytes(kept));
                    }
                }
                _ => {}
            }
            dims.push(own);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{Executor, Graph, Mode};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn the_estimate_counts_what_an_executor_allocates() {
        let mut g = Graph::new();
        let x = g.input("x", &[3]).unwrap();
        let y = g.input("y", &[2]).unwrap();
        let h = g
            .dense(
                "h",
                x,
                ArrayD::zeros(IxDyn(&[5, 3])),
                Some(ArrayD::zeros(IxDyn(&[5]))),
            )
            .unwrap();
        let r = g.relu(h).unwrap();
        let o = g
            .dense(
                "o",
                r,
                ArrayD::zeros(IxDyn(&[2, 5])),
                Some(ArrayD::zeros(IxDyn(&[2]))),
            )
            .unwrap();
        let loss = g.mse(o, y).unwrap();
        let est = g.memory(4, 4, false);
        let find = |name: &str, what: &str| {
            est.tensors
                .iter()
                .find(|t| t.name == name && t.what == what)
                .map(|t| t.bytes)
        };
        assert_eq!(find("h.weight", "values"), Some(5 * 3 * 4));
        assert_eq!(find("h.weight", "gradients"), Some(5 * 3 * 4));
        assert_eq!(find("x", "values"), Some(4 * 3 * 4));
        assert_eq!(
            find("x", "gradients"),
            None,
            "inputs get no gradient by default"
        );
        let top = est.largest(1)[0];
        assert_eq!(
            (top.name.as_str(), top.what, top.bytes),
            ("h", "values", 4 * 5 * 4)
        );
        // An executor that ran forward and backward holds at least the value and gradient
        // buffers counted (parameters and activations).
        let mut exec = Executor::<f32>::new(&g);
        exec.set_input(x, ArrayD::zeros(IxDyn(&[4, 3])).view())
            .unwrap();
        exec.set_input(y, ArrayD::zeros(IxDyn(&[4, 2])).view())
            .unwrap();
        exec.run(loss, Mode::Train).unwrap();
        exec.backward(loss).unwrap();
        assert!(est.total() >= (5 * 3 + 5 + 2 * 5 + 2) * 4 * 3);
    }

    #[test]
    fn huge_layers_saturate_instead_of_overflowing() {
        let mut g = Graph::new();
        let x = g.input("x", &[1 << 20]).unwrap();
        let _ = g.relu(x).unwrap();
        let est = g.memory(usize::MAX / 2, 8, true);
        assert_eq!(est.total(), u64::MAX);
    }
}
