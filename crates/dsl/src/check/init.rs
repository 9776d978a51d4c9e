//! Initializer expressions to knit-init initializers.

use super::bind::Bound;
use super::consts::Const;
use super::values::Ev;
use crate::ast::Expr;
use crate::builtins::{FAN_MODES, INITS};
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use knit_init::{
    Constant, FanInUniform, FanMode, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity,
    Initializer, LeCunNormal, LeCunUniform, Nonlinearity, Normal, Orthogonal, TruncatedNormal,
    Uniform, Zeros,
};

/// The initializer an expression names (`he_normal`, `normal(std: 0.01)`).
pub(crate) fn initializer(ev: &Ev<'_>, sink: &mut Sink, e: &Expr) -> Option<Box<dyn Initializer>> {
    let b = ev.call(sink, e, INITS, "initializer")?;
    build(ev, sink, &b)
}

fn build(ev: &Ev<'_>, sink: &mut Sink, b: &Bound<'_>) -> Option<Box<dyn Initializer>> {
    let f = |v: f64| v as f32;
    let made: Result<Box<dyn Initializer>, knit_init::InitError> = match b.sig.name {
        "zeros" => Ok(Box::new(Zeros)),
        "ones" => Constant::new(1.0).map(|c| Box::new(c) as _),
        "constant" => Constant::new(f(ev.num(sink, b, "value")?)).map(|c| Box::new(c) as _),
        "uniform" => {
            let (a, hi) = (ev.num(sink, b, "a"), ev.num(sink, b, "b"));
            Uniform::new(f(a?), f(hi?)).map(|c| Box::new(c) as _)
        }
        "normal" => {
            let (m, s) = (ev.num(sink, b, "mean"), ev.num(sink, b, "std"));
            Normal::new(f(m?), f(s?)).map(|c| Box::new(c) as _)
        }
        "truncated_normal" => {
            let (m, s) = (ev.num(sink, b, "mean"), ev.num(sink, b, "std"));
            let (a, hi) = (ev.num(sink, b, "a"), ev.num(sink, b, "b"));
            TruncatedNormal::new(f(m?), f(s?), f(a?), f(hi?)).map(|c| Box::new(c) as _)
        }
        "fan_in_uniform" => Ok(Box::new(FanInUniform)),
        "glorot_uniform" => {
            GlorotUniform::new(f(ev.num(sink, b, "gain")?)).map(|c| Box::new(c) as _)
        }
        "glorot_normal" => GlorotNormal::new(f(ev.num(sink, b, "gain")?)).map(|c| Box::new(c) as _),
        "identity" => Identity::new(f(ev.num(sink, b, "gain")?)).map(|c| Box::new(c) as _),
        "orthogonal" => Orthogonal::new(f(ev.num(sink, b, "gain")?)).map(|c| Box::new(c) as _),
        "lecun_uniform" => Ok(Box::new(LeCunUniform)),
        "lecun_normal" => Ok(Box::new(LeCunNormal)),
        "he_uniform" | "he_normal" => {
            let mode = ev.word(sink, b, "mode");
            let nonlinearity = nonlinearity(ev, sink, b);
            let mode = if mode? == FAN_MODES[1] {
                FanMode::FanOut
            } else {
                FanMode::FanIn
            };
            let nl = nonlinearity?;
            if b.sig.name == "he_uniform" {
                HeUniform::new(mode, nl).map(|c| Box::new(c) as _)
            } else {
                HeNormal::new(mode, nl).map(|c| Box::new(c) as _)
            }
        }
        other => {
            sink.push(
                Diagnostic::error(Code::UnknownValue, format!("unknown initializer `{other}`"))
                    .label(ev.file, b.span, "here"),
            );
            return None;
        }
    };
    match made {
        Ok(init) => Some(init),
        Err(err) => {
            sink.push(Diagnostic::error(Code::BadValue, err.to_string()).label(
                ev.file,
                b.span,
                "invalid initializer",
            ));
            None
        }
    }
}

/// The `nonlinearity` of a He initializer: a name, or `leaky_relu(slope)`.
fn nonlinearity(ev: &Ev<'_>, sink: &mut Sink, b: &Bound<'_>) -> Option<Nonlinearity> {
    let Some(e) = b.expr("nonlinearity") else {
        return Some(Nonlinearity::Relu);
    };
    let text = match e.unparen() {
        Expr::Call(c)
            if c.name.name == "leaky_relu" && c.args.len() == 1 && c.args[0].key.is_none() =>
        {
            format!("leaky_relu({})", ev.number(sink, &c.args[0].value)?)
        }
        other => match ev.value(sink, other)? {
            Const::Word(w) => w,
            c => {
                sink.push(
                    Diagnostic::error(
                        Code::Type,
                        format!("expected a nonlinearity, found {}", c.describe()),
                    )
                    .label(ev.file, e.span(), "expected a name such as relu"),
                );
                return None;
            }
        },
    };
    match text.parse::<Nonlinearity>() {
        Ok(n) => Some(n),
        Err(err) => {
            sink.push(
                Diagnostic::error(Code::UnknownValue, err.to_string()).label(
                    ev.file,
                    e.span(),
                    "unknown nonlinearity",
                ),
            );
            None
        }
    }
}
