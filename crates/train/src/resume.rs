//! Saving a run's state, resuming it bit for bit, and starting from trained weights.

use crate::checkpoint::{is_counter, Checkpoint, PRIVATE_PREFIX};
use crate::early_stop::snapshot;
use crate::prune::MASK_PREFIX;
use crate::{TrainError, Trainer};
use std::path::Path;

const OPTIMIZER: &str = "_knit.optimizer.";
const BEST: &str = "_knit.best.";

impl Trainer {
    /// The current state as a checkpoint: parameters and buffers under their PyTorch names,
    /// and, under `_knit.` names and in the metadata, everything needed to resume exactly:
    /// optimizer state, schedule state, epoch, step, early-stopping state and the program.
    pub fn checkpoint(&self) -> Checkpoint {
        let mut ckpt = Checkpoint::default();
        for (name, value) in snapshot(&self.exec) {
            ckpt.tensors.insert(name, value);
        }
        for (name, value) in self.optimizer.state() {
            ckpt.tensors.insert(format!("{OPTIMIZER}{name}"), value);
        }
        let names: Vec<String> = self.exec_param_names();
        for (name, mask) in names.iter().zip(&self.masks) {
            if let Some(mask) = mask {
                ckpt.tensors
                    .insert(format!("{MASK_PREFIX}{name}"), mask.clone());
            }
        }
        let meta = &mut ckpt.metadata;
        meta.insert("knit.format".into(), "1".into());
        meta.insert("knit.program".into(), self.plan.program.clone());
        meta.insert("knit.seed".into(), self.plan.seed.to_string());
        meta.insert("knit.epoch".into(), self.epoch.to_string());
        meta.insert("knit.step".into(), self.step.to_string());
        meta.insert(
            "knit.lr_schedule".into(),
            to_json(&self.lr_schedule.state()),
        );
        let aliases: Vec<(String, Vec<String>)> = self.plan.shared.clone();
        meta.insert("knit.shared".into(), to_json(&aliases));
        if let Some(stopper) = &self.stopper {
            meta.insert(
                "knit.early_stop".into(),
                to_json(&(stopper.best, stopper.best_epoch, stopper.waited)),
            );
            for (name, value) in &stopper.snapshot {
                ckpt.tensors.insert(format!("{BEST}{name}"), value.clone());
            }
        }
        ckpt
    }

    /// Writes [`Trainer::checkpoint`] to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        self.checkpoint().write(path)
    }

    /// Continues a run from a checkpoint written by [`Trainer::save`] for the same program:
    /// the final weights equal, bit for bit, those of a run that was never interrupted.
    pub fn resume(&mut self, ckpt: &Checkpoint, path: &Path) -> Result<(), TrainError> {
        let bad = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let seed: u64 = parse(ckpt.meta("knit.seed", path)?, "knit.seed", path)?;
        if seed != self.plan.seed {
            return Err(bad(format!(
                "it was written by a run with seed {seed}, but this run's seed is {}; resume with the same program and seed",
                self.plan.seed
            )));
        }
        self.load_weights(ckpt, path, &[])?;
        let optimizer_state: Vec<_> = ckpt
            .tensors
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(OPTIMIZER)
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect();
        self.optimizer.load_state(&optimizer_state)?;
        let schedule: Vec<(String, f64)> = from_json(ckpt.meta("knit.lr_schedule", path)?, path)?;
        self.lr_schedule.load_state(&schedule)?;
        self.load_masks(ckpt)?;
        self.epoch = parse(ckpt.meta("knit.epoch", path)?, "knit.epoch", path)?;
        self.step = parse(ckpt.meta("knit.step", path)?, "knit.step", path)?;
        if let Some(stopper) = &mut self.stopper {
            if let Some(state) = ckpt.metadata.get("knit.early_stop") {
                let (best, best_epoch, waited): (Option<f64>, usize, usize) =
                    from_json(state, path)?;
                stopper.best = best;
                stopper.best_epoch = best_epoch;
                stopper.waited = waited;
                stopper.snapshot = ckpt
                    .tensors
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix(BEST).map(|k| (k.to_string(), v.clone())))
                    .collect();
            }
        }
        Ok(())
    }

    /// Loads trained parameters and buffers (transfer learning): every parameter and buffer
    /// of this run is looked up in the checkpoint, after applying `rename` (checkpoint name
    /// `old` is read as `new`), and must have the same shape. Returns how many were loaded;
    /// a missing one is an error naming it, with the closest name in the file, except batch
    /// norm's `num_batches_tracked`, which older files lack and which then keeps its value.
    pub fn load_weights(
        &mut self,
        ckpt: &Checkpoint,
        path: &Path,
        rename: &[(String, String)],
    ) -> Result<usize, TrainError> {
        let renamed = |name: &str| -> String {
            for (old, new) in rename {
                if let Some(rest) = name.strip_prefix(new.as_str()) {
                    return format!("{old}{rest}");
                }
            }
            name.to_string()
        };
        let wanted: Vec<(String, bool)> = self
            .exec
            .graph()
            .params()
            .map(|(_, n)| (n.name.clone(), true))
            .chain(self.exec.buffers().into_iter().map(|(n, _)| (n, false)))
            .collect();
        let public: Vec<&str> = ckpt
            .tensors
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with(PRIVATE_PREFIX))
            .collect();
        let mut loaded = 0;
        for (name, is_param) in &wanted {
            let source = renamed(name);
            if is_counter(name) && !ckpt.tensors.contains_key(&source) {
                // As PyTorch's batch norm does for older files: a missing counter is not an
                // error, the count starts where it is.
                continue;
            }
            let value = ckpt
                .tensors
                .get(&source)
                .ok_or_else(|| TrainError::Checkpoint {
                    path: path.to_path_buf(),
                    message: format!(
                        "it has no tensor '{source}'{}",
                        closest(&source, &public)
                            .map(|c| format!(" (did you mean '{c}'?)"))
                            .unwrap_or_default()
                    ),
                })?;
            if *is_param {
                self.exec.set_param(name, value.view())?;
            } else {
                self.exec.set_buffer(name, value.view())?;
            }
            loaded += 1;
        }
        Ok(loaded)
    }
}

impl Trainer {
    /// The trainable parameters' names, in the order of the optimizer's slots and masks.
    pub(crate) fn exec_param_names(&self) -> Vec<String> {
        self.exec
            .graph()
            .trainable_params()
            .map(|(_, n)| n.name.clone())
            .collect()
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, TrainError> {
    serde_json::from_str(text).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("corrupt metadata ({e})"),
    })
}

fn parse<T: std::str::FromStr>(text: &str, key: &str, path: &Path) -> Result<T, TrainError> {
    text.parse().map_err(|_| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("metadata entry '{key}' is not a number: '{text}'"),
    })
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .copied()
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, _)| *d <= name.len() / 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
