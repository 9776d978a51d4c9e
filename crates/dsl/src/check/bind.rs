//! Binding a call's arguments to a signature: positional in order, then by key; unknown,
//! repeated and missing keys are errors.

use crate::ast::{Arg, Call, Expr};
use crate::builtins::{Fallback, Sig, P};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::FileId;
use crate::span::Span;
use crate::suggest::help_for;

/// A call's arguments matched to its signature's parameters.
#[derive(Clone, Debug)]
pub(crate) struct Bound<'a> {
    /// The signature.
    pub sig: &'static Sig,
    /// The call's span.
    pub span: Span,
    /// For each parameter of `sig`, the argument given for it.
    pub args: Vec<Option<&'a Arg>>,
}

impl<'a> Bound<'a> {
    fn index(&self, name: &str) -> Option<usize> {
        self.sig.params.iter().position(|p| p.name == name)
    }

    /// The argument given for parameter `name`.
    pub(crate) fn arg(&self, name: &str) -> Option<&'a Arg> {
        self.index(name).and_then(|i| self.args[i])
    }

    /// The expression given for parameter `name`.
    pub(crate) fn expr(&self, name: &str) -> Option<&'a Expr> {
        self.arg(name).map(|a| &a.value)
    }

    /// The parameter `name` of the signature.
    pub(crate) fn param(&self, name: &str) -> Option<&'static P> {
        self.sig.params.iter().find(|p| p.name == name)
    }

    /// The default of parameter `name` (`Absent` for an unknown name).
    pub(crate) fn default(&self, name: &str) -> Fallback {
        self.param(name).map_or(Fallback::Absent, |p| p.default)
    }

    /// Where to point at parameter `name`: its value if given, else the call.
    pub(crate) fn span(&self, name: &str) -> Span {
        self.expr(name).map_or(self.span, Expr::span)
    }
}

/// Binds `call`'s arguments, skipping the first `skip` positional ones (a layer's input given
/// directly). Reports every problem; `None` if there was any.
pub(crate) fn bind<'a>(
    sink: &mut Diagnostics,
    file: FileId,
    call: &'a Call,
    sig: &'static Sig,
    skip: usize,
) -> Option<Bound<'a>> {
    let mut args: Vec<Option<&'a Arg>> = vec![None; sig.params.len()];
    let mut ok = true;
    let mut positional = 0;
    let mut seen_key = false;
    for arg in call.args.iter().skip(skip) {
        let slot = match &arg.key {
            None => {
                if seen_key {
                    sink.push(
                        Diagnostic::error(
                            Code::Syntax,
                            "a positional argument cannot follow a named one",
                        )
                        .label(file, arg.span, "give this argument a name"),
                    );
                    ok = false;
                    continue;
                }
                positional += 1;
                if positional > sig.params.len() {
                    let takes = match sig.params.len() {
                        0 => "no arguments".to_string(),
                        1 => "1 argument".to_string(),
                        n => format!("{n} arguments"),
                    };
                    sink.push(
                        Diagnostic::error(
                            Code::UnknownKey,
                            format!("`{}` takes {takes}", sig.name),
                        )
                        .label(file, arg.span, "one argument too many"),
                    );
                    ok = false;
                    continue;
                }
                positional - 1
            }
            Some(key) => {
                seen_key = true;
                match sig.params.iter().position(|p| p.name == key.name) {
                    Some(i) => i,
                    None => {
                        let keys: Vec<&str> = sig.params.iter().map(|p| p.name).collect();
                        let help = if keys.is_empty() {
                            format!("`{}` takes no arguments", sig.name)
                        } else {
                            help_for(
                                &key.name,
                                keys.iter().copied(),
                                &format!("`{}` takes", sig.name),
                            )
                        };
                        sink.push(
                            Diagnostic::error(
                                Code::UnknownKey,
                                format!("`{}` has no argument `{}`", sig.name, key.name),
                            )
                            .label(file, key.span, "unknown key")
                            .help(help),
                        );
                        ok = false;
                        continue;
                    }
                }
            }
        };
        if let Some(previous) = args[slot] {
            sink.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("`{}` is given twice", sig.params[slot].name),
                )
                .label(file, arg.span, "given again here")
                .label(file, previous.span, "first given here"),
            );
            ok = false;
            continue;
        }
        args[slot] = Some(arg);
    }
    for (param, arg) in sig.params.iter().zip(&args) {
        if param.default == Fallback::Required && arg.is_none() {
            sink.push(
                Diagnostic::error(
                    Code::Missing,
                    format!("`{}` needs `{}`", sig.name, param.name),
                )
                .label(file, call.span, format!("`{}` is missing", param.name))
                .help(format!("write `{}({}: ...)`", sig.name, param.name)),
            );
            ok = false;
        }
    }
    ok.then_some(Bound {
        sig,
        span: call.span,
        args,
    })
}
