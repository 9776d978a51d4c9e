//! The training loop: batches → forward → loss + penalties → backward → clipping →
//! optimizer step → schedule step, with evaluation and early stopping each epoch.

use crate::distributed;
use crate::early_stop::EarlyStopper;
use crate::element::Element;
use crate::evaluate::{evaluate, evaluate_in};
use crate::memory::{check_fits, largest_batch, run_memory};
use crate::metrics::{argmax, ClipStats, EpochMetrics, EvalMetrics};
use crate::{Batching, Clip, Observer, Plan, ScheduleUnit, Task, TrainError};
use knit_data::{epoch_order, gather, gather_rows, Dataset, ImageShape, Splits};
use knit_dist::{Collective, Single};
use knit_optim::schedule::Schedule;
use knit_optim::{clip_grad_norm, clip_grad_value, Optimizer, ParamSpec, Slot};
use knit_tensor::{Executor, Mode, NodeId};
use ndarray::{s, Array1, Array2, ArrayD, ArrayView1, ArrayViewD, ArrayViewMutD, IxDyn};
use std::time::Instant;

/// Settings of a run that are not part of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainOptions {
    /// Threads for matrix products.
    pub threads: usize,
    /// Batch size for evaluation passes.
    pub eval_batch: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            threads: 1,
            eval_batch: 512,
        }
    }
}

/// What a whole run gave.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Every epoch's metrics.
    pub epochs: Vec<EpochMetrics>,
    /// Each model's metrics on the test split, if there is one.
    pub test: Vec<EvalMetrics>,
    /// The epoch whose weights were kept, when early stopping restored the best ones.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended the run before the last epoch.
    pub stopped_early: bool,
    /// Seconds of training (evaluation excluded).
    pub train_seconds: f64,
    /// Training examples per second over the run.
    pub samples_per_second: f64,
}

/// Runs a [`Plan`] on loaded data, computing in `F`: `f32` (the default), or `f64` for a
/// plan of [`Precision::F64`](crate::Precision) (the CLI picks `F` from the plan; a
/// trainer of either type runs any plan).
pub struct Trainer<F: Element = f32> {
    pub(crate) plan: Plan,
    pub(crate) data: Splits,
    pub(crate) options: TrainOptions,
    pub(crate) exec: Executor<F>,
    pub(crate) optimizer: Box<dyn Optimizer<F>>,
    pub(crate) lr_schedule: Box<dyn Schedule>,
    pub(crate) value_schedules: Vec<(String, Box<dyn Schedule>)>,
    /// Epochs completed.
    pub(crate) epoch: usize,
    /// Optimizer steps taken.
    pub(crate) step: u64,
    pub(crate) order: Vec<usize>,
    pub(crate) x_batch: Array2<F>,
    pub(crate) y_batch: Array1<f32>,
    pub(crate) history: Vec<EpochMetrics>,
    pub(crate) stopper: Option<EarlyStopper<F>>,
    /// Reused allocation for the optimizer's slots (empty between steps).
    pub(crate) slot_buffer: Vec<Slot<'static, F>>,
    /// Reused allocation for the gradients to clip (empty between steps).
    pub(crate) grad_buffer: Vec<ArrayViewMutD<'static, F>>,
    /// Seconds spent in the steps' all-reduces so far (the copies of the gradients into the
    /// collective's buffer and back included).
    pub(crate) collective_seconds: f64,
    /// Pruning masks (1 keep, 0 pruned), aligned with the trainable parameters.
    pub(crate) masks: Vec<Option<ArrayD<F>>>,
    /// The clean rows of a batch while adversarial ones are made.
    pub(crate) x_clean: Array2<F>,
    /// With norm clipping, the last step's gradient norm before clipping.
    pub(crate) last_gradient_norm: Option<f64>,
}

impl<F: Element> std::fmt::Debug for Trainer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("epoch", &self.epoch)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// Prepares a run in `f32`: [`Trainer::create`] with `F = f32`, the type most callers
    /// want without naming it.
    pub fn new(plan: Plan, data: Splits, options: TrainOptions) -> Result<Self, TrainError> {
        Self::create(plan, data, options)
    }
}

impl<F: Element> Trainer<F> {
    /// Prepares a run computing in `F`: checks that the data fits the models, builds the
    /// executor, the optimizer over the plan's parameter groups and the schedules.
    pub fn create(plan: Plan, data: Splits, options: TrainOptions) -> Result<Self, TrainError> {
        check_data_fits(&plan, &data.train)?;
        if let Some(available) = knit_data::available_memory() {
            let batch = largest_batch(&plan, data.train.len(), options.eval_batch);
            let estimate = run_memory(&plan, batch, data.train.features.ncols());
            check_fits(&estimate, available, batch)?;
        }
        let mut exec = Executor::<F>::new(&plan.graph);
        exec.set_threads(options.threads);
        let specs = param_specs(&plan, &mut exec)?;
        let optimizer = plan.optimizer.build(&specs, &plan.groups)?;
        let lr_schedule = plan.lr_schedule.build()?;
        let value_schedules = plan
            .value_schedules
            .iter()
            .map(|(name, s)| Ok((name.clone(), s.build()?)))
            .collect::<Result<Vec<_>, TrainError>>()?;
        let batch = batch_size(plan.batching, data.train.len());
        let features = data.train.features.ncols();
        let stopper = plan.early_stop.map(EarlyStopper::new);
        let x_clean = if plan.adversarial.is_some() {
            exec.require_grad(plan.models[0].input)?;
            Array2::zeros((batch, features))
        } else {
            Array2::zeros((0, features))
        };
        Ok(Trainer {
            x_clean,
            x_batch: Array2::zeros((batch, features)),
            y_batch: Array1::zeros(batch),
            order: Vec::with_capacity(data.train.len()),
            history: Vec::new(),
            epoch: 0,
            step: 0,
            plan,
            data,
            options,
            exec,
            optimizer,
            lr_schedule,
            value_schedules,
            stopper,
            slot_buffer: Vec::new(),
            grad_buffer: Vec::new(),
            collective_seconds: 0.0,
            masks: Vec::new(),
            last_gradient_norm: None,
        })
    }

    /// Seconds this rank has spent in the steps' all-reduces since it was built: the copies
    /// of the gradients into the collective's buffer and back, the sum, and waiting for the
    /// others; 0 in one process.
    pub fn collective_seconds(&self) -> f64 {
        self.collective_seconds
    }

    /// Optimizer steps taken so far (the step dropout masks are drawn for).
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Replaces the training split, for runs that draw fresh examples every epoch (the
    /// adding problem's protocol: every batch new). The new rows must fit the models as the
    /// old ones did.
    pub fn replace_train(&mut self, train: Dataset) -> Result<(), TrainError> {
        // The models' inputs fix the row width, so fitting them is fitting the old rows.
        check_data_fits(&self.plan, &train)?;
        self.data.train = train;
        Ok(())
    }

    /// The executor holding the current parameters.
    pub fn executor(&self) -> &Executor<F> {
        &self.exec
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The data being trained on.
    pub fn splits(&self) -> &Splits {
        &self.data
    }

    /// The metrics of the epochs this trainer ran (not those of a resumed checkpoint's
    /// earlier epochs), in order; what a report of an interrupted run records.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }

    /// Epochs completed so far.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// Trains until the plan's last epoch or early stopping, evaluating each epoch, then
    /// evaluates the test split.
    pub fn fit(&mut self, observer: &mut dyn Observer<F>) -> Result<Report, TrainError> {
        self.fit_in(&Single, observer)
    }

    /// [`fit`](Self::fit) as one rank of a data-parallel `group`: every rank runs this with
    /// the same plan and data and takes its share of each batch (see the `distributed`
    /// module); the parameters, the metrics and every decision (early stopping, schedules,
    /// divergence) come out the same on every rank. Only rank 0 should be given an observer
    /// that prints or saves.
    pub fn fit_in(
        &mut self,
        group: &dyn Collective,
        observer: &mut dyn Observer<F>,
    ) -> Result<Report, TrainError> {
        let mut stopped_early = false;
        while self.epoch < self.plan.epochs {
            let metrics = self.train_epoch_in(group, observer)?;
            observer.epoch_finished(&metrics);
            let stop = self.after_epoch(&metrics);
            self.history.push(metrics);
            observer.epoch_committed(self)?;
            if stop {
                stopped_early = self.epoch < self.plan.epochs;
                if stopped_early {
                    let best = self
                        .stopper
                        .as_ref()
                        .map_or(self.epoch, EarlyStopper::best_epoch);
                    observer.stopped_early(self.epoch, best);
                }
                break;
            }
        }
        let best_epoch = match &self.stopper {
            Some(s) if self.plan.early_stop.is_some_and(|e| e.restore_best) => {
                s.restore(&mut self.exec)?;
                Some(s.best_epoch())
            }
            _ => None,
        };
        let test = match &self.data.test {
            Some(test) => evaluate_in(
                group,
                &mut self.exec,
                &self.plan,
                test,
                self.options.eval_batch,
            )?,
            None => Vec::new(),
        };
        // A fold from +0: `Sum` for floats starts at -0.0, which an empty history (a resumed
        // run with no epoch left) would print as "-0.00 s".
        let train_seconds = self.history.iter().fold(0.0, |t, e| t + e.seconds);
        let samples = self.history.len() as f64 * self.data.train.len() as f64;
        Ok(Report {
            epochs: self.history.clone(),
            test,
            best_epoch,
            stopped_early,
            train_seconds,
            samples_per_second: if train_seconds > 0.0 {
                samples / train_seconds
            } else {
                0.0
            },
        })
    }

    /// Each model's metrics on `data`, in evaluation mode.
    pub fn evaluate(&mut self, data: &Dataset) -> Result<Vec<EvalMetrics>, TrainError> {
        evaluate(&mut self.exec, &self.plan, data, self.options.eval_batch)
    }

    /// Watches the epoch's metric; returns whether to stop.
    fn after_epoch(&mut self, metrics: &EpochMetrics) -> bool {
        let monitored = metrics
            .validation
            .first()
            .map_or(metrics.train_loss, |v| v.loss);
        self.lr_schedule.observe(monitored);
        match &mut self.stopper {
            Some(stopper) => stopper.observe(metrics, &self.exec),
            None => false,
        }
    }

    /// One pass over the training split.
    pub fn train_epoch(
        &mut self,
        observer: &mut dyn Observer<F>,
    ) -> Result<EpochMetrics, TrainError> {
        self.train_epoch_in(&Single, observer)
    }

    /// [`train_epoch`](Self::train_epoch) as one rank of a data-parallel `group` (see
    /// [`fit_in`](Self::fit_in)).
    pub fn train_epoch_in(
        &mut self,
        group: &dyn Collective,
        observer: &mut dyn Observer<F>,
    ) -> Result<EpochMetrics, TrainError> {
        let n = self.data.train.len();
        let batch = batch_size(self.plan.batching, n);
        let epoch = self.epoch;
        if self.plan.schedule_unit == ScheduleUnit::Epoch {
            self.optimizer.set_lr(self.lr_schedule.value(epoch));
        }
        for (name, schedule) in &self.value_schedules {
            let value = ArrayD::from_elem(IxDyn(&[]), schedule.value(epoch));
            self.exec.set_constant(name, value.view())?;
        }
        let lr = self.optimizer.lr();
        epoch_order(
            n,
            self.plan.shuffle,
            self.plan.seed,
            epoch as u64,
            &mut self.order,
        );
        let batches = if self.plan.drop_last {
            n / batch
        } else {
            n.div_ceil(batch)
        };
        observer.epoch_started(epoch + 1, batches);

        let models = self.plan.models.len();
        let mut sums = EpochSums::new(models, self.plan.penalties.len());
        let start = Instant::now();
        for b in 0..batches {
            let (first, end) = (b * batch, ((b + 1) * batch).min(n));
            let loss = if group.size() > 1 {
                self.step_in(group, first..end, &mut sums)?
            } else {
                self.step_on(first..end, &mut sums)?
            };
            if let Some(norm) = self.last_gradient_norm {
                observer.gradient_norm(norm);
            }
            observer.batch_finished(b, end - first, loss.as_f64());
        }
        let seconds = start.elapsed().as_secs_f64();
        self.epoch += 1;
        if group.size() > 1 {
            sums.all_reduce(group)?;
            distributed::average_buffers(&mut self.exec, group)?;
        }
        let validation = match &self.data.validation {
            Some(v) => evaluate_in(
                group,
                &mut self.exec,
                &self.plan,
                v,
                self.options.eval_batch,
            )?,
            None => Vec::new(),
        };
        let mut metrics = sums.finish(&self.plan, epoch + 1, lr, validation, seconds);
        metrics.tie_distances = self.tie_distances()?;
        Ok(metrics)
    }

    /// One optimizer step on the examples at positions `range` of this epoch's order;
    /// returns the batch's total loss.
    pub(crate) fn step_on(
        &mut self,
        range: std::ops::Range<usize>,
        sums: &mut EpochSums,
    ) -> Result<F, TrainError> {
        self.exec.set_step(self.step);
        let adversarial = self.adversarial_rows(range.len(), 0..range.len());
        let loss = self.forward_on(range.clone(), adversarial)?;
        if !loss.is_finite() {
            return Err(self.diverged(loss));
        }
        let y = self.y_batch.slice(s![..range.len()]);
        sums.add_batch(&self.exec, &self.plan, &y, loss)?;
        self.exec.backward(self.plan.loss)?;
        self.update(sums)?;
        Ok(loss)
    }

    /// [`step_on`](Self::step_on) as one rank of `group`: the forward and backward passes
    /// on this rank's share of the batch, then one all-reduce of the weighted gradients and
    /// loss (see the `distributed` module), then the update every rank makes alike.
    fn step_in(
        &mut self,
        group: &dyn Collective,
        range: std::ops::Range<usize>,
        sums: &mut EpochSums,
    ) -> Result<F, TrainError> {
        let k = range.len();
        let mine = distributed::share(k, group.rank(), group.size());
        self.exec.set_step(self.step);
        self.exec.set_first_row(mine.start as u64);
        let weight = F::lit(mine.len() as f64) / F::lit(k as f64);
        let mut local = F::zero();
        if !mine.is_empty() {
            let adversarial = self.adversarial_rows(k, mine.clone());
            let rows = range.start + mine.start..range.start + mine.end;
            local = self.forward_on(rows, adversarial)?;
            if local.is_finite() {
                let y = self.y_batch.slice(s![..mine.len()]);
                sums.add_batch(&self.exec, &self.plan, &y, local)?;
                self.exec.backward(self.plan.loss)?;
            }
        }
        if mine.is_empty() || !local.is_finite() {
            // No gradient of this rank's: zeros (a NaN loss still reaches every rank).
            for (_, _, mut g) in self.exec.trainable_grads_mut() {
                g.fill(F::zero());
            }
        }
        let started = Instant::now();
        let mut part = distributed::WeightedGradients::new(&mut self.exec, weight, local);
        let reduced = F::all_reduce_sum_with(group, &mut part);
        let loss = part.summed_loss();
        self.collective_seconds += started.elapsed().as_secs_f64();
        reduced?;
        if !loss.is_finite() {
            return Err(self.diverged(loss));
        }
        self.update(sums)?;
        Ok(loss)
    }

    /// Feeds the examples at positions `range` of this epoch's order (the first
    /// `adversarial` of them replaced by adversarial examples), runs the forward pass and
    /// returns the loss.
    fn forward_on(
        &mut self,
        range: std::ops::Range<usize>,
        adversarial: usize,
    ) -> Result<F, TrainError> {
        let k = range.len();
        if self.plan.models.len() == 1 && self.plan.adversarial.is_none() {
            // The common case: the rows go straight into the executor's input buffer.
            self.feed_direct(range)?;
        } else {
            self.feed_copied(range, adversarial)?;
        }
        let y = self.y_batch.slice(s![..k]);
        feed_labels(&mut self.exec, &self.plan, y)?;
        self.exec.run(self.plan.loss, Mode::Train)?;
        Ok(self.exec.scalar(self.plan.loss)?)
    }

    /// The error of a step whose loss is not finite, naming the first non-finite value.
    fn diverged(&self, loss: F) -> TrainError {
        TrainError::Diverged {
            epoch: self.epoch + 1,
            step: self.step,
            // NaN and the infinities survive the narrowing.
            loss: loss.as_f64() as f32,
            culprit: self
                .exec
                .first_non_finite()
                .unwrap_or("the loss")
                .to_string(),
        }
    }

    /// After the gradients of a step are in place: pruning masks, clipping, the optimizer
    /// step, the masks again, the step count and the per-step schedule.
    fn update(&mut self, sums: &mut EpochSums) -> Result<(), TrainError> {
        self.mask_gradients();
        self.last_gradient_norm = None;
        if let Some((norm, max)) = self.clip()? {
            self.last_gradient_norm = Some(norm);
            sums.clipping
                .get_or_insert_with(ClipStats::default)
                .record(norm, max);
        }
        let mut slots = recycle(std::mem::take(&mut self.slot_buffer));
        slots.extend(
            self.exec
                .trainable_params()
                .map(|(_, _, p, g)| Slot::new(p, g)),
        );
        let stepped = self.optimizer.step(&mut slots);
        self.slot_buffer = recycle(slots);
        stepped?;
        self.mask_weights();
        self.step += 1;
        if self.plan.schedule_unit == ScheduleUnit::Step {
            self.optimizer
                .set_lr(self.lr_schedule.value(self.step as usize));
        }
        Ok(())
    }

    /// How many leading rows of the share `mine` of a `k`-row batch become adversarial
    /// examples: the plan replaces the first `round(mix · k)` rows of the whole batch, once
    /// the clean warm-up epochs are over.
    fn adversarial_rows(&self, k: usize, mine: std::ops::Range<usize>) -> usize {
        let Some(spec) = self.plan.adversarial else {
            return 0;
        };
        if self.epoch < spec.warmup_epochs {
            return 0;
        }
        let m = ((spec.mix * k as f64).round() as usize).min(k);
        m.saturating_sub(mine.start).min(mine.len())
    }

    /// Feeds the batch at positions `range` of this epoch's order to the one model: the
    /// feature rows are gathered straight into its input buffer and augmented there, the
    /// labels go into `y_batch`.
    fn feed_direct(&mut self, range: std::ops::Range<usize>) -> Result<(), TrainError> {
        let model = &self.plan.models[0];
        let indices = &self.order[range];
        let data = &self.data.train;
        let buffer = self.exec.input_buffer(model.input, indices.len())?;
        if buffer.len() != indices.len() * data.features.ncols() {
            let per_example = buffer.len() / indices.len().max(1);
            return Err(TrainError::DataMismatch {
                model: model.name.clone(),
                message: format!(
                    "the model's input takes {per_example} values per example, the data has {}",
                    data.features.ncols()
                ),
            });
        }
        gather_rows(data, indices, buffer);
        if let Some(augmentation) = &self.plan.augment {
            augmentation.apply(self.plan.seed, self.epoch as u64, indices, buffer);
        }
        for (target, &i) in self.y_batch.iter_mut().zip(indices) {
            *target = data.labels[i];
        }
        Ok(())
    }

    /// Feeds the batch at positions `range` through `x_batch`: gathered there, augmented,
    /// its first `adversarial` rows replaced by adversarial examples (of the augmented rows),
    /// then copied to every model's input.
    fn feed_copied(
        &mut self,
        range: std::ops::Range<usize>,
        adversarial: usize,
    ) -> Result<(), TrainError> {
        let k = range.len();
        let indices = &self.order[range];
        gather(
            &self.data.train,
            indices,
            &mut self.x_batch,
            &mut self.y_batch,
        );
        if let (Some(augmentation), Some(rows)) = (&self.plan.augment, self.x_batch.as_slice_mut())
        {
            augmentation.apply(self.plan.seed, self.epoch as u64, indices, rows);
        }
        self.mix_adversarial(adversarial)?;
        let x = self.x_batch.slice(s![..k, ..]);
        for model in &self.plan.models {
            let dims = &self.plan.graph.node(model.input)?.shape.dims;
            let x = x.into_shape_with_order(batch_dims(k, dims)).map_err(|e| {
                TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: e.to_string(),
                }
            })?;
            self.exec.set_input(model.input, x)?;
        }
        Ok(())
    }

    /// ‖a − b‖² of every tied pair, named `a ~ b`.
    pub fn tie_distances(&self) -> Result<Vec<(String, f64)>, TrainError> {
        self.plan
            .ties
            .iter()
            .map(|(a, b)| {
                let (va, vb) = (self.exec.param(a)?, self.exec.param(b)?);
                let d: f64 = va
                    .iter()
                    .zip(vb.iter())
                    .map(|(&x, &y)| (x - y).as_f64().powi(2))
                    .sum();
                Ok((format!("{a} ~ {b}"), d))
            })
            .collect()
    }

    /// Replaces the first `m` rows of the batch by adversarial versions (the rows are in
    /// shuffled order already).
    fn mix_adversarial(&mut self, m: usize) -> Result<(), TrainError> {
        let Some(spec) = self.plan.adversarial else {
            return Ok(());
        };
        if m == 0 {
            return Ok(());
        }
        self.x_clean
            .slice_mut(s![..m, ..])
            .assign(&self.x_batch.slice(s![..m, ..]));
        let mut target = [crate::adversarial::Target {
            exec: &mut self.exec,
            plan: &self.plan,
        }];
        crate::adversarial::perturb_in_place(
            &mut target,
            self.x_batch.slice_mut(s![..m, ..]),
            self.x_clean.slice(s![..m, ..]),
            self.y_batch.slice(s![..m]),
            spec.attack,
            spec.range,
        )
    }

    /// Clips the gradients as the plan says; with norm clipping, returns the global norm
    /// before clipping and the maximum.
    fn clip(&mut self) -> Result<Option<(f64, f64)>, TrainError> {
        let Some(clip) = self.plan.clip else {
            return Ok(None);
        };
        let mut grads = recycle(std::mem::take(&mut self.grad_buffer));
        grads.extend(self.exec.trainable_grads_mut().map(|(_, _, g)| g));
        let clipped = match clip {
            Clip::Value(c) => clip_grad_value(&mut grads, F::lit(c)).map(|()| None),
            Clip::Norm(max) => {
                clip_grad_norm(&mut grads, F::lit(max)).map(|norm| Some((norm.as_f64(), max)))
            }
        };
        self.grad_buffer = recycle(grads);
        Ok(clipped?)
    }
}

/// Running sums over an epoch's batches.
pub(crate) struct EpochSums {
    clipping: Option<ClipStats>,
    examples: usize,
    loss: f64,
    data_loss: Vec<f64>,
    correct: Vec<usize>,
    penalties: Vec<f64>,
}

impl EpochSums {
    /// Adds up every rank's sums (the clipping statistics are of the global gradient, the
    /// same on every rank already).
    fn all_reduce(&mut self, group: &dyn Collective) -> Result<(), TrainError> {
        let mut flat = vec![self.examples as f64, self.loss];
        flat.extend(&self.data_loss);
        flat.extend(self.correct.iter().map(|&c| c as f64));
        flat.extend(&self.penalties);
        group.all_reduce_sum_f64(&mut flat)?;
        let models = self.data_loss.len();
        self.examples = flat[0] as usize;
        self.loss = flat[1];
        self.data_loss.copy_from_slice(&flat[2..2 + models]);
        for (c, &v) in self
            .correct
            .iter_mut()
            .zip(&flat[2 + models..2 + 2 * models])
        {
            *c = v as usize;
        }
        self.penalties.copy_from_slice(&flat[2 + 2 * models..]);
        Ok(())
    }

    pub(crate) fn new(models: usize, penalties: usize) -> Self {
        EpochSums {
            clipping: None,
            examples: 0,
            loss: 0.0,
            data_loss: vec![0.0; models],
            correct: vec![0; models],
            penalties: vec![0.0; penalties],
        }
    }

    fn add_batch<F: Element>(
        &mut self,
        exec: &Executor<F>,
        plan: &Plan,
        labels: &ndarray::ArrayView1<f32>,
        loss: F,
    ) -> Result<(), TrainError> {
        let k = labels.len();
        self.examples += k;
        self.loss += loss.as_f64() * k as f64;
        for (i, model) in plan.models.iter().enumerate() {
            self.data_loss[i] += exec.scalar(model.data_loss)?.as_f64() * k as f64;
            if let Task::Classification { .. } = plan.task {
                let out = exec.value(model.output)?;
                for (row, &label) in out.outer_iter().zip(labels) {
                    if argmax(row.iter().copied()) as f32 == label {
                        self.correct[i] += 1;
                    }
                }
            }
        }
        for (sum, (_, node)) in self.penalties.iter_mut().zip(&plan.penalties) {
            *sum += exec.scalar(*node)?.as_f64() * k as f64;
        }
        Ok(())
    }

    fn finish(
        self,
        plan: &Plan,
        epoch: usize,
        lr: f64,
        validation: Vec<EvalMetrics>,
        seconds: f64,
    ) -> EpochMetrics {
        let n = self.examples.max(1) as f64;
        let classification = matches!(plan.task, Task::Classification { .. });
        EpochMetrics {
            epoch,
            lr,
            train_loss: self.loss / n,
            train_data_loss: self.data_loss.iter().map(|l| l / n).collect(),
            train_accuracy: self
                .correct
                .iter()
                .map(|&c| classification.then(|| c as f64 / n))
                .collect(),
            tie_distances: Vec::new(),
            penalties: plan
                .penalties
                .iter()
                .zip(&self.penalties)
                .map(|((name, _), v)| (name.clone(), v / n))
                .collect(),
            validation,
            seconds,
            samples_per_second: if seconds > 0.0 {
                self.examples as f64 / seconds
            } else {
                0.0
            },
            clipping: self.clipping,
        }
    }
}

/// Empties a vector and hands back its allocation for elements of another type of the same
/// layout (here: the same views with another lifetime), so a per-step list of borrowed views
/// costs no allocation after the first step. Collecting a cleared `vec::IntoIter` into a
/// vector of a same-size, same-alignment type reuses the buffer in place.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector was cleared"))
        .collect()
}

/// The batch size of a batching mode for `n` training examples.
pub(crate) fn batch_size(batching: Batching, n: usize) -> usize {
    match batching {
        Batching::Full => n.max(1),
        Batching::Online => 1,
        Batching::Mini(b) => b.clamp(1, n.max(1)),
    }
}

/// `[k, dims...]` as a dynamic dimension.
pub(crate) fn batch_dims(k: usize, dims: &[usize]) -> IxDyn {
    let mut full = [0usize; 8];
    full[0] = k;
    full[1..=dims.len()].copy_from_slice(dims);
    IxDyn(&full[..=dims.len()])
}

/// Feeds `x` (`[k, ...]`, shaped as `input` takes it; `f32` data or values of `F`) to
/// `input`, each value converted to `F` exactly, straight into the executor's buffer.
pub(crate) fn feed<F: Element + From<X>, X: Copy>(
    exec: &mut Executor<F>,
    input: NodeId,
    x: ArrayViewD<'_, X>,
) -> Result<(), TrainError> {
    let k = x.shape().first().copied().unwrap_or(1);
    let len = exec.input_buffer(input, k)?.len();
    if len != x.len() {
        return Err(TrainError::DataMismatch {
            model: exec.graph().nodes()[input.index()].name.clone(),
            message: format!(
                "the input takes {len} values for {k} examples, the data has {}",
                x.len()
            ),
        });
    }
    exec.input_buffer(input, k)?
        .iter_mut()
        .zip(x.iter())
        .for_each(|(b, &v)| *b = <F as From<X>>::from(v));
    Ok(())
}

/// Feeds a batch of labels `y` (one per example) to the plan's label input: `[k]` for class
/// indices, `[k, 1]` for the one target per example of a regression model with outputs `[1]`.
pub(crate) fn feed_labels<F: Element>(
    exec: &mut Executor<F>,
    plan: &Plan,
    y: ArrayView1<'_, f32>,
) -> Result<(), TrainError> {
    let dims = &plan.graph.node(plan.labels)?.shape.dims;
    if dims.iter().product::<usize>() != 1 {
        return Err(TrainError::DataMismatch {
            model: plan
                .models
                .first()
                .map_or_else(String::new, |m| m.name.clone()),
            message: format!(
                "the data has one target per example, but the model's targets are {dims:?} per example"
            ),
        });
    }
    feed(exec, plan.labels, y.into_dyn())
}

/// The optimizer's parameter list, checked against the executor's trainable parameters.
fn param_specs<F: Element>(
    plan: &Plan,
    exec: &mut Executor<F>,
) -> Result<Vec<ParamSpec>, TrainError> {
    let mut specs = Vec::new();
    let trainable: Vec<(String, Vec<usize>)> = exec
        .trainable_params()
        .map(|(_, name, value, _)| (name.to_string(), value.shape().to_vec()))
        .collect();
    for (name, shape) in trainable {
        let group = plan
            .param_groups
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, g)| *g);
        specs.push(ParamSpec::new(name, &shape).in_group(group));
    }
    Ok(specs)
}

/// Checks that every model's input takes the data's examples, as images of the
/// augmentation's shape when the plan augments.
fn check_data_fits(plan: &Plan, train: &Dataset) -> Result<(), TrainError> {
    for model in &plan.models {
        let dims = &plan.graph.node(model.input)?.shape.dims;
        if let Some(augmentation) = &plan.augment {
            let image = augmentation.image;
            if ImageShape::from_dims(dims) != Some(image) {
                return Err(TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: format!(
                        "the augmentation transforms images [{}, {}, {}], but the model's input is {dims:?}",
                        image.channels, image.height, image.width
                    ),
                });
            }
            augmentation.check()?;
        }
        let size: usize = dims.iter().product();
        if size != train.features.ncols() {
            return Err(TrainError::DataMismatch {
                model: model.name.clone(),
                message: format!(
                    "its input takes {size} features per example ({dims:?}) but the data has {} ({:?})",
                    train.features.ncols(),
                    train.feature_dims
                ),
            });
        }
        if let (Task::Classification { classes }, Some(found)) = (plan.task, train.classes) {
            if found > classes {
                return Err(TrainError::DataMismatch {
                    model: model.name.clone(),
                    message: format!(
                        "it predicts {classes} classes but the labels go up to {}",
                        found - 1
                    ),
                });
            }
        }
    }
    if train.is_empty() {
        return Err(TrainError::DataMismatch {
            model: plan
                .models
                .first()
                .map_or_else(String::new, |m| m.name.clone()),
            message: "the training split is empty".into(),
        });
    }
    Ok(())
}
