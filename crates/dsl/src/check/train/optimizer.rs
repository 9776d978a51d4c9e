//! The optimizer, its learning-rate schedule and the parameter groups (`lr_mult`,
//! `weight_decay`), validated by building the optimizer once with knit-optim.

use super::super::consts::num_text;
use super::super::layers::initial_value;
use super::super::schedule::{optim_error, schedule};
use super::super::selector::resolve;
use super::settings::Cx;
use crate::ast::TrainKind;
use crate::builtins::OPTIMIZERS;
use crate::diagnostic::{Code, Diagnostic};
use knit_optim::{
    AdagradConfig, AdamConfig, AdamWConfig, ParamGroup, ParamSpec, RmspropConfig, SgdConfig,
};
use knit_train::{OptimizerSpec, ScheduleSpec};

/// The groups and, for each trainable parameter, its group.
pub(crate) type Groups = (Vec<ParamGroup>, Vec<(String, usize)>);

impl Cx<'_, '_> {
    /// Groups from `lr_mult` and `weight_decay` lines (later lines override earlier ones).
    pub(crate) fn groups(&mut self, frozen: &[String]) -> Option<Groups> {
        let mut per_param: Vec<ParamGroup> = vec![ParamGroup::default(); self.params.len()];
        let mut ok = true;
        let lines: Vec<_> = self
            .settings
            .all("lr_mult")
            .chain(self.settings.all("weight_decay"))
            .collect();
        let mut lines = lines;
        lines.sort_by_key(|l| l.span.start);
        for line in lines {
            let (value, on, what) = match &line.kind {
                TrainKind::LrMult { value, on } => (value, on, "lr_mult"),
                TrainKind::WeightDecay { value, on } => (value, on, "weight_decay"),
                _ => continue,
            };
            let v = self.ev.number(self.sink, value);
            let names = resolve(self.sink, self.file, on, &self.params);
            let (Some(v), Some(names)) = (v, names) else {
                ok = false;
                continue;
            };
            if !(v >= 0.0 && v.is_finite()) {
                self.sink.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!("{what} must be ≥ 0, found {}", num_text(v)),
                    )
                    .label(self.file, value.span(), "negative"),
                );
                ok = false;
                continue;
            }
            for (i, p) in self.params.iter().enumerate() {
                if names.contains(p) {
                    if what == "lr_mult" {
                        per_param[i].lr_mult = v;
                    } else {
                        per_param[i].weight_decay = Some(v);
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        let mut groups = vec![ParamGroup::default()];
        let mut assignment = Vec::new();
        for (name, g) in self.params.iter().zip(per_param) {
            if frozen.contains(name) {
                continue;
            }
            let index = match groups.iter().position(|x| *x == g) {
                Some(i) => i,
                None => {
                    groups.push(g);
                    groups.len() - 1
                }
            };
            assignment.push((name.clone(), index));
        }
        Some((groups, assignment))
    }

    /// The optimizer (built once to validate it) and its learning-rate schedule.
    pub(crate) fn optimizer(
        &mut self,
        groups: Option<&Vec<ParamGroup>>,
    ) -> Option<(OptimizerSpec, ScheduleSpec)> {
        let Some(TrainKind::Optimizer(e)) = self.settings.get("optimizer").map(|s| &s.kind) else {
            return None;
        };
        let b = self.ev.call(self.sink, e, OPTIMIZERS, "optimizer")?;
        let lr_expr = b.expr("lr")?;
        let lr_schedule = schedule(&self.ev, self.sink, lr_expr);
        let num = |cx: &mut Self, k: &str| cx.ev.num(cx.sink, &b, k);
        let flag = |cx: &mut Self, k: &str| cx.ev.boolean(cx.sink, &b, k);
        let lr_schedule = lr_schedule?;
        let lr = initial_value(&lr_schedule);
        if !(lr > 0.0 && lr.is_finite()) {
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("the learning rate must be > 0, found {}", num_text(lr)),
                )
                .label(self.file, lr_expr.span(), "must be > 0")
                .help("typical values: 0.1 for SGD, 1e-3 for Adam"),
            );
            return None;
        }
        let spec = match b.sig.name {
            "sgd" => OptimizerSpec::Sgd(SgdConfig {
                lr,
                momentum: num(self, "momentum")?,
                dampening: num(self, "dampening")?,
                weight_decay: num(self, "weight_decay")?,
                nesterov: flag(self, "nesterov")?,
            }),
            "adagrad" => OptimizerSpec::Adagrad(AdagradConfig {
                lr,
                lr_decay: num(self, "lr_decay")?,
                weight_decay: num(self, "weight_decay")?,
                initial_accumulator_value: num(self, "initial_accumulator_value")?,
                eps: num(self, "eps")?,
            }),
            "rmsprop" => OptimizerSpec::Rmsprop(RmspropConfig {
                lr,
                alpha: num(self, "alpha")?,
                eps: num(self, "eps")?,
                weight_decay: num(self, "weight_decay")?,
                momentum: num(self, "momentum")?,
                centered: flag(self, "centered")?,
            }),
            "adam" => OptimizerSpec::Adam(AdamConfig {
                lr,
                betas: (num(self, "beta1")?, num(self, "beta2")?),
                eps: num(self, "eps")?,
                weight_decay: num(self, "weight_decay")?,
                amsgrad: flag(self, "amsgrad")?,
            }),
            _ => OptimizerSpec::AdamW(AdamWConfig {
                lr,
                betas: (num(self, "beta1")?, num(self, "beta2")?),
                eps: num(self, "eps")?,
                weight_decay: num(self, "weight_decay")?,
                amsgrad: flag(self, "amsgrad")?,
            }),
        };
        if matches!(lr_schedule, ScheduleSpec::Plateau { .. }) && !self.data.has_validation {
            self.no_validation(lr_expr.span(), "the plateau schedule");
            return None;
        }
        let specs: Vec<ParamSpec> = self
            .graph
            .trainable_params()
            .map(|(_, n)| ParamSpec::new(n.name.clone(), &n.shape.dims))
            .collect();
        let default_groups = vec![ParamGroup::default()];
        if let Err(err) = spec.build::<f32>(&specs, groups.unwrap_or(&default_groups)) {
            let mut d = optim_error(&self.ev, &b, &err);
            if let knit_optim::OptimError::Hyperparameter { name: "betas", .. } = err {
                if let Some(label) = d.labels.first_mut() {
                    label.span = b.span("beta1");
                }
            }
            self.sink.push(d);
            return None;
        }
        Some((spec, lr_schedule))
    }
}
