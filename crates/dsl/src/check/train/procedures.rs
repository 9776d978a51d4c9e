//! The procedures around training: pruning, adversarial training, bagging and starting from
//! a checkpoint (transfer learning).

use super::super::consts::num_text;
use super::super::selector::resolve;
use super::settings::{Cx, MAX_EPOCHS};
use crate::ast::{BaggingClause, Expr, Ident, PruneClause, TrainKind};
use crate::builtins::ATTACKS;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use crate::suggest::help_for;
use knit_train::{
    AdversarialSpec, Attack, BaggingSpec, Combine, Floor, PruneScope, PruneSpec, Task, Transfer,
};

/// The procedures of a train block.
#[derive(Default)]
pub(crate) struct Procedures {
    pub prune: Option<PruneSpec>,
    pub adversarial: Option<AdversarialSpec>,
    pub bagging: Option<BaggingSpec>,
    pub transfer: Option<Transfer>,
}

impl Cx<'_, '_> {
    fn fraction(&mut self, e: &Expr, what: &str, lo_open: bool, hi_open: bool) -> Option<f64> {
        let v = self.ev.number(self.sink, e)?;
        let ok = (if lo_open { v > 0.0 } else { v >= 0.0 })
            && (if hi_open { v < 1.0 } else { v <= 1.0 });
        if !ok {
            let range = format!(
                "{}0, 1{}",
                if lo_open { "(" } else { "[" },
                if hi_open { ")" } else { "]" }
            );
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("{what} must be in {range}, found {}", num_text(v)),
                )
                .label(self.file, e.span(), format!("out of {range}")),
            );
            return None;
        }
        Some(v)
    }

    /// Pruning, adversarial training, bagging and transfer.
    pub(crate) fn procedures(
        &mut self,
        models: &[Ident],
        frozen: &[String],
        prunable_weights: &[String],
        task: Task,
    ) -> Option<Procedures> {
        let mut p = Procedures::default();
        let mut ok = true;
        if let Some(line) = self.settings.get("prune") {
            p.prune = self.prune(&line.kind, line.span, prunable_weights);
            ok &= p.prune.is_some();
        }
        if let Some(TrainKind::Adversarial(e)) = self.settings.get("adversarial").map(|s| &s.kind) {
            p.adversarial = self.adversarial(e);
            ok &= p.adversarial.is_some();
        }
        if let Some(line) = self.settings.get("bagging") {
            if let TrainKind::Bagging { members, clauses } = &line.kind {
                p.bagging = self.bagging(members, clauses, task);
                ok &= p.bagging.is_some();
            }
            ok &= self.alone_with_bagging(line.span, models);
        }
        if let Some(TrainKind::Start {
            from,
            renames,
            filter,
            strict,
        }) = self.settings.get("start").map(|s| &s.kind)
        {
            let path = self.path(&from.value);
            if !path.exists() {
                self.sink.push(
                    Diagnostic::warning(
                        Code::MissingFile,
                        format!("checkpoint {} does not exist (yet)", path.display()),
                    )
                    .label(self.file, from.span, "not found")
                    .help("paths are relative to the program file's folder"),
                );
            }
            let rename = renames
                .iter()
                .map(|r| (r.from.pattern.clone(), r.to.pattern.clone()))
                .collect();
            let load = match filter {
                None => None,
                Some(f) => match self.start_filter(f) {
                    Some(names) => Some(names),
                    None => return None,
                },
            };
            p.transfer = Some(Transfer {
                from: path,
                rename,
                freeze: frozen.to_vec(),
                load,
                strict: *strict,
            });
        }
        ok.then_some(p)
    }

    /// The parameters and buffers a `start from ..., only/except ...` clause loads, in graph
    /// order; loading nothing is an error.
    fn start_filter(&mut self, f: &crate::ast::StartFilter) -> Option<Vec<String>> {
        let mut names = self.params.clone();
        for node in self.graph.nodes() {
            if let knit_tensor::NodeKind::Op { state, .. } = &node.kind {
                names.extend(state.iter().map(|s| format!("{}.{}", node.name, s.name)));
            }
        }
        let matched = super::super::selector::resolve(self.sink, self.file, &f.selectors, &names)?;
        let load: Vec<String> = if f.only {
            matched
        } else {
            names.into_iter().filter(|n| !matched.contains(n)).collect()
        };
        if load.is_empty() {
            self.sink.push(
                Diagnostic::error(
                    Code::Conflict,
                    "this `start from` loads nothing: every parameter is excluded",
                )
                .label(self.file, f.span, "excludes everything")
                .help("drop the `start` line to train from scratch"),
            );
            return None;
        }
        Some(load)
    }

    /// Reports what an ensemble run cannot carry out for its members: several models side
    /// by side (an ensemble combines copies of one model), pruning (a procedure on one
    /// trained model) and starting from a checkpoint (every member would start from the
    /// same weights, and bagging draws each its own). Returns whether there was none.
    fn alone_with_bagging(&mut self, bagging: Span, models: &[Ident]) -> bool {
        let mut ok = true;
        if let [first, .., last] = models {
            let names: Vec<String> = models.iter().map(|m| format!("`{}`", m.name)).collect();
            self.sink.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!(
                        "`bagging` trains copies of one model, not {}",
                        names.join(", ")
                    ),
                )
                .label(
                    self.file,
                    first.span.to(last.span),
                    format!("{} models side by side", models.len()),
                )
                .label(self.file, bagging, "an ensemble is trained here")
                .help("bag one model per program; tying and sharing stay within one run"),
            );
            ok = false;
        }
        for (kw, why) in [
            (
                "prune",
                "pruning works on one trained model, not on an ensemble",
            ),
            (
                "start",
                "every member starts from its own initialization, drawn from its seed",
            ),
        ] {
            if let Some(line) = self.settings.get(kw) {
                self.sink.push(
                    Diagnostic::error(
                        Code::Conflict,
                        format!("`bagging` and `{kw}` do not combine"),
                    )
                    .label(self.file, line.span, why)
                    .label(self.file, bagging, "an ensemble is trained here")
                    .help(format!(
                        "put the ensemble and the `{kw}` run in separate programs"
                    )),
                );
                ok = false;
            }
        }
        ok
    }

    fn prune(
        &mut self,
        kind: &TrainKind,
        span: Span,
        prunable_weights: &[String],
    ) -> Option<PruneSpec> {
        let TrainKind::Prune(pr) = kind else {
            return None;
        };
        if pr.method.name != "magnitude" {
            self.sink.push(
                Diagnostic::error(
                    Code::UnknownValue,
                    format!("unknown pruning method `{}`", pr.method.name),
                )
                .label(self.file, pr.method.span, "unknown method")
                .help(help_for(&pr.method.name, ["magnitude"], "methods")),
            );
            return None;
        }
        let from = self.fraction(&pr.from, "the first sparsity", false, true);
        let to = self.fraction(&pr.to, "the last sparsity", false, true);
        let step = self.fraction(&pr.step, "the sparsity step", true, true);
        let (from, to, step) = (from?, to?, step?);
        if from > to {
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!(
                        "pruning goes from {} to {}: the start is above the end",
                        num_text(from),
                        num_text(to)
                    ),
                )
                .label(
                    self.file,
                    pr.from.span().to(pr.to.span()),
                    "from must be ≤ to",
                ),
            );
            return None;
        }
        let (mut retrain, mut floor, mut scope, mut params) =
            (None, None, PruneScope::PerLayer, None);
        let mut ok = true;
        for c in &pr.clauses {
            match c {
                PruneClause::Retrain(e, _) => {
                    retrain = self.ev.integer(self.sink, e, 0, MAX_EPOCHS);
                    ok &= retrain.is_some();
                }
                PruneClause::Floor { kind, value, .. } => match kind.name.as_str() {
                    "accuracy" => {
                        floor = self
                            .fraction(value, "the accuracy floor", true, false)
                            .map(Floor::Absolute)
                    }
                    "drop" => {
                        floor = self
                            .fraction(value, "the accuracy drop", false, true)
                            .map(Floor::Drop)
                    }
                    other => {
                        self.unknown_value(
                            kind.span,
                            "floor",
                            other,
                            "unknown floor",
                            &["accuracy", "drop"],
                            "floors",
                        );
                        ok = false;
                    }
                },
                PruneClause::Scope(id, _) => match id.name.as_str() {
                    "global" => scope = PruneScope::Global,
                    "layer" => scope = PruneScope::PerLayer,
                    other => {
                        self.unknown_value(
                            id.span,
                            "pruning scope",
                            other,
                            "unknown scope",
                            &["global", "layer"],
                            "scopes",
                        );
                        ok = false;
                    }
                },
                PruneClause::On(sels, _) => {
                    params = resolve(self.sink, self.file, sels, &self.params);
                    ok &= params.is_some();
                }
            }
        }
        if !ok {
            return None;
        }
        let (Some(retrain_epochs), Some(floor)) = (retrain, floor) else {
            let missing = if retrain.is_none() {
                "retrain"
            } else {
                "floor"
            };
            self.sink.push(
                Diagnostic::error(Code::Missing, format!("`prune` needs `{missing}`"))
                    .label(self.file, span, format!("add `, {missing} ...`"))
                    .help("e.g. `prune magnitude from 0.2 to 0.9 step 0.1, retrain 3, floor accuracy 0.95`"),
            );
            return None;
        };
        if !self.data.has_validation {
            self.no_validation(span, "the pruning floor");
            return None;
        }
        let params = params.unwrap_or_else(|| prunable_weights.to_vec());
        Some(PruneSpec {
            params,
            scope,
            from,
            to,
            step,
            retrain_epochs,
            floor,
        })
    }

    fn adversarial(&mut self, e: &Expr) -> Option<AdversarialSpec> {
        let b = self.ev.call(self.sink, e, ATTACKS, "attack")?;
        let eps = self.ev.num(self.sink, &b, "eps");
        let mix = b
            .expr("mix")
            .map_or(Some(0.5), |m| self.fraction(m, "mix", true, false));
        let warmup = self.ev.int(self.sink, &b, "warmup", 0, MAX_EPOCHS);
        let range = match b.expr("range") {
            Some(r) => Some(self.ev.range(self.sink, r)?),
            None => None,
        };
        let (eps, mix, warmup_epochs) = (eps?, mix?, warmup?);
        if !(eps > 0.0 && eps.is_finite()) {
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("eps must be > 0, found {}", num_text(eps)),
                )
                .label(self.file, b.span("eps"), "must be > 0"),
            );
            return None;
        }
        let attack = if b.sig.name == "fgsm" {
            Attack::Fgsm { eps }
        } else {
            let alpha = self.ev.num(self.sink, &b, "alpha");
            let steps = self.ev.int(self.sink, &b, "steps", 1, 10_000);
            let (alpha, steps) = (alpha?, steps?);
            if !(alpha > 0.0 && alpha.is_finite()) {
                self.sink.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!("alpha must be > 0, found {}", num_text(alpha)),
                    )
                    .label(self.file, b.span("alpha"), "must be > 0"),
                );
                return None;
            }
            Attack::Pgd { eps, alpha, steps }
        };
        Some(AdversarialSpec {
            attack,
            mix,
            warmup_epochs,
            range,
        })
    }

    fn bagging(
        &mut self,
        members: &Expr,
        clauses: &[BaggingClause],
        task: Task,
    ) -> Option<BaggingSpec> {
        let members = self.ev.integer(self.sink, members, 2, 1000);
        let mut fraction = Some(1.0);
        let mut combine = Some(Combine::Vote);
        for c in clauses {
            match c {
                BaggingClause::Bootstrap(e, _) => {
                    fraction = self.fraction(e, "the bootstrap fraction", true, false)
                }
                BaggingClause::Combine(id, _) => {
                    combine = match id.name.as_str() {
                        "vote" if task == Task::Regression => {
                            self.sink.push(
                                Diagnostic::error(
                                    Code::Conflict,
                                    "a regression ensemble cannot vote",
                                )
                                .label(self.file, id.span, "votes need classes")
                                .help("use `combine average`"),
                            );
                            None
                        }
                        "vote" => Some(Combine::Vote),
                        "average" => Some(Combine::Average),
                        other => {
                            self.unknown_value(
                                id.span,
                                "combination",
                                other,
                                "unknown",
                                &["vote", "average"],
                                "combinations",
                            );
                            None
                        }
                    }
                }
            }
        }
        if task == Task::Regression
            && !clauses
                .iter()
                .any(|c| matches!(c, BaggingClause::Combine(..)))
        {
            combine = Some(Combine::Average);
        }
        Some(BaggingSpec {
            members: members?,
            fraction: fraction?,
            combine: combine?,
        })
    }
}
