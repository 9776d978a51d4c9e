//! Saving a run's state, resuming it bit for bit, and starting from trained weights.

use crate::checkpoint::{is_counter, Checkpoint, PRIVATE_PREFIX};
use crate::early_stop::snapshot;
use crate::prune::MASK_PREFIX;
use crate::validate::{self, entry_error};
use crate::{Element, OptimizerSpec, TrainError, Trainer};
use ndarray::ArrayD;
use std::collections::BTreeMap;
use std::path::Path;

/// The prefix of the optimizer state's entries (`_knit.optimizer.h1.weight.exp_avg`).
pub(crate) const OPTIMIZER: &str = "_knit.optimizer.";
/// The prefix of the best-epoch snapshot's entries (`_knit.best.h1.weight`).
pub(crate) const BEST: &str = "_knit.best.";
/// The metadata entry holding the optimizer's exact step counts.
const STEPS: &str = "knit.optimizer.steps";

/// The parameter names of the optimizer's `"{name}.step"` state entries, in its order.
fn step_names<F>(state: &[(String, ArrayD<F>)]) -> Vec<&str> {
    state
        .iter()
        .filter_map(|(k, _)| k.strip_suffix(".step"))
        .collect()
}

/// Optimizer state that accumulates squares and so is never negative.
const SQUARES: [&str; 4] = [".exp_avg_sq", ".max_exp_avg_sq", ".sum", ".square_avg"];

impl<F: Element> Trainer<F> {
    /// The current state as a checkpoint: parameters and buffers under their PyTorch names,
    /// and, under `_knit.` names and in the metadata, everything needed to resume exactly:
    /// optimizer state, schedule state, epoch, step, early-stopping state and the program.
    pub fn checkpoint(&self) -> Checkpoint<F> {
        let mut ckpt = Checkpoint::default();
        for (name, value) in snapshot(&self.exec) {
            ckpt.tensors.insert(name, value);
        }
        let state = self.optimizer.state();
        // The `.step` tensors hold the counts in f32 (exact to 2^24, as PyTorch's); the
        // metadata keeps them exactly.
        let steps: BTreeMap<&str, u64> = step_names(&state)
            .into_iter()
            .zip(self.optimizer.step_counts())
            .collect();
        let steps = to_json(&steps);
        for (name, value) in state {
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
        meta.insert(STEPS.into(), steps);
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
    ///
    /// "The same program" is the resolved program text (the file with every `--set` and
    /// `--seed` applied) except the epoch count and the save path, which a continued run
    /// may change (to train longer, as PyTorch Lightning's resume with a larger
    /// `max_epochs`); a checkpoint without a program (a hand-built plan's) is not compared.
    /// Every entry is checked (names, shapes, finite values, counts, masks of 0 and 1, the
    /// best-epoch snapshot) before the run takes it, and errors name the file and the entry.
    pub fn resume(&mut self, ckpt: &Checkpoint<F>, path: &Path) -> Result<(), TrainError> {
        let seed: u64 = parse(ckpt.meta("knit.seed", path)?, "knit.seed", path)?;
        if seed != self.plan.seed {
            return Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!(
                    "it was written by a run with seed {seed}, but this run's seed is {}; resume with the same program and seed",
                    self.plan.seed
                ),
            });
        }
        self.check_program(ckpt, path)?;
        let epoch: usize = counter(ckpt, "knit.epoch", path)?;
        let step: u64 = counter(ckpt, "knit.step", path)?;
        let optimizer_state = self.optimizer_state(ckpt, path, step)?;
        let exact_steps = self.exact_steps(ckpt, path, step, &optimizer_state)?;
        let schedule = self.schedule_state(ckpt, path)?;
        let early_stop = self.early_stop_state(ckpt, path, epoch)?;
        self.check_masks(ckpt, path)?;
        self.check_known_entries(ckpt, path, "")?;
        // Everything checked: apply.
        self.load_weights(ckpt, path, &[])?;
        self.optimizer.load_state(&optimizer_state).map_err(|e| {
            entry_error(
                path,
                OPTIMIZER,
                format!("the optimizer refused its state ({e})"),
            )
        })?;
        if let Some(steps) = exact_steps {
            self.optimizer
                .set_step_counts(&steps)
                .map_err(|e| entry_error(path, STEPS, e.to_string()))?;
        }
        self.lr_schedule.load_state(&schedule).map_err(|e| {
            entry_error(
                path,
                "knit.lr_schedule",
                format!("the schedule refused its state ({e})"),
            )
        })?;
        self.load_masks(ckpt, path)?;
        self.epoch = epoch;
        self.step = step;
        if let (Some(stopper), Some((best, best_epoch, waited, snapshot))) =
            (&mut self.stopper, early_stop)
        {
            stopper.best = best;
            stopper.best_epoch = best_epoch;
            stopper.waited = waited;
            stopper.snapshot = snapshot;
        }
        Ok(())
    }

    /// Refuses a checkpoint written by another program (see [`Trainer::resume`]).
    fn check_program(&self, ckpt: &Checkpoint<F>, path: &Path) -> Result<(), TrainError> {
        let Some(stored) = ckpt.metadata.get("knit.program") else {
            return Ok(());
        };
        if self.plan.program.is_empty() {
            return Ok(());
        }
        let (old, new) = (comparable(stored), comparable(&self.plan.program));
        if old == new {
            return Ok(());
        }
        let line = old
            .iter()
            .zip(&new)
            .position(|(a, b)| a != b)
            .unwrap_or(old.len().min(new.len()));
        let show = |lines: &[String]| {
            lines
                .get(line)
                .map_or("(the end of the program)".to_string(), |l| {
                    let l = l.trim();
                    if l.chars().count() > 80 {
                        format!("`{}…`", l.chars().take(80).collect::<String>())
                    } else {
                        format!("`{l}`")
                    }
                })
        };
        Err(entry_error(
            path,
            "knit.program",
            format!(
                "it was written by a different program: line {} of the resolved program is {} in the checkpoint but {} in this run; resume with the program and the --set overrides it was trained with (only the epoch count and the save path may differ), or train from scratch without --resume",
                line + 1,
                show(&old),
                show(&new)
            ),
        ))
    }

    /// The optimizer state stored under `_knit.optimizer.`, checked against the state this
    /// run's optimizer keeps: every entry present, none extra, the right shapes, finite
    /// values, non-negative sums of squares, and step counts that are whole numbers no
    /// larger than the run's `step` (every optimizer step updates every parameter; the
    /// counts are stored as `f32`, so `step` is compared rounded the same way).
    fn optimizer_state(
        &self,
        ckpt: &Checkpoint<F>,
        path: &Path,
        step: u64,
    ) -> Result<Vec<(String, ArrayD<F>)>, TrainError> {
        let most = F::lit(step as f64).as_f64();
        let expected = self.optimizer.state();
        let mut out = Vec::with_capacity(expected.len());
        for (key, template) in &expected {
            let entry = format!("{OPTIMIZER}{key}");
            let value = ckpt.tensors.get(&entry).ok_or_else(|| {
                entry_error(
                    path,
                    &entry,
                    format!(
                        "is missing; this run's optimizer ({}) keeps it",
                        self.optimizer_name()
                    ),
                )
            })?;
            validate::shape(
                path,
                &entry,
                value,
                template.shape(),
                "this run's optimizer state",
            )?;
            validate::finite(path, &entry, value)?;
            if key.ends_with(".step") {
                validate::counts(path, &entry, value)?;
                if let Some(v) = value.iter().find(|v| v.as_f64() > most) {
                    return Err(entry_error(
                        path,
                        &entry,
                        format!(
                            "counts {v} optimizer steps, but the run took {step} ('knit.step')"
                        ),
                    ));
                }
            }
            if SQUARES.iter().any(|s| key.ends_with(s)) {
                validate::non_negative(path, &entry, value, "a sum of squared gradients")?;
            }
            out.push((key.clone(), value.clone()));
        }
        let known: std::collections::HashSet<&str> =
            expected.iter().map(|(k, _)| k.as_str()).collect();
        if let Some(extra) = ckpt.tensors.keys().find(|k| {
            k.strip_prefix(OPTIMIZER)
                .is_some_and(|k| !known.contains(k))
        }) {
            return Err(entry_error(
                path,
                extra,
                format!(
                    "this run's optimizer ({}) keeps no such state; was the checkpoint written with another optimizer?",
                    self.optimizer_name()
                ),
            ));
        }
        Ok(out)
    }

    /// The exact step counts of `knit.optimizer.steps` (a parameter name → count object,
    /// since the `.step` tensors' f32 is exact only to 2²⁴), in the optimizer's order;
    /// `None` for a file without them (older files: their `.step` tensors are used). Each
    /// count must be at most `step` and round to its `.step` tensor (in `state`, checked).
    fn exact_steps(
        &self,
        ckpt: &Checkpoint<F>,
        path: &Path,
        step: u64,
        state: &[(String, ArrayD<F>)],
    ) -> Result<Option<Vec<u64>>, TrainError> {
        let Some(text) = ckpt.metadata.get(STEPS) else {
            return Ok(None);
        };
        let stored: BTreeMap<String, u64> = from_json(text, STEPS, path)?;
        let names = step_names(state);
        if stored.len() != names.len() || names.iter().any(|n| !stored.contains_key(*n)) {
            return Err(entry_error(
                path,
                STEPS,
                format!(
                    "counts the steps of {:?}, but this run's optimizer updates {names:?}",
                    stored.keys().collect::<Vec<_>>()
                ),
            ));
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let count = stored[name];
            let tensor = state
                .iter()
                .find(|(k, _)| k.strip_suffix(".step") == Some(name))
                .and_then(|(_, v)| v.iter().next().copied());
            if count > step || tensor != Some(F::lit(count as f64)) {
                return Err(entry_error(
                    path,
                    STEPS,
                    format!(
                        "counts {count} steps of '{name}', which disagrees with 'knit.step' ({step}) or with '{OPTIMIZER}{name}.step' ({})",
                        tensor.unwrap_or(F::nan())
                    ),
                ));
            }
            out.push(count);
        }
        Ok(Some(out))
    }

    /// The learning-rate schedule's state from `knit.lr_schedule`: the keys this run's
    /// schedule keeps, each a finite number.
    fn schedule_state(
        &self,
        ckpt: &Checkpoint<F>,
        path: &Path,
    ) -> Result<Vec<(String, f64)>, TrainError> {
        let key = "knit.lr_schedule";
        let schedule: Vec<(String, f64)> = from_json(ckpt.meta(key, path)?, key, path)?;
        let expected: Vec<String> = self
            .lr_schedule
            .state()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut names: Vec<&String> = schedule.iter().map(|(k, _)| k).collect();
        names.sort();
        let mut wanted: Vec<&String> = expected.iter().collect();
        wanted.sort();
        if names != wanted {
            return Err(entry_error(
                path,
                key,
                format!("holds the state {names:?}, but this run's schedule keeps {wanted:?}"),
            ));
        }
        if let Some((name, value)) = schedule.iter().find(|(_, v)| !v.is_finite()) {
            return Err(entry_error(
                path,
                key,
                format!("the checkpoint holds a non-finite value for '{name}' ({value})"),
            ));
        }
        Ok(schedule)
    }

    /// Early stopping's state (`knit.early_stop` and, when the best weights are restored,
    /// the `_knit.best.` snapshot of every parameter and buffer), checked; `None` when the
    /// run does not stop early or the checkpoint holds no such state.
    #[allow(clippy::type_complexity)]
    fn early_stop_state(
        &self,
        ckpt: &Checkpoint<F>,
        path: &Path,
        epoch: usize,
    ) -> Result<Option<(Option<f64>, usize, usize, Vec<(String, ArrayD<F>)>)>, TrainError> {
        let key = "knit.early_stop";
        let (Some(stopper), Some(state)) = (&self.stopper, ckpt.metadata.get(key)) else {
            return Ok(None);
        };
        let (best, best_epoch, waited): (Option<f64>, usize, usize) = from_json(state, key, path)?;
        if best.is_some_and(|b| !b.is_finite()) || best_epoch > epoch || waited > epoch {
            return Err(entry_error(
                path,
                key,
                format!(
                    "holds best {best:?} at epoch {best_epoch} after {waited} epochs without improvement, which epoch {epoch} of 'knit.epoch' cannot have"
                ),
            ));
        }
        let mut snapshot = Vec::new();
        if stopper.config.restore_best {
            let wanted = self.state_shapes();
            for (name, is_param, shape) in &wanted {
                let entry = format!("{BEST}{name}");
                let value = ckpt.tensors.get(&entry).ok_or_else(|| {
                    entry_error(
                        path,
                        &entry,
                        "is missing: the best-epoch snapshot must hold every parameter and buffer",
                    )
                })?;
                validate::model_state(path, &entry, name, value, shape, *is_param)?;
                snapshot.push((name.clone(), value.clone()));
            }
            if let Some(extra) = ckpt.tensors.keys().find(|k| {
                k.strip_prefix(BEST)
                    .is_some_and(|n| !wanted.iter().any(|(w, _, _)| w == n))
            }) {
                return Err(entry_error(
                    path,
                    extra,
                    "the model has no such parameter or buffer to restore",
                ));
            }
        }
        Ok(Some((best, best_epoch, waited, snapshot)))
    }

    /// Refuses a tensor `prefix + name` of the checkpoint whose `name` is none of this
    /// model's parameters and buffers, as PyTorch's strict `load_state_dict` refuses an
    /// unexpected key: a checkpoint of another model must not load into this one with part
    /// of it ignored. Entries of knit's own (`_knit.`) are not looked at, nor, with an
    /// empty `prefix`, an ensemble's `members.K.` tensors. [`Trainer::resume`] checks this;
    /// `knit eval`, `predict` and `attack` check it after [`Trainer::load_weights`], which
    /// alone (transfer learning) takes the tensors it needs and leaves the others.
    pub fn check_known_entries(
        &self,
        ckpt: &Checkpoint<F>,
        path: &Path,
        prefix: &str,
    ) -> Result<(), TrainError> {
        let wanted = self.state_shapes();
        let known: Vec<&str> = wanted.iter().map(|(n, _, _)| n.as_str()).collect();
        let unexpected = ckpt.tensors.keys().find(|k| {
            !k.starts_with(PRIVATE_PREFIX)
                && (!prefix.is_empty() || !k.starts_with("members."))
                && k.strip_prefix(prefix).is_some_and(|n| !known.contains(&n))
        });
        match unexpected {
            None => Ok(()),
            Some(entry) => {
                let name = &entry[prefix.len()..];
                Err(entry_error(
                    path,
                    entry,
                    format!(
                        "the model has no parameter or buffer '{name}'{}; was the checkpoint written for another program?",
                        closest(name, &known)
                            .map(|c| format!(" (did you mean '{c}'?)"))
                            .unwrap_or_default()
                    ),
                ))
            }
        }
    }

    /// The optimizer's name for messages (`adam`, `sgd`...).
    fn optimizer_name(&self) -> &'static str {
        match self.plan.optimizer {
            OptimizerSpec::Sgd(_) => "sgd",
            OptimizerSpec::Adagrad(_) => "adagrad",
            OptimizerSpec::Rmsprop(_) => "rmsprop",
            OptimizerSpec::Adam(_) => "adam",
            OptimizerSpec::AdamW(_) => "adamw",
        }
    }

    /// Every parameter and buffer of the model: its name, whether it is a parameter, and
    /// its shape.
    pub(crate) fn state_shapes(&self) -> Vec<(String, bool, Vec<usize>)> {
        let params = self.exec.graph().params().filter_map(|(id, n)| {
            self.exec
                .value(id)
                .ok()
                .map(|v| (n.name.clone(), true, v.shape().to_vec()))
        });
        let buffers = self
            .exec
            .buffers()
            .into_iter()
            .map(|(n, v)| (n, false, v.shape().to_vec()));
        params.chain(buffers).collect()
    }

    /// Loads trained parameters and buffers (transfer learning): every parameter and buffer
    /// of this run is looked up in the checkpoint, after applying `rename` (checkpoint name
    /// `old` is read as `new`), and must have the same shape and finite values. Returns how
    /// many were loaded; a missing one is an error naming it, with the closest name in the
    /// file, except batch norm's `num_batches_tracked`, which older files lack and which then
    /// keeps its value. Nothing is changed unless every entry is usable.
    pub fn load_weights(
        &mut self,
        ckpt: &Checkpoint<F>,
        path: &Path,
        rename: &[(String, String)],
    ) -> Result<usize, TrainError> {
        self.load_some_weights(ckpt, path, rename, None)
    }

    /// The checkpoint's tensors that no parameter or buffer of this model would read (after
    /// `rename`), in name order: the ones [`load_weights`](Self::load_weights) leaves
    /// unused, which a renamed layer or a checkpoint of another model shows as. knit's own
    /// `_knit.` entries and an ensemble's `members.K.` tensors are not counted.
    pub fn unused_entries(&self, ckpt: &Checkpoint<F>, rename: &[(String, String)]) -> Vec<String> {
        let wanted: Vec<String> = self
            .state_shapes()
            .into_iter()
            .map(|(name, _, _)| source_name(&name, rename))
            .collect();
        ckpt.tensors
            .keys()
            .filter(|k| !k.starts_with(PRIVATE_PREFIX) && !k.starts_with("members."))
            .filter(|k| !wanted.iter().any(|w| w == *k))
            .cloned()
            .collect()
    }

    /// [`load_weights`](Self::load_weights) for the parameters and buffers named in `only`
    /// (all when `None`); the others keep their current values.
    pub fn load_some_weights(
        &mut self,
        ckpt: &Checkpoint<F>,
        path: &Path,
        rename: &[(String, String)],
        only: Option<&[String]>,
    ) -> Result<usize, TrainError> {
        let renamed = |name: &str| source_name(name, rename);
        let public: Vec<&str> = ckpt
            .tensors
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with(PRIVATE_PREFIX))
            .collect();
        let mut found = Vec::new();
        for (name, is_param, shape) in self.state_shapes() {
            if only.is_some_and(|names| !names.contains(&name)) {
                continue;
            }
            let source = renamed(&name);
            if is_counter(&name) && !ckpt.tensors.contains_key(&source) {
                // As PyTorch's batch norm does for older files: a missing counter is not an
                // error, the count starts where it is.
                continue;
            }
            let value = ckpt.tensors.get(&source).ok_or_else(|| {
                entry_error(
                    path,
                    &source,
                    format!(
                        "is missing: the model's {} '{name}' needs it{}",
                        if is_param { "parameter" } else { "buffer" },
                        closest(&source, &public)
                            .map(|c| format!(" (did you mean '{c}'?)"))
                            .unwrap_or_default()
                    ),
                )
            })?;
            validate::model_state(path, &source, &name, value, &shape, is_param)?;
            found.push((name, is_param, value));
        }
        for (name, is_param, value) in &found {
            if *is_param {
                self.exec.set_param(name, value.view())?;
            } else {
                self.exec.set_buffer(name, value.view())?;
            }
        }
        Ok(found.len())
    }
}

impl<F: Element> Trainer<F> {
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

fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    key: &str,
    path: &Path,
) -> Result<T, TrainError> {
    serde_json::from_str(text)
        .map_err(|e| entry_error(path, key, format!("the metadata entry is corrupt ({e})")))
}

/// The most epochs or steps a checkpoint may count: 2⁵³, far beyond any run, so that the
/// counters never overflow when training continues.
const MAX_COUNT: u64 = 1 << 53;

/// The counter `key` of the metadata (`knit.epoch`, `knit.step`), at most [`MAX_COUNT`].
fn counter<T: std::str::FromStr + TryFrom<u64>, F: Element>(
    ckpt: &Checkpoint<F>,
    key: &str,
    path: &Path,
) -> Result<T, TrainError> {
    let value: u64 = parse(ckpt.meta(key, path)?, key, path)?;
    if value > MAX_COUNT {
        return Err(entry_error(
            path,
            key,
            format!("counts {value}, more than the {MAX_COUNT} a run can reach"),
        ));
    }
    T::try_from(value).map_err(|_| entry_error(path, key, format!("counts {value}, too many here")))
}

fn parse<T: std::str::FromStr>(text: &str, key: &str, path: &Path) -> Result<T, TrainError> {
    text.parse().map_err(|_| {
        entry_error(
            path,
            key,
            format!("the metadata entry is not a non-negative whole number: '{text}'"),
        )
    })
}

/// The lines of a resolved program as [`Trainer::resume`] compares them: the epoch count
/// (`epochs 40, early_stop(...)` → `epochs _, early_stop(...)`) and the save path blanked,
/// trailing spaces and blank lines ignored.
fn comparable(program: &str) -> Vec<String> {
    program
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            if let Some(rest) = body.strip_prefix("epochs ") {
                let tail = rest.find(',').map_or("", |i| &rest[i..]);
                format!("{indent}epochs _{tail}")
            } else if body.starts_with("save ") {
                format!("{indent}save _")
            } else {
                line.to_string()
            }
        })
        .collect()
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

/// The checkpoint name a parameter or buffer `name` is read from: `rename`'s pairs
/// (`old`, `new`) read checkpoint `old…` as the model's `new…`.
fn source_name(name: &str, rename: &[(String, String)]) -> String {
    for (old, new) in rename {
        if let Some(rest) = name.strip_prefix(new.as_str()) {
            return format!("{old}{rest}");
        }
    }
    name.to_string()
}
