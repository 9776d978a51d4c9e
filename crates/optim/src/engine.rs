//! The one driver behind every optimizer: group resolution, slot checks, the frozen skip, the
//! per-parameter step count, contiguous views and named state. An optimizer only supplies the
//! arithmetic of its update as an [`UpdateRule`].

use crate::real::{cast, widen};
use crate::state::match_entries;
use crate::validate::non_negative;
use crate::{OptimError, Optimizer, ParamGroup, ParamSpec, Real, Slot};
use knit_simd::vectorized;
use ndarray::{ArrayD, IxDyn};
use std::collections::HashSet;
use std::fmt;

/// The hyper-parameters resolved for one parameter at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    /// Effective learning rate: the base rate (see [`Optimizer::set_lr`]) × the group's
    /// `lr_mult`.
    pub lr: f64,
    /// Effective weight decay: the group's override, else the configuration's.
    pub weight_decay: f64,
}

/// The arithmetic of one optimizer, driven by [`Engine`].
///
/// The configuration structs ([`SgdConfig`](crate::SgdConfig), [`AdamConfig`](crate::AdamConfig),
/// …) are the rules; a new optimizer is a new implementation of this trait, and gets groups,
/// checks, state and resume for free.
pub trait UpdateRule: Clone + fmt::Debug + Send + Sync + 'static {
    /// Lower-case name that starts every error message (`adam`).
    const NAME: &'static str;

    /// The initial base learning rate (checked `>= 0` and finite by [`Engine::new`]).
    fn lr(&self) -> f64;

    /// The default weight decay (checked `>= 0` and finite by [`Engine::new`]).
    fn weight_decay(&self) -> f64;

    /// Checks every other hyper-parameter.
    fn validate(&self) -> Result<(), OptimError>;

    /// Names of the per-element state buffers this configuration needs, in state order
    /// (PyTorch's keys: `exp_avg`, `exp_avg_sq`, …).
    fn buffers(&self) -> Vec<&'static str>;

    /// The value buffer `buffer` starts at (AdaGrad's `initial_accumulator_value`; else 0).
    fn initial_value(&self, _buffer: &str) -> f64 {
        0.0
    }

    /// Updates one parameter in place.
    ///
    /// `step` is this parameter's update count including this one (1 on the first update).
    /// `state` holds the buffers of [`buffers`](Self::buffers) back to back, each
    /// `param.len()` long, in the parameter's logical (C) order; `grad` has `param`'s length.
    fn update<F: Real>(
        &self,
        hyper: &Hyper,
        step: u64,
        state: &mut [F],
        param: &mut [F],
        grad: &[F],
    );
}

/// Per-parameter state: the update count and the buffers, back to back.
#[derive(Clone)]
struct ParamState<F> {
    step: u64,
    numel: usize,
    data: Vec<F>,
}

/// An optimizer: a fixed list of parameters, their groups, their state, and an
/// [`UpdateRule`]. [`Sgd`](crate::Sgd), [`Adam`](crate::Adam), … are aliases of this type.
///
/// For each slot of a non-frozen group, `step` increments the parameter's step count `t`,
/// resolves [`Hyper`] (`lr · lr_mult`, group weight-decay override) and runs the rule on
/// contiguous slices. All state is allocated by [`new`](Self::new).
#[derive(Clone)]
pub struct Engine<F: Real, R: UpdateRule> {
    rule: R,
    lr: f64,
    specs: Vec<ParamSpec>,
    groups: Vec<ParamGroup>,
    buffers: Vec<&'static str>,
    params: Vec<ParamState<F>>,
    scratch: Vec<F>,
}

impl<F: Real, R: UpdateRule> fmt::Debug for Engine<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("rule", &self.rule)
            .field("lr", &self.lr)
            .field("params", &self.specs.len())
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl<F: Real, R: UpdateRule> Engine<F, R> {
    /// Builds the optimizer and allocates all of its state.
    ///
    /// `groups` may be empty, meaning one default group. Errors: an invalid hyper-parameter
    /// ([`OptimError::Hyperparameter`], [`OptimError::Nesterov`]), a group's invalid
    /// `lr_mult`/`weight_decay` ([`OptimError::Group`]), a spec naming a missing group, a
    /// duplicate name or an impossible size ([`OptimError::Param`]).
    pub fn new(specs: &[ParamSpec], groups: &[ParamGroup], rule: R) -> Result<Self, OptimError> {
        let who = R::NAME;
        non_negative(who, "lr", rule.lr())?;
        non_negative(who, "weight_decay", rule.weight_decay())?;
        rule.validate()?;
        let groups = if groups.is_empty() {
            vec![ParamGroup::default()]
        } else {
            groups.to_vec()
        };
        for (group, g) in groups.iter().enumerate() {
            let bad = |name, value| OptimError::Group {
                who,
                group,
                name,
                requirement: ">= 0 and finite",
                value,
            };
            if !(g.lr_mult >= 0.0 && g.lr_mult.is_finite()) {
                return Err(bad("lr_mult", g.lr_mult));
            }
            if let Some(wd) = g.weight_decay.filter(|wd| !(*wd >= 0.0 && wd.is_finite())) {
                return Err(bad("weight_decay", wd));
            }
        }
        let buffers = rule.buffers();
        let mut names = HashSet::new();
        let mut params = Vec::with_capacity(specs.len());
        for spec in specs {
            let bad = |reason: String| OptimError::Param {
                who,
                name: spec.name.clone(),
                reason,
            };
            if spec.group >= groups.len() {
                return Err(bad(format!(
                    "group {} does not exist ({} groups)",
                    spec.group,
                    groups.len()
                )));
            }
            if !names.insert(spec.name.as_str()) {
                return Err(bad("the name appears twice".into()));
            }
            // The element count, and the state's, must both fit in memory arithmetic.
            let numel = spec
                .numel()
                .filter(|n| n.checked_mul(buffers.len()).is_some())
                .ok_or_else(|| bad(format!("shape {:?} has too many elements", spec.shape)))?;
            let mut data = Vec::with_capacity(numel * buffers.len());
            for b in &buffers {
                data.resize(data.len() + numel, cast::<F>(rule.initial_value(b)));
            }
            params.push(ParamState {
                step: 0,
                numel,
                data,
            });
        }
        Ok(Self {
            lr: rule.lr(),
            rule,
            specs: specs.to_vec(),
            groups,
            buffers,
            params,
            scratch: Vec::new(),
        })
    }

    /// The configuration (the update rule) this optimizer was built with.
    pub fn config(&self) -> &R {
        &self.rule
    }

    /// The parameter specs, in slot order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// The parameter groups (one default group if built with none).
    pub fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    /// How many updates parameter `index` has received (`None` if out of range).
    pub fn step_count(&self, index: usize) -> Option<u64> {
        self.params.get(index).map(|p| p.step)
    }

    /// Checks the slot count and every shape against the specs, naming the offender.
    fn check(&self, slots: &[Slot<'_, F>]) -> Result<(), OptimError> {
        let who = R::NAME;
        if slots.len() != self.specs.len() {
            return Err(OptimError::SlotCount {
                who,
                expected: self.specs.len(),
                got: slots.len(),
            });
        }
        for (spec, slot) in self.specs.iter().zip(slots) {
            for (role, shape) in [
                ("parameter", slot.param.shape()),
                ("gradient", slot.grad.shape()),
            ] {
                if shape != spec.shape.as_slice() {
                    return Err(OptimError::Shape {
                        who,
                        name: spec.name.clone(),
                        role,
                        expected: spec.shape.clone(),
                        got: shape.to_vec(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The state keys in order, each with the shape its array must have.
    fn keys(&self) -> Vec<(String, &[usize])> {
        let mut keys = Vec::with_capacity(self.specs.len() * (1 + self.buffers.len()));
        for spec in &self.specs {
            keys.push((format!("{}.step", spec.name), &[][..]));
            for b in &self.buffers {
                keys.push((format!("{}.{b}", spec.name), spec.shape.as_slice()));
            }
        }
        keys
    }
}

impl<F: Real, R: UpdateRule> Optimizer<F> for Engine<F, R> {
    fn step(&mut self, slots: &mut [Slot<'_, F>]) -> Result<(), OptimError> {
        non_negative(R::NAME, "lr", self.lr)?;
        self.check(slots)?;
        let Self {
            rule,
            lr,
            specs,
            groups,
            params,
            scratch,
            ..
        } = self;
        for ((spec, state), slot) in specs.iter().zip(params.iter_mut()).zip(slots.iter_mut()) {
            let group = &groups[spec.group];
            if group.frozen {
                continue;
            }
            let hyper = Hyper {
                lr: *lr * group.lr_mult,
                weight_decay: group.weight_decay.unwrap_or(rule.weight_decay()),
            };
            state.step += 1;
            let step = state.step;
            with_contiguous(slot, scratch, |param, grad| {
                vectorized(
                    #[inline(always)]
                    || rule.update(&hyper, step, &mut state.data, param, grad),
                )
            });
        }
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn state(&self) -> Vec<(String, ArrayD<F>)> {
        let mut out = Vec::with_capacity(self.specs.len() * (1 + self.buffers.len()));
        for ((key, shape), chunk) in self.keys().into_iter().zip(self.chunks()) {
            let mut array = ArrayD::zeros(IxDyn(shape));
            match chunk {
                Chunk::Step(step) => array.fill(cast::<F>(step as f64)),
                Chunk::Buffer(data) => array.iter_mut().zip(data).for_each(|(a, &d)| *a = d),
            }
            out.push((key, array));
        }
        out
    }

    fn step_counts(&self) -> Vec<u64> {
        self.params.iter().map(|p| p.step).collect()
    }

    fn set_step_counts(&mut self, steps: &[u64]) -> Result<(), OptimError> {
        if steps.len() != self.params.len() {
            return Err(OptimError::SlotCount {
                who: R::NAME,
                expected: self.params.len(),
                got: steps.len(),
            });
        }
        for (param, &step) in self.params.iter_mut().zip(steps) {
            param.step = step;
        }
        Ok(())
    }

    fn load_state(&mut self, state: &[(String, ArrayD<F>)]) -> Result<(), OptimError> {
        let who = R::NAME;
        let keys = self.keys();
        let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        let arrays = match_entries(who, &names, state)?;
        let per_param = 1 + self.buffers.len();
        let mut steps = Vec::with_capacity(self.specs.len());
        for (i, ((key, shape), array)) in keys.iter().zip(&arrays).enumerate() {
            if array.shape() != *shape {
                return Err(OptimError::StateShape {
                    who,
                    key: key.clone(),
                    expected: shape.to_vec(),
                    got: array.shape().to_vec(),
                });
            }
            if i % per_param == 0 {
                let value = array.iter().next().map_or(f64::NAN, |&v| widen(v));
                if !(value >= 0.0 && value.fract() == 0.0) {
                    let requirement = "a non-negative integer";
                    return Err(OptimError::StateValue {
                        who,
                        key: key.clone(),
                        requirement,
                        value,
                    });
                }
                steps.push(value as u64);
            }
        }
        // Everything checked: apply.
        for ((param, step), arrays) in self
            .params
            .iter_mut()
            .zip(steps)
            .zip(arrays.chunks(per_param))
        {
            param.step = step;
            let n = param.numel;
            for (b, array) in arrays[1..].iter().enumerate() {
                param.data[b * n..(b + 1) * n]
                    .iter_mut()
                    .zip(array.iter())
                    .for_each(|(d, &a)| *d = a);
            }
        }
        Ok(())
    }
}

/// One state entry's content, in [`Engine::keys`] order.
enum Chunk<'a, F> {
    Step(u64),
    Buffer(&'a [F]),
}

impl<F: Real, R: UpdateRule> Engine<F, R> {
    /// The state contents in [`keys`](Self::keys) order.
    fn chunks(&self) -> impl Iterator<Item = Chunk<'_, F>> {
        let nbuf = self.buffers.len();
        self.params.iter().flat_map(move |p| {
            std::iter::once(Chunk::Step(p.step)).chain(
                (0..nbuf).map(move |b| Chunk::Buffer(&p.data[b * p.numel..(b + 1) * p.numel])),
            )
        })
    }
}

/// Runs `f` on the slot's parameter and gradient as contiguous slices in logical order.
///
/// Standard-layout views are used in place. Anything else is copied into `scratch` (grown to
/// twice the parameter's size the first time), updated there and copied back.
fn with_contiguous<F: Real>(
    slot: &mut Slot<'_, F>,
    scratch: &mut Vec<F>,
    f: impl FnOnce(&mut [F], &[F]),
) {
    let Slot { param, grad } = slot;
    if let (Some(p), Some(g)) = (param.as_slice_mut(), grad.as_slice()) {
        return f(p, g);
    }
    let n = param.len();
    if scratch.len() < 2 * n {
        scratch.resize(2 * n, F::zero());
    }
    let (p, g) = scratch[..2 * n].split_at_mut(n);
    p.iter_mut().zip(param.iter()).for_each(|(s, &x)| *s = x);
    g.iter_mut().zip(grad.iter()).for_each(|(s, &x)| *s = x);
    f(p, g);
    param.iter_mut().zip(p.iter()).for_each(|(x, &s)| *x = s);
}
