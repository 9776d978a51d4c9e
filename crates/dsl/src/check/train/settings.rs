//! The lines of a `train` block: which may appear once, which are required, and the run
//! settings (loss, batching, epochs, early stopping, clipping, schedule unit, save).

use super::super::consts::num_text;
use super::super::data::DataInfo;
use super::super::values::Ev;
use crate::ast::*;
use crate::builtins::{CLIPS, EARLY_STOP};
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::source::{FileId, SourceMap};
use crate::span::Span;
use crate::suggest::help_for;
use knit_tensor::Graph;
use knit_train::{Batching, Clip, EarlyStop, Metric, Precision, ScheduleUnit};
use std::path::PathBuf;

/// Lines that may be given several times.
const REPEATABLE: [&str; 5] = ["penalty", "lr_mult", "weight_decay", "freeze", "tie"];
/// Lines every train block needs.
const REQUIRED: [&str; 4] = ["loss", "optimizer", "batch", "epochs"];
/// The losses.
const LOSSES: [&str; 3] = ["cross_entropy", "mse", "bce"];
/// The most epochs a train block (or `knit train --epochs`) accepts.
pub const MAX_EPOCHS: usize = 1_000_000;

/// A train block's lines by keyword.
pub(crate) struct Settings<'a> {
    lines: Vec<&'a TrainSetting>,
}

impl<'a> Settings<'a> {
    /// Collects the lines, reporting repeated and missing ones.
    pub(crate) fn collect(
        file: FileId,
        t: &'a TrainDecl,
        header: Span,
        sink: &mut Sink,
    ) -> Option<Settings<'a>> {
        let mut ok = true;
        let mut lines: Vec<&'a TrainSetting> = Vec::new();
        for s in &t.settings {
            let kw = s.kind.keyword();
            if !REPEATABLE.contains(&kw) {
                if let Some(prev) = lines.iter().find(|p| p.kind.keyword() == kw) {
                    sink.push(
                        Diagnostic::error(Code::Duplicate, format!("`{kw}` is given twice"))
                            .label(file, s.span, "given again here")
                            .label(file, prev.span, "first given here"),
                    );
                    ok = false;
                    continue;
                }
            }
            lines.push(s);
        }
        for kw in REQUIRED {
            if !lines.iter().any(|l| l.kind.keyword() == kw) {
                sink.push(
                    Diagnostic::error(Code::Missing, format!("the train block has no `{kw}`"))
                        .label(file, header, format!("`{kw}` is required"))
                        .help(match kw {
                            "loss" => "add `loss cross_entropy` (or mse, bce)",
                            "optimizer" => "add e.g. `optimizer adam(lr: 1e-3)`",
                            "batch" => "add e.g. `batch 64, shuffle` (or online, full)",
                            _ => "add e.g. `epochs 10`",
                        }),
                );
                ok = false;
            }
        }
        ok.then_some(Settings { lines })
    }

    /// The line with this keyword (the first one for repeatable lines).
    pub(crate) fn get(&self, kw: &str) -> Option<&'a TrainSetting> {
        self.lines.iter().copied().find(|l| l.kind.keyword() == kw)
    }

    /// Every line with this keyword.
    pub(crate) fn all(&self, kw: &'static str) -> impl Iterator<Item = &'a TrainSetting> + '_ {
        self.lines
            .iter()
            .copied()
            .filter(move |l| l.kind.keyword() == kw)
    }

    /// The loss name and its span (checked before the settings are complete).
    pub(crate) fn loss(
        this: &Option<Settings<'a>>,
        ev: &Ev<'_>,
        sink: &mut Sink,
    ) -> Option<(String, Span)> {
        let Some(TrainKind::Loss(id)) = this.as_ref()?.get("loss").map(|s| &s.kind) else {
            return None;
        };
        if LOSSES.contains(&id.name.as_str()) {
            return Some((id.name.clone(), id.span));
        }
        sink.push(
            Diagnostic::error(Code::UnknownValue, format!("unknown loss `{}`", id.name))
                .label(ev.file, id.span, "unknown loss")
                .help(help_for(&id.name, LOSSES, "losses")),
        );
        None
    }
}

/// What the run settings resolve to.
pub(crate) struct Run {
    pub batching: Batching,
    pub shuffle: bool,
    pub drop_last: bool,
    pub epochs: usize,
    pub early_stop: Option<EarlyStop>,
    pub clip: Option<Clip>,
    pub save: Option<PathBuf>,
    pub schedule_unit: ScheduleUnit,
    pub precision: Precision,
    /// Summary lines.
    pub lines: Vec<String>,
}

/// Everything the train settings are checked against.
pub(crate) struct Cx<'s, 'a> {
    pub sources: &'s SourceMap,
    pub file: FileId,
    pub ev: Ev<'s>,
    pub sink: &'s mut Sink,
    pub graph: Graph,
    /// Every parameter name, in graph order.
    pub params: Vec<String>,
    pub data: &'s DataInfo,
    pub settings: &'s Settings<'a>,
}

impl Cx<'_, '_> {
    /// Reports `found`, an unknown `what` (a schedule unit, a precision...) at `span`, with
    /// the `known` values (called `plural`) and the closest one.
    pub(crate) fn unknown_value(
        &mut self,
        span: Span,
        what: &str,
        found: &str,
        label: &str,
        known: &[&str],
        plural: &str,
    ) {
        self.sink.push(
            Diagnostic::error(Code::UnknownValue, format!("unknown {what} `{found}`"))
                .label(self.file, span, label)
                .help(help_for(found, known.iter().copied(), plural)),
        );
    }

    /// A path relative to the program file's folder.
    pub(crate) fn path(&self, p: &str) -> PathBuf {
        self.sources.get(self.file).dir().join(p)
    }

    /// Reports that `what` needs validation data.
    pub(crate) fn no_validation(&mut self, span: Span, what: &str) {
        self.sink.push(
            Diagnostic::error(Code::NoValidation, format!("{what} watches the validation set, but data `{}` has none", self.data.spec.name))
                .label(self.file, span, "needs validation examples")
                .help("give the split a validation fraction (`split train 0.8, validation 0.1, test 0.1`) or a `validation_source`"),
        );
    }

    /// Batching, epochs, early stopping, clipping, the schedule unit and the checkpoint.
    pub(crate) fn run_settings(&mut self) -> Option<Run> {
        let mut ok = true;
        let mut lines = Vec::new();
        let (mut batching, mut shuffle, mut drop_last) = (Batching::Full, false, false);
        if let Some(TrainKind::Batch { size, options }) =
            self.settings.get("batch").map(|s| &s.kind)
        {
            let named = match size.unparen() {
                Expr::Name(id)
                    if self
                        .ev
                        .name_of(&id.name)
                        .is_some_and(|n| n == "online" || n == "full") =>
                {
                    self.ev.name_of(&id.name)
                }
                _ => None,
            };
            match named.as_deref() {
                Some("online") => batching = Batching::Online,
                Some(_) => batching = Batching::Full,
                None => match self.ev.integer(self.sink, size, 1, 1 << 30) {
                    Some(n) => batching = Batching::Mini(n),
                    None => ok = false,
                },
            }
            for o in options {
                let value = match &o.value {
                    None => Some(true),
                    Some(v) => match self.ev.value(self.sink, v) {
                        Some(super::super::consts::Const::Bool(b)) => Some(b),
                        _ => {
                            self.sink.push(
                                Diagnostic::error(
                                    Code::Type,
                                    format!("`{}` is true or false", o.name.name),
                                )
                                .label(
                                    self.file,
                                    v.span(),
                                    "expected true or false",
                                ),
                            );
                            None
                        }
                    },
                };
                match (o.name.name.as_str(), value) {
                    ("shuffle", Some(v)) => shuffle = v,
                    ("drop_last", Some(v)) => drop_last = v,
                    (_, None) => ok = false,
                    (other, Some(_)) => {
                        self.sink.push(
                            Diagnostic::error(
                                Code::UnknownKey,
                                format!("unknown batch option `{other}`"),
                            )
                            .label(self.file, o.name.span, "unknown option")
                            .help(help_for(
                                other,
                                ["shuffle", "drop_last"],
                                "options",
                            )),
                        );
                        ok = false;
                    }
                }
            }
            lines.push(format!(
                "batch {}{}{}",
                match batching {
                    Batching::Mini(n) => n.to_string(),
                    Batching::Online => "online".into(),
                    Batching::Full => "full".into(),
                },
                if shuffle { ", shuffled" } else { "" },
                if drop_last { ", drop_last" } else { "" }
            ));
        }
        let mut epochs = 1;
        let mut early_stop = None;
        if let Some(TrainKind::Epochs {
            count,
            early_stop: es,
        }) = self.settings.get("epochs").map(|s| &s.kind)
        {
            match self.ev.integer(self.sink, count, 1, MAX_EPOCHS) {
                Some(n) => epochs = n,
                None => ok = false,
            }
            if let Some(es) = es {
                match self.early_stop(es) {
                    Some(e) => early_stop = Some(e),
                    None => ok = false,
                }
            }
            lines.push(match &early_stop {
                Some(e) => format!(
                    "epochs {epochs}, early stop after {} epochs without improvement",
                    e.patience
                ),
                None => format!("epochs {epochs}"),
            });
        }
        let mut clip = None;
        if let Some(TrainKind::Clip(e)) = self.settings.get("clip").map(|s| &s.kind) {
            match self.clip(e) {
                Some(c) => {
                    lines.push(match c {
                        Clip::Norm(v) => format!("clip gradient norm to {}", num_text(v)),
                        Clip::Value(v) => format!("clip gradients to ±{}", num_text(v)),
                    });
                    clip = Some(c);
                }
                None => ok = false,
            }
        }
        let mut schedule_unit = ScheduleUnit::Epoch;
        if let Some(TrainKind::Schedule(id)) = self.settings.get("schedule").map(|s| &s.kind) {
            match id.name.as_str() {
                "epoch" => {}
                "step" => schedule_unit = ScheduleUnit::Step,
                other => {
                    self.unknown_value(
                        id.span,
                        "schedule unit",
                        other,
                        "unknown unit",
                        &["epoch", "step"],
                        "units",
                    );
                    ok = false;
                }
            }
        }
        let mut precision = Precision::F32;
        if let Some(TrainKind::Precision(id)) = self.settings.get("precision").map(|s| &s.kind) {
            match id.name.as_str() {
                "f32" => {}
                "f64" => {
                    precision = Precision::F64;
                    lines.push("precision f64 (computed and saved in float64)".into());
                }
                other => {
                    self.unknown_value(
                        id.span,
                        "precision",
                        other,
                        "unknown floating-point type",
                        &["f32", "f64"],
                        "precisions",
                    );
                    ok = false;
                }
            }
        }
        let save = match self.settings.get("save").map(|s| &s.kind) {
            Some(TrainKind::Save(p)) => {
                lines.push(format!("save {}", p.value));
                Some(self.path(&p.value))
            }
            _ => None,
        };
        ok.then_some(Run {
            batching,
            shuffle,
            drop_last,
            epochs,
            early_stop,
            clip,
            save,
            schedule_unit,
            precision,
            lines,
        })
    }

    fn early_stop(&mut self, e: &Expr) -> Option<EarlyStop> {
        let b = self.ev.call(self.sink, e, EARLY_STOP, "early_stop")?;
        let patience = self.ev.int(self.sink, &b, "patience", 1, MAX_EPOCHS);
        let metric = self.ev.word(self.sink, &b, "metric");
        let min_delta = self.ev.num(self.sink, &b, "min_delta");
        let restore_best = self.ev.boolean(self.sink, &b, "restore_best");
        let (patience, metric, min_delta, restore_best) =
            (patience?, metric?, min_delta?, restore_best?);
        if min_delta < 0.0 {
            self.sink.push(
                Diagnostic::error(Code::BadValue, "min_delta must be ≥ 0").label(
                    self.file,
                    b.span("min_delta"),
                    "negative",
                ),
            );
            return None;
        }
        if !self.data.has_validation {
            self.no_validation(b.span, "early stopping");
            return None;
        }
        let metric = if metric == "val_accuracy" {
            Metric::ValAccuracy
        } else {
            Metric::ValLoss
        };
        Some(EarlyStop {
            metric,
            patience,
            min_delta,
            restore_best,
        })
    }

    fn clip(&mut self, e: &Expr) -> Option<Clip> {
        let b = self.ev.call(self.sink, e, CLIPS, "clipping rule")?;
        let max = self.ev.num(self.sink, &b, "max")?;
        if !(max > 0.0 && max.is_finite()) {
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!(
                        "the clipping threshold must be > 0, found {}",
                        num_text(max)
                    ),
                )
                .label(self.file, b.span("max"), "must be > 0"),
            );
            return None;
        }
        Some(if b.sig.name == "norm" {
            Clip::Norm(max)
        } else {
            Clip::Value(max)
        })
    }
}
