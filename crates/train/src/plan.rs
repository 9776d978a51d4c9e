//! The `Plan`: everything a training run needs, as plain Rust values.
//!
//! A `.net` file compiles into a `Plan` (crate `knit-dsl`), but nothing here knows about
//! text: a Rust program can build a `Plan` by hand and give it to the trainer.

use crate::TrainError;
use knit_data::{Augmentation, DataSpec};
use knit_init::{initialize, initialize_with_fans, Fans, Initializer};
use knit_optim::schedule::{
    Constant, CosineAnnealing, CosineWarmRestarts, Exponential, Inv, InverseTime, LinearWarmup,
    MultiStep, PlateauConfig, Polynomial, ReduceOnPlateau, Schedule, StepDecay, WarmupMode,
};
use knit_optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, OptimError, Optimizer,
    ParamGroup, ParamSpec, Rmsprop, RmspropConfig, Sgd, SgdConfig,
};
use knit_tensor::{Graph, NodeId};
use std::path::PathBuf;
use std::sync::Arc;

/// A complete training run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Drives every random stream (initialization was done with it; shuffling, dropout,
    /// bootstrap and adversarial noise derive their own streams from it).
    pub seed: u64,
    /// The resolved program, every default filled in (stored in checkpoints).
    pub program: String,
    /// The data.
    pub data: DataSpec,
    /// The computation graph: all models, their losses, penalties and the total loss.
    pub graph: Graph,
    /// The models in the graph (two when they are trained side by side and tied).
    pub models: Vec<ModelNodes>,
    /// The input fed with each batch's labels.
    pub labels: NodeId,
    /// The scalar minimized: the models' data losses plus every penalty.
    pub loss: NodeId,
    /// Penalty terms reported on their own (`l2`, `tie`...), each a scalar node.
    pub penalties: Vec<(String, NodeId)>,
    /// Classification (with the number of classes) or regression.
    pub task: Task,
    /// The optimizer and its hyperparameters.
    pub optimizer: OptimizerSpec,
    /// Parameter groups (learning-rate multiplier, weight decay, frozen); group 0 is the default.
    pub groups: Vec<ParamGroup>,
    /// For each trainable parameter in graph order: its name and group index.
    pub param_groups: Vec<(String, usize)>,
    /// The learning-rate schedule, stepped once per [`Plan::schedule_unit`].
    pub lr_schedule: ScheduleSpec,
    /// Whether schedules advance per epoch or per optimizer step.
    pub schedule_unit: ScheduleUnit,
    /// The floating-point type of the run.
    pub precision: Precision,
    /// Schedules of other values, by the name of the graph constant they set (a dropout ratio
    /// `drop1.p`).
    pub value_schedules: Vec<(String, ScheduleSpec)>,
    /// Random transforms of the training batches' images (the data block's `augment`
    /// line), applied after scaling to every training batch and to nothing else, seeded
    /// by `(seed, epoch, row)`; `None` for none. Its image shape is the models' input.
    pub augment: Option<Augmentation>,
    /// Full batch, online or minibatch.
    pub batching: Batching,
    /// Reshuffle the training examples every epoch.
    pub shuffle: bool,
    /// Drop a last batch smaller than the batch size.
    pub drop_last: bool,
    /// Number of epochs.
    pub epochs: usize,
    /// Stop when the monitored metric stops improving.
    pub early_stop: Option<EarlyStop>,
    /// Gradient clipping before each optimizer step.
    pub clip: Option<Clip>,
    /// Where to write the final checkpoint.
    pub save: Option<PathBuf>,
    /// Start from trained weights.
    pub transfer: Option<Transfer>,
    /// Parameter pairs tied by a penalty, for reporting their distance.
    pub ties: Vec<(String, String)>,
    /// Parameters used in several places: the name and where it is used (checkpoint aliases).
    pub shared: Vec<(String, Vec<String>)>,
    /// Iterative magnitude pruning after training.
    pub prune: Option<PruneSpec>,
    /// Adversarial training.
    pub adversarial: Option<AdversarialSpec>,
    /// Bagging: an ensemble of members trained on bootstrap resamples.
    pub bagging: Option<BaggingSpec>,
    /// How the parameters were initialized, so that [`Plan::reinitialize`] can draw new
    /// initial values from another seed (bagging members start from their own). Empty for
    /// a plan built by hand unless filled in; then the graph's values are all there is.
    pub inits: Vec<ParamInit>,
}

/// How one parameter is initialized: the initializer, the shape and the fans it is drawn with.
#[derive(Clone, Debug)]
pub struct ParamInit {
    /// The parameter's name in the graph.
    pub name: String,
    /// The initializer.
    pub init: Arc<dyn Initializer>,
    /// The parameter's shape.
    pub dims: Vec<usize>,
    /// The fans the initializer scales with, when they are not the shape's own (a bias uses
    /// its weight's, as PyTorch does).
    pub fans: Option<Fans>,
}

impl Plan {
    /// A plan for one model with PyTorch-like defaults for everything else: Adam (lr 1e-3),
    /// minibatches of 32 reshuffled every epoch, no augmentation, 10 epochs, a constant learning rate, no
    /// clipping, penalties or procedures, seed 0. Change the public fields to taste.
    ///
    /// `loss` is the model's data loss; `output` its logits (classification) or predictions.
    pub fn new(
        graph: Graph,
        model: ModelNodes,
        labels: NodeId,
        data: DataSpec,
        task: Task,
    ) -> Self {
        let param_groups = graph
            .trainable_params()
            .map(|(_, n)| (n.name.clone(), 0))
            .collect();
        let optimizer = OptimizerSpec::Adam(AdamConfig::default());
        Plan {
            seed: 0,
            program: String::new(),
            data,
            loss: model.data_loss,
            labels,
            models: vec![model],
            graph,
            penalties: Vec::new(),
            task,
            lr_schedule: ScheduleSpec::Constant(optimizer.lr()),
            optimizer,
            groups: vec![ParamGroup::default()],
            param_groups,
            schedule_unit: ScheduleUnit::Epoch,
            precision: Precision::F32,
            value_schedules: Vec::new(),
            augment: None,
            batching: Batching::Mini(32),
            shuffle: true,
            drop_last: false,
            epochs: 10,
            early_stop: None,
            clip: None,
            save: None,
            transfer: None,
            ties: Vec::new(),
            shared: Vec::new(),
            prune: None,
            adversarial: None,
            bagging: None,
            inits: Vec::new(),
        }
    }

    /// Draws every parameter listed in [`Plan::inits`] afresh from `seed` (the stream of a
    /// parameter depends only on the seed and its name, as at compile time) and makes `seed`
    /// the plan's seed. Parameters not listed keep their values.
    pub fn reinitialize(&mut self, seed: u64) -> Result<(), TrainError> {
        for p in &self.inits {
            let value = match p.fans {
                Some(fans) => initialize_with_fans(&*p.init, &p.dims, fans, seed, &p.name),
                None => initialize(&*p.init, &p.dims, seed, &p.name),
            }
            .map_err(|e| TrainError::Procedure {
                procedure: "reinitialize",
                message: format!("'{}': {e}", p.name),
            })?;
            let id = self.graph.id(&p.name)?;
            self.graph.set_param_init(id, value)?;
        }
        self.seed = seed;
        Ok(())
    }
}

/// The nodes of one model within the plan's graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelNodes {
    /// The model's name.
    pub name: String,
    /// Its data input.
    pub input: NodeId,
    /// Its output (logits for classification).
    pub output: NodeId,
    /// Its data loss.
    pub data_loss: NodeId,
}

/// What kind of prediction the models make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class indices `0..classes`, scored by accuracy.
    Classification {
        /// Number of classes.
        classes: usize,
    },
    /// Real-valued targets, scored by mean squared error.
    Regression,
}

/// An optimizer with its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerSpec {
    /// SGD, with momentum, Nesterov and weight decay.
    Sgd(SgdConfig),
    /// AdaGrad.
    Adagrad(AdagradConfig),
    /// RMSProp.
    Rmsprop(RmspropConfig),
    /// Adam (with AMSGrad).
    Adam(AdamConfig),
    /// AdamW (decoupled weight decay).
    AdamW(AdamWConfig),
}

impl OptimizerSpec {
    /// Builds the optimizer over these parameters and groups.
    pub fn build<F: knit_optim::Real>(
        &self,
        specs: &[ParamSpec],
        groups: &[ParamGroup],
    ) -> Result<Box<dyn Optimizer<F>>, OptimError> {
        Ok(match *self {
            OptimizerSpec::Sgd(c) => Box::new(Sgd::new(specs, groups, c)?),
            OptimizerSpec::Adagrad(c) => Box::new(Adagrad::new(specs, groups, c)?),
            OptimizerSpec::Rmsprop(c) => Box::new(Rmsprop::new(specs, groups, c)?),
            OptimizerSpec::Adam(c) => Box::new(Adam::new(specs, groups, c)?),
            OptimizerSpec::AdamW(c) => Box::new(AdamW::new(specs, groups, c)?),
        })
    }

    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerSpec::Sgd(c) => c.lr,
            OptimizerSpec::Adagrad(c) => c.lr,
            OptimizerSpec::Rmsprop(c) => c.lr,
            OptimizerSpec::Adam(c) => c.lr,
            OptimizerSpec::AdamW(c) => c.lr,
        }
    }
}

/// A value that changes over training (learning rate, pruning ratio, dropout ratio), as a
/// description that can be built any number of times (bagging builds one per member).
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleSpec {
    /// Always `value`.
    Constant(f64),
    /// `initial · gamma^⌊t / every⌋`.
    Step {
        /// Value at t = 0.
        initial: f64,
        /// Period of the decay.
        every: usize,
        /// Factor per period.
        gamma: f64,
    },
    /// `initial · gamma^(number of milestones ≤ t)`.
    MultiStep {
        /// Value at t = 0.
        initial: f64,
        /// When to decay.
        milestones: Vec<usize>,
        /// Factor per milestone.
        gamma: f64,
    },
    /// `initial · gamma^t`.
    Exponential {
        /// Value at t = 0.
        initial: f64,
        /// Factor per unit.
        gamma: f64,
    },
    /// `initial / (1 + k·t)`.
    InverseTime {
        /// Value at t = 0.
        initial: f64,
        /// Decay rate.
        k: f64,
    },
    /// Caffe's `inv`: `initial · (1 + gamma·t)^(−power)`.
    Inv {
        /// Value at t = 0.
        initial: f64,
        /// Rate.
        gamma: f64,
        /// Power.
        power: f64,
    },
    /// `(initial − end)·(1 − t/total)^power + end`.
    Polynomial {
        /// Value at t = 0.
        initial: f64,
        /// Value from `total` on.
        end: f64,
        /// Length of the decay.
        total: usize,
        /// Power.
        power: f64,
    },
    /// Cosine annealing from `initial` to `min` over `t_max`.
    Cosine {
        /// Value at t = 0.
        initial: f64,
        /// Half period.
        t_max: usize,
        /// Lowest value.
        min: f64,
    },
    /// Cosine annealing with warm restarts (SGDR).
    CosineRestarts {
        /// Value at each restart.
        initial: f64,
        /// First period.
        t_0: usize,
        /// Period multiplier after each restart.
        t_mult: usize,
        /// Lowest value.
        min: f64,
    },
    /// A linear warm-up from `start_factor · value` over `steps`, then `then`.
    Warmup {
        /// Length of the warm-up.
        steps: usize,
        /// Starting fraction of the value.
        start_factor: f64,
        /// The schedule after (and scaled during) the warm-up.
        then: Box<ScheduleSpec>,
    },
    /// Multiply by `factor` when the monitored validation metric stops improving.
    Plateau {
        /// Starting value.
        initial: f64,
        /// Its settings.
        config: PlateauConfig,
    },
}

impl ScheduleSpec {
    /// Builds the schedule, validating its parameters.
    pub fn build(&self) -> Result<Box<dyn Schedule>, OptimError> {
        Ok(match self {
            ScheduleSpec::Constant(v) => Box::new(Constant::new(*v)?),
            ScheduleSpec::Step {
                initial,
                every,
                gamma,
            } => Box::new(StepDecay::new(*initial, *every, *gamma)?),
            ScheduleSpec::MultiStep {
                initial,
                milestones,
                gamma,
            } => Box::new(MultiStep::new(*initial, milestones, *gamma)?),
            ScheduleSpec::Exponential { initial, gamma } => {
                Box::new(Exponential::new(*initial, *gamma)?)
            }
            ScheduleSpec::InverseTime { initial, k } => Box::new(InverseTime::new(*initial, *k)?),
            ScheduleSpec::Inv {
                initial,
                gamma,
                power,
            } => Box::new(Inv::new(*initial, *gamma, *power)?),
            ScheduleSpec::Polynomial {
                initial,
                end,
                total,
                power,
            } => Box::new(Polynomial::new(*initial, *end, *total, *power)?),
            ScheduleSpec::Cosine {
                initial,
                t_max,
                min,
            } => Box::new(CosineAnnealing::new(*initial, *t_max, *min)?),
            ScheduleSpec::CosineRestarts {
                initial,
                t_0,
                t_mult,
                min,
            } => Box::new(CosineWarmRestarts::new(*initial, *t_0, *t_mult, *min)?),
            ScheduleSpec::Warmup {
                steps,
                start_factor,
                then,
            } => Box::new(LinearWarmup::new(
                then.build()?,
                *start_factor,
                *steps,
                WarmupMode::Sequential,
            )?),
            ScheduleSpec::Plateau { initial, config } => {
                Box::new(ReduceOnPlateau::new(*initial, *config)?)
            }
        })
    }
}

/// The floating-point type a run computes in: every parameter, activation, gradient and
/// optimizer state, and the checkpoint's tensors (`F32` or `F64` in the file, which
/// PyTorch loads as `float32` or `float64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// `f32`, the default (PyTorch's).
    #[default]
    F32,
    /// `f64` (`precision f64`): slower, but at rounding level of a float64 reference.
    F64,
}

/// When schedules advance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ScheduleUnit {
    /// Once per epoch (PyTorch's usual `scheduler.step()` placement).
    #[default]
    Epoch,
    /// Once per optimizer step.
    Step,
}

/// How examples are grouped into optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batching {
    /// The whole training set in one step (batch gradient descent).
    Full,
    /// One example per step (online / stochastic gradient descent).
    Online,
    /// Minibatches of this size.
    Mini(usize),
}

/// The metric early stopping and plateau schedules watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Validation loss (lower is better).
    ValLoss,
    /// Validation accuracy (higher is better).
    ValAccuracy,
}

/// Early stopping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStop {
    /// What to watch.
    pub metric: Metric,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Whether to go back to the best epoch's weights at the end.
    pub restore_best: bool,
}

/// Gradient clipping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clip {
    /// Every gradient element into `[−c, c]`.
    Value(f64),
    /// The global L2 norm of all gradients to at most this.
    Norm(f64),
}

/// Starting from trained weights (transfer learning), as opposed to resuming a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    /// The checkpoint to load parameters from.
    pub from: PathBuf,
    /// Renames applied to the checkpoint's names before matching (`old`, `new`).
    pub rename: Vec<(String, String)>,
    /// Parameters kept frozen (their names, selectors already resolved).
    pub freeze: Vec<String>,
    /// The parameters and buffers loaded, when only some are (`only`/`except`); the others
    /// keep their initialization, so that a new head can be trained on a loaded encoder.
    pub load: Option<Vec<String>>,
    /// Refuse a checkpoint with tensors that match none of the model's parameters and
    /// buffers ([`Trainer::unused_entries`](crate::Trainer::unused_entries)) instead of
    /// warning about them.
    pub strict: bool,
}

pub use knit_regularize::PruneScope;

/// The accuracy pruning must keep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Floor {
    /// Validation accuracy at least this.
    Absolute(f64),
    /// Validation accuracy at most this much below the dense model's.
    Drop(f64),
}

/// Iterative magnitude pruning.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneSpec {
    /// Parameters pruned (selectors resolved).
    pub params: Vec<String>,
    /// Per layer or global ranking.
    pub scope: PruneScope,
    /// First sparsity.
    pub from: f64,
    /// Highest sparsity tried.
    pub to: f64,
    /// Increase per round.
    pub step: f64,
    /// Epochs of retraining per round.
    pub retrain_epochs: usize,
    /// The accuracy to keep.
    pub floor: Floor,
}

pub use knit_regularize::Attack;

/// Adversarial training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdversarialSpec {
    /// The attack used to perturb training batches.
    pub attack: Attack,
    /// Fraction of each batch replaced by adversarial examples.
    pub mix: f64,
    /// Clean epochs before adversarial ones start.
    pub warmup_epochs: usize,
    /// The valid input range perturbed inputs are clipped to, if any.
    pub range: Option<(f64, f64)>,
}

/// How an ensemble combines its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// Majority vote of predicted classes.
    Vote,
    /// Average of predicted probabilities (or values, for regression).
    Average,
}

/// Bagging.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BaggingSpec {
    /// Number of members.
    pub members: usize,
    /// Size of each bootstrap resample as a fraction of the training set (with replacement).
    pub fraction: f64,
    /// How predictions are combined.
    pub combine: Combine,
}
