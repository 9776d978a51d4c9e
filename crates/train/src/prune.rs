//! Pruning during training: masks held at zero through retraining, and the iterative
//! procedure of the course (prune, retrain, raise the sparsity while accuracy holds).

use crate::checkpoint::{is_counter, Checkpoint};
use crate::early_stop::{restore, snapshot};
use crate::validate::{self, entry_error};
use crate::{Element, Floor, Observer, PruneSpec, TrainError, Trainer};
use knit_regularize::magnitude_masks;
use knit_tensor::{NodeId, NodeKind};
use ndarray::{ArrayD, IxDyn};
use std::path::Path;

/// The prefix of the masks' names in a checkpoint (`_knit.mask.h1.weight`).
pub(crate) const MASK_PREFIX: &str = "_knit.mask.";

/// Named arrays: parameters and buffers, or masks.
type Named<F> = Vec<(String, ArrayD<F>)>;

/// One row of the pruning report.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneRound {
    /// Fraction of the pruned parameters' weights that are zero.
    pub sparsity: f64,
    /// Validation accuracy after retraining.
    pub validation_accuracy: f64,
    /// Test accuracy after retraining, when there is a test split.
    pub test_accuracy: Option<f64>,
    /// Parameters of the whole model that are not pruned (what a sparse file stores; a
    /// weight that trained to exactly 0 without being pruned still counts).
    pub nonzero_parameters: usize,
    /// Bytes of the parameters and buffers in a sparse checkpoint, see
    /// [`Trainer::sparse_bytes`].
    pub checkpoint_bytes: u64,
    /// Forward FLOPs per example of the weighted layers, see [`Trainer::weight_flops`].
    pub flops_per_example: u64,
    /// Whether the round met the accuracy floor.
    pub met_floor: bool,
}

/// What the iterative pruning procedure did.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneReport {
    /// The dense model before pruning (sparsity 0).
    pub dense: PruneRound,
    /// Each round, in order of rising sparsity, up to the first that missed the floor.
    pub rounds: Vec<PruneRound>,
    /// The accuracy floor that was applied.
    pub floor: f64,
    /// Index in `rounds` of the model kept (the last that met the floor), if any did.
    pub kept: Option<usize>,
}

impl<F: Element> Trainer<F> {
    /// Holds the named parameters' pruned entries at zero from now on: the weights and their
    /// optimizer state are zeroed now, and gradients and weights are masked at every step.
    /// Parameters not named keep no mask.
    pub fn set_masks(&mut self, masks: &[(String, ArrayD<F>)]) -> Result<(), TrainError> {
        let shapes: Vec<(String, Vec<usize>)> = self
            .exec
            .trainable_params()
            .map(|(_, n, v, _)| (n.to_string(), v.shape().to_vec()))
            .collect();
        for (name, mask) in masks {
            let Some((_, shape)) = shapes.iter().find(|(n, _)| n == name) else {
                return Err(TrainError::Procedure {
                    procedure: "pruning",
                    message: format!("'{name}' is not a trainable parameter"),
                });
            };
            if mask.shape() != shape.as_slice() {
                return Err(TrainError::Procedure {
                    procedure: "pruning",
                    message: format!(
                        "the mask of '{name}' has shape {:?}, but the parameter has shape {shape:?}",
                        mask.shape()
                    ),
                });
            }
        }
        self.masks = shapes
            .iter()
            .map(|(n, _)| masks.iter().find(|(m, _)| m == n).map(|(_, a)| a.clone()))
            .collect();
        self.mask_weights();
        // The state goes through f32 here: keep the step counts exact beyond 2^24.
        let steps = self.optimizer.step_counts();
        let mut state = self.optimizer.state();
        for (key, value) in &mut state {
            let owner = masks
                .iter()
                .find(|(n, m)| key.starts_with(&format!("{n}.")) && m.shape() == value.shape());
            if let Some((_, mask)) = owner {
                *value *= mask;
            }
        }
        self.optimizer.load_state(&state)?;
        self.optimizer.set_step_counts(&steps)?;
        Ok(())
    }

    /// Multiplies each masked parameter's gradient by its mask.
    pub(crate) fn mask_gradients(&mut self) {
        if self.masks.is_empty() {
            return;
        }
        for ((_, _, mut grad), mask) in self.exec.trainable_grads_mut().zip(&self.masks) {
            if let Some(mask) = mask {
                grad *= mask;
            }
        }
    }

    /// Multiplies each masked parameter by its mask.
    pub(crate) fn mask_weights(&mut self) {
        if self.masks.is_empty() {
            return;
        }
        for ((_, _, mut value, _), mask) in self.exec.trainable_params().zip(&self.masks) {
            if let Some(mask) = mask {
                value *= mask;
            }
        }
    }

    /// Holds at zero the masks stored in a checkpoint (entries `_knit.mask.<name>`, written
    /// by [`Trainer::checkpoint`] after pruning), as [`Trainer::set_masks`] does; returns how
    /// many there were (a checkpoint of a dense model has none). Each mask must belong to a
    /// trainable parameter, have its shape and hold only 0 and 1; errors name `path` and the
    /// entry.
    pub fn load_masks(&mut self, ckpt: &Checkpoint<F>, path: &Path) -> Result<usize, TrainError> {
        self.check_masks(ckpt, path)?;
        let masks: Vec<(String, ArrayD<F>)> = ckpt
            .tensors
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(MASK_PREFIX)
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect();
        if !masks.is_empty() {
            self.set_masks(&masks)?;
        }
        Ok(masks.len())
    }

    /// Checks the checkpoint's masks as [`Trainer::load_masks`] requires them.
    pub(crate) fn check_masks(&self, ckpt: &Checkpoint<F>, path: &Path) -> Result<(), TrainError> {
        let params: Vec<(String, Vec<usize>)> = self
            .exec
            .graph()
            .trainable_params()
            .filter_map(|(id, n)| {
                self.exec
                    .value(id)
                    .ok()
                    .map(|v| (n.name.clone(), v.shape().to_vec()))
            })
            .collect();
        for (entry, mask) in &ckpt.tensors {
            let Some(name) = entry.strip_prefix(MASK_PREFIX) else {
                continue;
            };
            let Some((_, shape)) = params.iter().find(|(n, _)| n == name) else {
                return Err(entry_error(
                    path,
                    entry,
                    format!("the model has no trainable parameter '{name}' for this pruning mask"),
                ));
            };
            validate::shape(
                path,
                entry,
                mask,
                shape,
                &format!("the model's parameter '{name}'"),
            )?;
            validate::mask(path, entry, mask)?;
        }
        Ok(())
    }

    /// Bytes of the parameters and buffers as a sparse checkpoint stores them: a pruned
    /// parameter of n entries, k of them kept, as a bit mask and its kept values,
    /// `⌈n/8⌉ + s·k`; every other parameter and buffer densely, `s·n`, with `s` the bytes of
    /// `F` (4 for `f32`, 8 for `f64`), except batch norm's counters, 8 bytes (`i64`). File
    /// headers and names are not counted.
    pub fn sparse_bytes(&self) -> u64 {
        let width = std::mem::size_of::<F>() as u64;
        let names = self.exec_param_names();
        let mask_of = |name: &str| {
            names
                .iter()
                .zip(&self.masks)
                .find(|(n, _)| *n == name)
                .and_then(|(_, m)| m.as_ref())
        };
        let params: u64 = self
            .exec
            .graph()
            .params()
            .map(|(_, node)| {
                let n = node.shape.size() as u64;
                match mask_of(&node.name) {
                    Some(mask) => {
                        let kept = mask.iter().filter(|&&m| m != F::zero()).count() as u64;
                        n.div_ceil(8) + width * kept
                    }
                    None => width * n,
                }
            })
            .sum();
        let buffers: u64 = self
            .exec
            .buffers()
            .iter()
            .map(|(name, b)| {
                let width = if is_counter(name) { 8 } else { width };
                width * b.len() as u64
            })
            .sum();
        params + buffers
    }

    /// Forward FLOPs per example of the linear, convolutional and recurrent layers at the
    /// current weights: a layer `y = x·Wᵀ + b` costs `2·nnz(W) + len(b)` (a multiply and an
    /// add per non-zero weight, an add per bias) per row (per example, per step of a
    /// sequence, per row of an unbatched input); a convolution with output `[out, OH, OW]`
    /// `2·OH·OW·nnz(W) + out·OH·OW` (each kernel entry at every position of its channel); a
    /// recurrent layer `2·nnz(W_ih) + 2·nnz(W_hh)` plus both biases per step. Activations,
    /// gates, pooling, normalization and the loss are not counted; `knit check` reports the
    /// dense products without the biases.
    pub fn weight_flops(&self) -> u64 {
        let graph = self.exec.graph();
        let nodes = graph.nodes();
        // Non-zero entries of a weight (all of them when it is not a parameter).
        let nonzero = |id: NodeId| -> u64 {
            (match &nodes[id.index()].kind {
                NodeKind::Param { .. } => self
                    .exec
                    .value(id)
                    .map_or(0, |w| w.iter().filter(|&&v| v != F::zero()).count()),
                _ => nodes[id.index()].shape.size(),
            }) as u64
        };
        let size = |id: &NodeId| nodes[id.index()].shape.size() as u64;
        nodes
            .iter()
            .filter_map(|node| match &node.kind {
                NodeKind::Op { op, inputs, .. }
                    if matches!(op.kind(), "linear" | "matmul") && inputs.len() >= 2 =>
                {
                    // One product per row of the last dimension: per example, or per step.
                    let dims = &node.shape.dims;
                    let rows = match (node.shape.batched, dims.split_last()) {
                        (true, Some((_, lead))) => lead.iter().product::<usize>() as u64,
                        (false, _) => dims.first().copied().unwrap_or(1) as u64,
                        (true, None) => 1,
                    };
                    let bias = inputs.get(2).map_or(0, size);
                    Some(rows * (2 * nonzero(inputs[1]) + bias))
                }
                NodeKind::Op { op, inputs, .. } if op.kind() == "conv2d" && inputs.len() >= 2 => {
                    // Every kernel entry of output channel o is used at each of its OH·OW
                    // positions; the bias is added at every output value.
                    let dims = &node.shape.dims;
                    let positions = dims[dims.len().saturating_sub(2)..]
                        .iter()
                        .product::<usize>() as u64;
                    let bias = inputs.get(2).map_or(0, |_| node.shape.size() as u64);
                    Some(2 * positions * nonzero(inputs[1]) + bias)
                }
                NodeKind::Op { op, inputs, .. }
                    if matches!(op.kind(), "rnn" | "lstm" | "gru") && inputs.len() >= 3 =>
                {
                    // Both products at every step, and both biases.
                    let steps = nodes[inputs[0].index()].shape.dims[0] as u64;
                    let biases: u64 = inputs[3..].iter().map(size).sum();
                    Some(steps * (2 * nonzero(inputs[1]) + 2 * nonzero(inputs[2]) + biases))
                }
                _ => None,
            })
            .sum()
    }

    /// The iterative magnitude pruning of `spec`, after the model has been trained: prune
    /// the smallest `from` fraction of the selected weights, retrain `retrain_epochs` with
    /// them held at zero, measure; raise the fraction by `step` and repeat while the
    /// validation accuracy stays at or above the floor (up to `to`). The last model that met
    /// the floor is kept (the dense one if none did).
    pub fn prune(
        &mut self,
        spec: &PruneSpec,
        observer: &mut dyn Observer<F>,
    ) -> Result<PruneReport, TrainError> {
        let dense = self.prune_round(0.0, &[])?;
        let dense_weights = snapshot(&self.exec);
        let floor = match spec.floor {
            Floor::Absolute(a) => a,
            Floor::Drop(d) => dense.validation_accuracy - d,
        };
        let mut rounds = Vec::new();
        let mut kept: Option<(usize, Named<F>, Named<F>)> = None;
        let steps = ((spec.to - spec.from) / spec.step.max(1e-12) + 1e-9).floor() as usize;
        for k in 0..=steps {
            let target = spec.from + k as f64 * spec.step;
            let masks = self.masks_for(&spec.params, target, spec.scope)?;
            self.set_masks(&masks)?;
            for _ in 0..spec.retrain_epochs {
                let metrics = self.train_epoch(observer)?;
                observer.epoch_finished(&metrics);
            }
            let mut round = self.prune_round(target, &masks)?;
            round.met_floor = round.validation_accuracy >= floor;
            let met = round.met_floor;
            rounds.push(round);
            if !met {
                break;
            }
            kept = Some((rounds.len() - 1, snapshot(&self.exec), masks));
        }
        match &kept {
            Some((_, weights, masks)) => {
                self.set_masks(masks)?;
                restore(&mut self.exec, weights)?;
            }
            None => {
                self.masks.clear();
                restore(&mut self.exec, &dense_weights)?;
            }
        }
        Ok(PruneReport {
            dense,
            rounds,
            floor,
            kept: kept.map(|(i, _, _)| i),
        })
    }

    /// Masks pruning the `sparsity` fraction of the named parameters' current weights.
    fn masks_for(
        &self,
        names: &[String],
        sparsity: f64,
        scope: knit_regularize::PruneScope,
    ) -> Result<Vec<(String, ArrayD<F>)>, TrainError> {
        let values: Vec<ArrayD<F>> = names
            .iter()
            .map(|n| self.exec.param(n).map(|v| v.to_owned()))
            .collect::<Result<_, _>>()?;
        let slices: Vec<&[F]> = values
            .iter()
            .map(|v| v.as_slice().expect("owned arrays are contiguous"))
            .collect();
        let masks = magnitude_masks(&slices, sparsity, scope);
        Ok(names
            .iter()
            .zip(values.iter().zip(masks))
            .map(|(n, (v, m))| {
                (
                    n.clone(),
                    ArrayD::from_shape_vec(IxDyn(v.shape()), m).expect("same size"),
                )
            })
            .collect())
    }

    /// Measures the current model for the pruning report.
    fn prune_round(
        &mut self,
        target: f64,
        masks: &[(String, ArrayD<F>)],
    ) -> Result<PruneRound, TrainError> {
        let validation = self
            .data
            .validation
            .clone()
            .ok_or_else(|| TrainError::Procedure {
                procedure: "pruning",
                message: "a validation split is needed to check the accuracy floor".into(),
            })?;
        let val = self.evaluate(&validation)?;
        let test = match self.data.test.clone() {
            Some(t) => self.evaluate(&t)?.first().and_then(|m| m.accuracy),
            None => None,
        };
        let total = self.plan.graph.param_count();
        let pruned: usize = masks
            .iter()
            .map(|(_, m)| m.iter().filter(|&&v| v == F::zero()).count())
            .sum();
        let masked: usize = masks.iter().map(|(_, m)| m.len()).sum();
        Ok(PruneRound {
            sparsity: if masked == 0 {
                target
            } else {
                pruned as f64 / masked as f64
            },
            validation_accuracy: val.first().and_then(|m| m.accuracy).unwrap_or(0.0),
            test_accuracy: test,
            nonzero_parameters: total - pruned,
            checkpoint_bytes: self.sparse_bytes(),
            flops_per_example: self.weight_flops(),
            met_floor: true,
        })
    }
}
