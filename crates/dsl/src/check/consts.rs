//! Compile-time values: `let` constants, block arguments, repeat indices, and the arithmetic
//! on them.

use crate::ast::{BinOp, Expr};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::FileId;
use crate::span::Span;
use crate::suggest::did_you_mean;

use crate::diagnostic::Diagnostics as Sink;

/// A value known before anything runs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Const {
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A bare name that is no constant: a keyword value (`relu`, `last`, `he_normal`).
    Word(String),
    /// A list.
    List(Vec<Const>),
}

impl Const {
    /// How many values this holds: 1 for a scalar, the sum over the items for a list.
    fn values(&self) -> usize {
        match self {
            Const::List(items) => items.iter().map(Const::values).sum(),
            _ => 1,
        }
    }

    /// What kind of value this is, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Const::Num(n) => format!("the number {}", num_text(*n)),
            Const::Bool(b) => format!("the boolean {b}"),
            Const::Str(s) if s.chars().count() > 60 => {
                let head: String = s.chars().take(60).collect();
                format!("the string {head:?}… ({} bytes)", s.len())
            }
            Const::Str(s) => format!("the string {s:?}"),
            Const::Word(w) => format!("the name `{w}`"),
            Const::List(_) => "a list".into(),
        }
    }
}

/// The longest string constant, in bytes (a path is at most 4096 bytes on Linux): strings
/// joined with `+` could otherwise double until memory runs out.
pub(crate) const MAX_STRING_BYTES: usize = 4096;

/// The most values a list constant holds, nested lists' values included (a list of lists
/// could otherwise double like a string).
pub(crate) const MAX_LIST_VALUES: usize = 4096;

/// The largest whole number a `.net` number holds exactly (2^53): seeds are at most this.
pub(crate) const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// A number as the formatter and `explain` write it: whole numbers without a fraction.
pub(crate) fn num_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() <= MAX_EXACT {
        format!("{}", n as i64)
    } else {
        format!("{n:?}")
    }
}

/// What a name means where a constant is evaluated.
pub(crate) enum Lookup {
    /// A constant.
    Const(Const),
    /// A tensor (a node of a model), which is not a constant.
    Tensor,
    /// A parameter declared with `param`.
    Param,
    /// Nothing: the name is a keyword value.
    Unknown,
    /// A constant whose definition failed (already reported): uses of it say nothing more.
    Failed,
}

/// Where constants are looked up.
pub(crate) trait Scope {
    /// What `name` means here.
    fn lookup(&self, name: &str) -> Lookup;
    /// The names of number constants visible here (for did-you-mean).
    fn const_names(&self) -> Vec<String>;
}

/// Evaluates a constant expression; reports and returns `None` on error.
pub(crate) fn eval(scope: &dyn Scope, sink: &mut Sink, file: FileId, e: &Expr) -> Option<Const> {
    match e {
        Expr::Number { value, .. } => Some(Const::Num(*value)),
        Expr::Str(s) => bounded_string(sink, file, s.span, s.value.clone()),
        Expr::Bool { value, .. } => Some(Const::Bool(*value)),
        Expr::Paren { expr, .. } => eval(scope, sink, file, expr),
        Expr::Name(id) => match scope.lookup(&id.name) {
            Lookup::Const(c) => Some(c),
            Lookup::Unknown => Some(Const::Word(id.name.clone())),
            Lookup::Failed => None,
            Lookup::Tensor => {
                sink.push(
                    Diagnostic::error(
                        Code::Type,
                        format!("`{}` is a node of the model, not a constant", id.name),
                    )
                    .label(file, id.span, "a tensor is not allowed here"),
                );
                None
            }
            Lookup::Param => {
                sink.push(
                    Diagnostic::error(
                        Code::Type,
                        format!("`{}` is a parameter, not a constant", id.name),
                    )
                    .label(file, id.span, "a parameter is not allowed here"),
                );
                None
            }
        },
        Expr::List { items, .. } => {
            let values: Vec<Option<Const>> =
                items.iter().map(|i| eval(scope, sink, file, i)).collect();
            let list = Const::List(values.into_iter().collect::<Option<Vec<_>>>()?);
            let count = list.values();
            if count > MAX_LIST_VALUES {
                sink.push(
                    Diagnostic::error(
                        Code::TooComplex,
                        format!(
                            "this list holds {count} values; knit's lists hold at most {MAX_LIST_VALUES}"
                        ),
                    )
                    .label(file, e.span(), "too many values"),
                );
                return None;
            }
            Some(list)
        }
        Expr::Neg { expr, .. } => Some(Const::Num(-number(scope, sink, file, expr)?)),
        Expr::Binary { op, lhs, rhs, span } => {
            if *op == BinOp::Pipe {
                sink.push(
                    Diagnostic::error(
                        Code::Type,
                        "a chain `|>` is only allowed in a model or block",
                    )
                    .label(file, *span, "not a constant"),
                );
                return None;
            }
            let a = eval(scope, sink, file, lhs);
            let b = eval(scope, sink, file, rhs);
            let (a, b) = (a?, b?);
            if let (BinOp::Add, Const::Str(a), Const::Str(b)) = (op, &a, &b) {
                if a.len() + b.len() > MAX_STRING_BYTES {
                    sink.push(
                        Diagnostic::error(
                            Code::TooComplex,
                            format!(
                                "the joined string would have {} bytes; knit's strings have at most {MAX_STRING_BYTES}",
                                a.len() + b.len()
                            ),
                        )
                        .label(file, *span, "too long"),
                    );
                    return None;
                }
                return Some(Const::Str(format!("{a}{b}")));
            }
            let a = as_number(scope, sink, file, lhs, a);
            let b = as_number(scope, sink, file, rhs, b);
            let (a, b) = (a?, b?);
            let v = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                _ => {
                    if b == 0.0 {
                        sink.push(Diagnostic::error(Code::BadValue, "division by zero").label(
                            file,
                            rhs.span(),
                            "this is 0",
                        ));
                        return None;
                    }
                    a / b
                }
            };
            if !v.is_finite() {
                sink.push(
                    Diagnostic::error(Code::BadValue, "the result is not a finite number").label(
                        file,
                        *span,
                        "overflows",
                    ),
                );
                return None;
            }
            Some(Const::Num(v))
        }
        Expr::Call(c) => {
            sink.push(
                Diagnostic::error(
                    Code::Type,
                    format!("a call to `{}` is not allowed here", c.name.name),
                )
                .label(file, c.span, "expected a constant value"),
            );
            None
        }
    }
}

/// A string literal as a constant, refused past [`MAX_STRING_BYTES`].
fn bounded_string(sink: &mut Sink, file: FileId, span: Span, value: String) -> Option<Const> {
    if value.len() > MAX_STRING_BYTES {
        sink.push(
            Diagnostic::error(
                Code::TooComplex,
                format!(
                    "this string has {} bytes; knit's strings have at most {MAX_STRING_BYTES}",
                    value.len()
                ),
            )
            .label(file, span, "too long"),
        );
        return None;
    }
    Some(Const::Str(value))
}

/// Evaluates a number.
pub(crate) fn number(scope: &dyn Scope, sink: &mut Sink, file: FileId, e: &Expr) -> Option<f64> {
    let value = eval(scope, sink, file, e)?;
    as_number(scope, sink, file, e, value)
}

/// `value`, the value of `e`, as a number, or an error at `e` saying what it is instead.
fn as_number(
    scope: &dyn Scope,
    sink: &mut Sink,
    file: FileId,
    e: &Expr,
    value: Const,
) -> Option<f64> {
    match value {
        Const::Num(n) => Some(n),
        other => {
            let help = match &other {
                Const::Word(w) => did_you_mean(w, scope.const_names().iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        Some(format!(
                            "`{w}` is not a defined constant; define it with `let {w} = ...`"
                        ))
                    }),
                _ => None,
            };
            sink.push(
                Diagnostic::error(
                    Code::Type,
                    format!("expected a number, found {}", other.describe()),
                )
                .label(file, e.span(), "expected a number")
                .maybe_help(help),
            );
            None
        }
    }
}

/// Evaluates a whole number in `min..=max`.
pub(crate) fn integer(
    scope: &dyn Scope,
    sink: &mut Sink,
    file: FileId,
    e: &Expr,
    min: usize,
    max: usize,
) -> Option<usize> {
    let v = number(scope, sink, file, e)?;
    whole(sink, file, e.span(), v, min, max)
}

/// Checks that `v` is a whole number in `min..=max`.
pub(crate) fn whole(
    sink: &mut Sink,
    file: FileId,
    span: Span,
    v: f64,
    min: usize,
    max: usize,
) -> Option<usize> {
    if v.fract() != 0.0 || v < min as f64 || v > max as f64 {
        let range = if max == usize::MAX {
            format!("≥ {min}")
        } else {
            format!("from {min} to {max}")
        };
        sink.push(
            Diagnostic::error(
                Code::BadValue,
                format!("expected a whole number {range}, found {}", num_text(v)),
            )
            .label(file, span, format!("must be a whole number {range}")),
        );
        return None;
    }
    Some(v as usize)
}
