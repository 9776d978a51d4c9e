//! Pruning during training: masks held at zero through retraining, and the iterative
//! procedure of the course (prune, retrain, raise the sparsity while accuracy holds).

use crate::early_stop::{restore, snapshot};
use crate::{Floor, Observer, PruneSpec, TrainError, Trainer};
use knit_regularize::magnitude_masks;
use ndarray::{ArrayD, IxDyn};

/// Named arrays: parameters and buffers, or masks.
type Named = Vec<(String, ArrayD<f32>)>;

/// One row of the pruning report.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneRound {
    /// Fraction of the pruned parameters' weights that are zero.
    pub sparsity: f64,
    /// Validation accuracy after retraining.
    pub validation_accuracy: f64,
    /// Test accuracy after retraining, when there is a test split.
    pub test_accuracy: Option<f64>,
    /// Non-zero parameters of the whole model.
    pub nonzero_parameters: usize,
    /// Forward FLOPs per example counting only non-zero weights of the pruned parameters.
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

impl Trainer {
    /// Holds the named parameters' pruned entries at zero from now on: the weights and their
    /// optimizer state are zeroed now, and gradients and weights are masked at every step.
    /// Parameters not named keep no mask.
    pub fn set_masks(&mut self, masks: &[(String, ArrayD<f32>)]) -> Result<(), TrainError> {
        let names: Vec<String> = self
            .exec
            .trainable_params()
            .map(|(_, n, _, _)| n.to_string())
            .collect();
        if let Some((name, _)) = masks.iter().find(|(n, _)| !names.contains(n)) {
            return Err(TrainError::Procedure {
                procedure: "pruning",
                message: format!("'{name}' is not a trainable parameter"),
            });
        }
        self.masks = names
            .iter()
            .map(|n| masks.iter().find(|(m, _)| m == n).map(|(_, a)| a.clone()))
            .collect();
        self.mask_weights();
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

    /// The iterative magnitude pruning of `spec`, after the model has been trained: prune
    /// the smallest `from` fraction of the selected weights, retrain `retrain_epochs` with
    /// them held at zero, measure; raise the fraction by `step` and repeat while the
    /// validation accuracy stays at or above the floor (up to `to`). The last model that met
    /// the floor is kept (the dense one if none did).
    pub fn prune(
        &mut self,
        spec: &PruneSpec,
        observer: &mut dyn Observer,
    ) -> Result<PruneReport, TrainError> {
        let dense = self.prune_round(0.0, &[])?;
        let floor = match spec.floor {
            Floor::Absolute(a) => a,
            Floor::Drop(d) => dense.validation_accuracy - d,
        };
        let mut rounds = Vec::new();
        let mut kept: Option<(usize, Named, Named)> = None;
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
    ) -> Result<Vec<(String, ArrayD<f32>)>, TrainError> {
        let values: Vec<ArrayD<f32>> = names
            .iter()
            .map(|n| self.exec.param(n).map(|v| v.to_owned()))
            .collect::<Result<_, _>>()?;
        let slices: Vec<&[f32]> = values
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
        masks: &[(String, ArrayD<f32>)],
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
            .map(|(_, m)| m.iter().filter(|&&v| v == 0.0).count())
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
            flops_per_example: self
                .plan
                .graph
                .flops_per_example()
                .saturating_sub(2 * pruned as u64),
            met_floor: true,
        })
    }
}
