//! Expressions and other inline constructs as canonical text.

use crate::ast::{Arg, BinOp, Call, Expr, Selector, Str};

/// An expression on one line, with single spaces around binary operators and after commas.
pub fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Number { text, .. } => out.push_str(text),
        Expr::Str(s) => out.push_str(&string(s)),
        Expr::Bool { value, .. } => out.push_str(if *value { "true" } else { "false" }),
        Expr::Name(i) => out.push_str(&i.name),
        Expr::Call(c) => out.push_str(&call(c)),
        Expr::List { items, .. } => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, item);
            }
            out.push(']');
        }
        Expr::Neg { expr, .. } => {
            out.push('-');
            let wrap = matches!(**expr, Expr::Binary { .. });
            write_wrapped(out, expr, wrap);
        }
        Expr::Binary { op, lhs, rhs, .. } => {
            write_wrapped(out, lhs, needs_parens(lhs, *op, false));
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_wrapped(out, rhs, needs_parens(rhs, *op, true));
        }
        Expr::Paren { expr, .. } => write_wrapped(out, expr, true),
    }
}

fn write_wrapped(out: &mut String, e: &Expr, wrap: bool) {
    if wrap {
        out.push('(');
    }
    write_expr(out, e);
    if wrap {
        out.push(')');
    }
}

/// Whether an operand must be parenthesized to parse back into the same tree (all operators
/// are left-associative).
fn needs_parens(child: &Expr, parent: BinOp, right: bool) -> bool {
    match child {
        Expr::Binary { op, .. } => {
            op.precedence() < parent.precedence()
                || (right && op.precedence() == parent.precedence())
        }
        _ => false,
    }
}

/// `name(a, key: b)`.
pub fn call(c: &Call) -> String {
    let args: Vec<String> = c.args.iter().map(arg).collect();
    format!("{}({})", c.name.name, args.join(", "))
}

fn arg(a: &Arg) -> String {
    match &a.key {
        Some(k) => format!("{}: {}", k.name, expr(&a.value)),
        None => expr(&a.value),
    }
}

/// A string literal with `"`, `\`, newlines and tabs escaped.
pub fn string(s: &Str) -> String {
    let mut out = String::with_capacity(s.value.len() + 2);
    out.push('"');
    for c in s.value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Selectors joined by `, `.
pub fn selectors(sels: &[Selector]) -> String {
    sels.iter()
        .map(|s| s.pattern.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The operands of a chain `a |> f |> g` as `[a, f, g]` (a single element when `e` is no chain).
pub fn chain(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Binary {
            op: BinOp::Pipe,
            lhs,
            rhs,
            ..
        } => {
            let mut v = chain(lhs);
            v.push(rhs);
            v
        }
        other => vec![other],
    }
}
