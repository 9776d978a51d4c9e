//! Typed argument values: numbers, whole numbers, names from a fixed set, lists, and the
//! lookup of a named call (an initializer, a schedule, an optimizer...) in a table.

use super::bind::{bind, Bound};
use super::consts::{self, num_text, Const, Lookup, Scope};
use crate::ast::Expr;
use crate::builtins::{Fallback, Sig, Ty};
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::source::FileId;
use crate::suggest::help_for;

/// Evaluates arguments in one scope of one file.
#[derive(Clone, Copy)]
pub(crate) struct Ev<'a> {
    /// Where names are looked up.
    pub scope: &'a dyn Scope,
    /// The file the expressions are in.
    pub file: FileId,
}

impl<'a> Ev<'a> {
    /// An evaluator.
    pub(crate) fn new(scope: &'a dyn Scope, file: FileId) -> Self {
        Ev { scope, file }
    }

    /// A constant expression.
    pub(crate) fn value(&self, sink: &mut Sink, e: &Expr) -> Option<Const> {
        consts::eval(self.scope, sink, self.file, e)
    }

    /// A number.
    pub(crate) fn number(&self, sink: &mut Sink, e: &Expr) -> Option<f64> {
        consts::number(self.scope, sink, self.file, e)
    }

    /// A whole number in `min..=max`.
    pub(crate) fn integer(
        &self,
        sink: &mut Sink,
        e: &Expr,
        min: usize,
        max: usize,
    ) -> Option<usize> {
        consts::integer(self.scope, sink, self.file, e, min, max)
    }

    /// Parameter `name` of `b` as a number (its default if not given).
    pub(crate) fn num(&self, sink: &mut Sink, b: &Bound<'_>, name: &str) -> Option<f64> {
        match (b.expr(name), b.default(name)) {
            (Some(e), _) => self.number(sink, e),
            (None, Fallback::Num(v)) => Some(v),
            _ => None,
        }
    }

    /// Parameter `name` of `b` as a whole number in `min..=max`.
    pub(crate) fn int(
        &self,
        sink: &mut Sink,
        b: &Bound<'_>,
        name: &str,
        min: usize,
        max: usize,
    ) -> Option<usize> {
        match (b.expr(name), b.default(name)) {
            (Some(e), _) => self.integer(sink, e, min, max),
            (None, Fallback::Num(v)) => Some(v as usize),
            _ => None,
        }
    }

    /// Parameter `name` of `b` as a boolean.
    pub(crate) fn boolean(&self, sink: &mut Sink, b: &Bound<'_>, name: &str) -> Option<bool> {
        match (b.expr(name), b.default(name)) {
            (Some(e), _) => match self.value(sink, e)? {
                Const::Bool(v) => Some(v),
                other => {
                    sink.push(
                        Diagnostic::error(
                            Code::Type,
                            format!("`{name}` must be true or false, found {}", other.describe()),
                        )
                        .label(
                            self.file,
                            e.span(),
                            "expected true or false",
                        ),
                    );
                    None
                }
            },
            (None, Fallback::Bool(v)) => Some(v),
            _ => None,
        }
    }

    /// Parameter `name` of `b` as a string.
    pub(crate) fn string(&self, sink: &mut Sink, b: &Bound<'_>, name: &str) -> Option<String> {
        match (b.expr(name), b.default(name)) {
            (Some(e), _) => match self.value(sink, e)? {
                Const::Str(v) => Some(v),
                other => {
                    sink.push(
                        Diagnostic::error(
                            Code::Type,
                            format!("`{name}` must be a string, found {}", other.describe()),
                        )
                        .label(
                            self.file,
                            e.span(),
                            "expected a string in double quotes",
                        ),
                    );
                    None
                }
            },
            (None, Fallback::Str(v)) => Some(v.to_string()),
            _ => None,
        }
    }

    /// Parameter `name` of `b`, a name from its type's fixed set.
    pub(crate) fn word(&self, sink: &mut Sink, b: &Bound<'_>, name: &str) -> Option<String> {
        let choices = match b.param(name).map(|p| p.ty) {
            Some(Ty::Word(c)) => c,
            _ => &[],
        };
        match (b.expr(name), b.default(name)) {
            (Some(e), _) => self.choice(sink, e, choices, name),
            (None, Fallback::Word(w)) => Some(w.to_string()),
            _ => None,
        }
    }

    /// A name from `choices`, for the value of `what`.
    pub(crate) fn choice(
        &self,
        sink: &mut Sink,
        e: &Expr,
        choices: &[&str],
        what: &str,
    ) -> Option<String> {
        match self.value(sink, e)? {
            Const::Word(w) if choices.contains(&w.as_str()) => Some(w),
            Const::Word(w) => {
                sink.push(
                    Diagnostic::error(
                        Code::UnknownValue,
                        format!("unknown value `{w}` for `{what}`"),
                    )
                    .label(self.file, e.span(), "unknown value")
                    .help(help_for(
                        &w,
                        choices.iter().copied(),
                        "accepted values",
                    )),
                );
                None
            }
            other => {
                sink.push(
                    Diagnostic::error(
                        Code::Type,
                        format!(
                            "`{what}` must be one of {}, found {}",
                            choices.join(", "),
                            other.describe()
                        ),
                    )
                    .label(self.file, e.span(), "expected a name"),
                );
                None
            }
        }
    }

    /// A list of whole numbers ≥ `min`.
    pub(crate) fn int_list(
        &self,
        sink: &mut Sink,
        e: &Expr,
        min: usize,
        max: usize,
    ) -> Option<Vec<usize>> {
        match e.unparen() {
            Expr::List { items, .. } => {
                let values: Vec<Option<usize>> = items
                    .iter()
                    .map(|i| self.integer(sink, i, min, max))
                    .collect();
                values.into_iter().collect()
            }
            other => match self.value(sink, other)? {
                Const::List(items) => {
                    let mut out = Vec::new();
                    for c in items {
                        match c {
                            Const::Num(n) => {
                                out.push(consts::whole(sink, self.file, e.span(), n, min, max)?)
                            }
                            other => {
                                sink.push(
                                    Diagnostic::error(
                                        Code::Type,
                                        format!(
                                            "expected a list of whole numbers, found {}",
                                            other.describe()
                                        ),
                                    )
                                    .label(
                                        self.file,
                                        e.span(),
                                        "expected whole numbers",
                                    ),
                                );
                                return None;
                            }
                        }
                    }
                    Some(out)
                }
                other => {
                    sink.push(
                        Diagnostic::error(
                            Code::Type,
                            format!(
                                "expected a list such as [10, 20], found {}",
                                other.describe()
                            ),
                        )
                        .label(self.file, e.span(), "expected a list"),
                    );
                    None
                }
            },
        }
    }

    /// A list of two numbers `[low, high]` with `low < high`.
    pub(crate) fn range(&self, sink: &mut Sink, e: &Expr) -> Option<(f64, f64)> {
        let Expr::List { items, .. } = e.unparen() else {
            sink.push(
                Diagnostic::error(Code::Type, "expected a range such as [0, 1]").label(
                    self.file,
                    e.span(),
                    "expected [low, high]",
                ),
            );
            return None;
        };
        let [lo, hi] = items.as_slice() else {
            sink.push(
                Diagnostic::error(
                    Code::Type,
                    format!("a range has two numbers, found {}", items.len()),
                )
                .label(self.file, e.span(), "expected [low, high]"),
            );
            return None;
        };
        let (lo, hi) = (self.number(sink, lo)?, self.number(sink, hi)?);
        if lo >= hi {
            sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("the range [{}, {}] is empty", num_text(lo), num_text(hi)),
                )
                .label(self.file, e.span(), "low must be below high"),
            );
            return None;
        }
        Some((lo, hi))
    }

    /// The name a bare identifier stands for (through a block argument holding a name).
    pub(crate) fn name_of(&self, id: &str) -> Option<String> {
        match self.scope.lookup(id) {
            Lookup::Const(Const::Word(w)) => Some(w),
            Lookup::Unknown => Some(id.to_string()),
            _ => None,
        }
    }

    /// Resolves `e` (a name or a call) against `table`, binding its arguments. `what` names
    /// the kind of thing in messages ("initializer").
    pub(crate) fn call<'e>(
        &self,
        sink: &mut Sink,
        e: &'e Expr,
        table: &'static [Sig],
        what: &str,
    ) -> Option<Bound<'e>> {
        let names = table.iter().map(|s| s.name);
        match e.unparen() {
            Expr::Name(id) => {
                let name = self.name_of(&id.name).unwrap_or_else(|| id.name.clone());
                let Some(sig) = table.iter().find(|s| s.name == name) else {
                    sink.push(
                        Diagnostic::error(Code::UnknownValue, format!("unknown {what} `{name}`"))
                            .label(self.file, id.span, format!("not a known {what}"))
                            .help(help_for(&name, names, "accepted")),
                    );
                    return None;
                };
                let missing: Vec<&str> = sig
                    .params
                    .iter()
                    .filter(|p| p.default == Fallback::Required)
                    .map(|p| p.name)
                    .collect();
                if !missing.is_empty() {
                    sink.push(
                        Diagnostic::error(
                            Code::Missing,
                            format!("`{name}` needs `{}`", missing.join("`, `")),
                        )
                        .label(self.file, id.span, "arguments missing")
                        .help(format!("write `{name}({}: ...)`", missing[0])),
                    );
                    return None;
                }
                Some(Bound {
                    sig,
                    span: id.span,
                    args: vec![None; sig.params.len()],
                })
            }
            Expr::Call(c) => {
                let Some(sig) = table.iter().find(|s| s.name == c.name.name) else {
                    sink.push(
                        Diagnostic::error(
                            Code::UnknownValue,
                            format!("unknown {what} `{}`", c.name.name),
                        )
                        .label(self.file, c.name.span, format!("not a known {what}"))
                        .help(help_for(&c.name.name, names, "accepted")),
                    );
                    return None;
                };
                bind(sink, self.file, c, sig, 0)
            }
            other => {
                sink.push(
                    Diagnostic::error(Code::Type, format!("expected {}", with_article(what)))
                        .label(
                            self.file,
                            other.span(),
                            format!("expected {}", with_article(what)),
                        )
                        .help(format!(
                            "accepted: {}",
                            names.collect::<Vec<_>>().join(", ")
                        )),
                );
                None
            }
        }
    }
}

/// `an optimizer`, `a schedule`.
fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}
