//! Schedule expressions (a number, or `step(...)`, `cosine(...)`, `warmup(...)`...) to
//! [`ScheduleSpec`]s, validated by building them once with knit-optim.

use super::bind::Bound;
use super::values::Ev;
use crate::ast::Expr;
use crate::builtins::SCHEDULES;
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::span::Span;
use knit_optim::schedule::{PlateauConfig, PlateauMode};
use knit_optim::OptimError;
use knit_train::ScheduleSpec;

/// The largest step or epoch count accepted in a schedule.
const MAX_T: usize = 100_000_000;

/// A schedule: a plain number is a constant.
pub(crate) fn schedule(ev: &Ev<'_>, sink: &mut Sink, e: &Expr) -> Option<ScheduleSpec> {
    if !matches!(e.unparen(), Expr::Call(_)) {
        let mut scratch = Sink::default();
        match ev.value(&mut scratch, e) {
            Some(super::consts::Const::Num(v)) => return Some(ScheduleSpec::Constant(v)),
            // Arithmetic that fails (`0/0`, an overflow) says why, rather than "expected a
            // schedule".
            None if scratch.has_errors() => {
                sink.extend(scratch);
                return None;
            }
            _ => {}
        }
    }
    let b = ev.call(sink, e, SCHEDULES, "schedule")?;
    let spec = build(ev, sink, &b)?;
    validate(ev, sink, &b, &spec).then_some(spec)
}

fn build(ev: &Ev<'_>, sink: &mut Sink, b: &Bound<'_>) -> Option<ScheduleSpec> {
    let num = |sink: &mut Sink, k: &str| ev.num(sink, b, k);
    Some(match b.sig.name {
        "step" => {
            let every = ev.int(sink, b, "every", 1, MAX_T);
            ScheduleSpec::Step {
                initial: num(sink, "initial")?,
                every: every?,
                gamma: num(sink, "gamma")?,
            }
        }
        "multistep" => {
            let milestones = b
                .expr("milestones")
                .and_then(|m| ev.int_list(sink, m, 0, MAX_T));
            ScheduleSpec::MultiStep {
                initial: num(sink, "initial")?,
                milestones: milestones?,
                gamma: num(sink, "gamma")?,
            }
        }
        "exponential" => ScheduleSpec::Exponential {
            initial: num(sink, "initial")?,
            gamma: num(sink, "gamma")?,
        },
        "inverse_time" => ScheduleSpec::InverseTime {
            initial: num(sink, "initial")?,
            k: num(sink, "k")?,
        },
        "inv" => ScheduleSpec::Inv {
            initial: num(sink, "initial")?,
            gamma: num(sink, "gamma")?,
            power: num(sink, "power")?,
        },
        "polynomial" => {
            let total = ev.int(sink, b, "total", 1, MAX_T);
            ScheduleSpec::Polynomial {
                initial: num(sink, "initial")?,
                end: num(sink, "end")?,
                total: total?,
                power: num(sink, "power")?,
            }
        }
        "cosine" => {
            let t_max = ev.int(sink, b, "t_max", 1, MAX_T);
            ScheduleSpec::Cosine {
                initial: num(sink, "initial")?,
                t_max: t_max?,
                min: num(sink, "min")?,
            }
        }
        "cosine_restarts" => {
            let t_0 = ev.int(sink, b, "t_0", 1, MAX_T);
            let t_mult = ev.int(sink, b, "t_mult", 1, 1000);
            ScheduleSpec::CosineRestarts {
                initial: num(sink, "initial")?,
                t_0: t_0?,
                t_mult: t_mult?,
                min: num(sink, "min")?,
            }
        }
        "warmup" => {
            let steps = ev.int(sink, b, "steps", 1, MAX_T);
            let then = b.expr("then").and_then(|t| schedule(ev, sink, t));
            ScheduleSpec::Warmup {
                steps: steps?,
                start_factor: num(sink, "start_factor")?,
                then: Box::new(then?),
            }
        }
        "plateau" => {
            let patience = ev.int(sink, b, "patience", 0, MAX_T);
            let cooldown = ev.int(sink, b, "cooldown", 0, MAX_T);
            let mode = ev.word(sink, b, "mode");
            let config = PlateauConfig {
                mode: if mode? == "max" {
                    PlateauMode::Max
                } else {
                    PlateauMode::Min
                },
                factor: num(sink, "factor")?,
                patience: patience?,
                threshold: num(sink, "threshold")?,
                cooldown: cooldown?,
                min_value: num(sink, "min")?,
                ..PlateauConfig::default()
            };
            ScheduleSpec::Plateau {
                initial: num(sink, "initial")?,
                config,
            }
        }
        _ => return None,
    })
}

/// Builds the schedule with knit-optim and reports its error at the argument it names.
fn validate(ev: &Ev<'_>, sink: &mut Sink, b: &Bound<'_>, spec: &ScheduleSpec) -> bool {
    match spec.build() {
        Ok(_) => true,
        Err(err) => {
            sink.push(optim_error(ev, b, &err));
            false
        }
    }
}

/// An optimizer or schedule error as a diagnostic pointing at the argument it names.
pub(crate) fn optim_error(ev: &Ev<'_>, b: &Bound<'_>, err: &OptimError) -> Diagnostic {
    let (span, label): (Span, String) = match err {
        OptimError::Hyperparameter {
            name, requirement, ..
        } => {
            let key = match *name {
                "eta_min" | "min_value" => "min",
                "betas.0" => "beta1",
                "betas.1" => "beta2",
                other => other,
            };
            (b.span(key), format!("must be {requirement}"))
        }
        _ => (b.span, "invalid".into()),
    };
    Diagnostic::error(Code::BadValue, err.to_string()).label(ev.file, span, label)
}
