//! The canonical layout of a program (`knit fmt`): one item or setting per line, two-space
//! indentation, setting keywords and node names aligned within their block, single spaces
//! around operators, chains longer than [`MAX_WIDTH`] broken before each `|>`, at most one
//! blank line in a row, and every comment kept.

mod comments;
pub(crate) mod expr;
mod printer;

use crate::ast::*;
use crate::span::Span;
use expr::{call, chain, expr as e, selectors, string};
use printer::Printer;

/// Lines longer than this are broken before each `|>` of their chain.
pub const MAX_WIDTH: usize = 100;

/// Formats a parsed program; `source` is the text it was parsed from (for its comments and
/// blank lines).
pub fn format_program(source: &str, program: &Program) -> String {
    let mut p = Printer::new(source, comments::scan(source));
    let mut prev_braced = false;
    for item in &program.items {
        let braced = matches!(
            item,
            Item::Data(_) | Item::Model(_) | Item::Block(_) | Item::Train(_)
        );
        let force = braced || prev_braced;
        prev_braced = braced;
        match item {
            Item::Import(i) => p.construct(i.span, &[format!("import {}", string(&i.path))], force),
            Item::Seed(s) => p.construct(s.span, &[format!("seed {}", e(&s.value))], force),
            Item::Let(l) => p.construct(
                l.span,
                &[format!("let {} = {}", l.name.name, e(&l.value))],
                force,
            ),
            Item::Param(d) => p.construct(d.span, &[param(d)], force),
            Item::Data(d) => data(&mut p, d),
            Item::Model(m) => {
                let head = format!(
                    "model {}({}: {}) -> {} {{",
                    m.name.name,
                    m.input.name,
                    e(&m.input_shape),
                    e(&m.output_shape)
                );
                body(&mut p, m.span, head, &m.body, true);
            }
            Item::Block(b) => {
                let params: Vec<String> = b
                    .params
                    .iter()
                    .map(|bp| match &bp.default {
                        Some(d) => format!("{}: {}", bp.name.name, e(d)),
                        None => bp.name.name.clone(),
                    })
                    .collect();
                let head = format!("block {}({}) {{", b.name.name, params.join(", "));
                body(&mut p, b.span, head, &b.body, true);
            }
            Item::Train(t) => train(&mut p, t),
        }
    }
    p.finish()
}

fn param(d: &ParamDecl) -> String {
    format!("param {}: {} = {}", d.name.name, e(&d.shape), e(&d.init))
}

/// The span from `start` to the end of the opening brace at `brace`.
fn head_span(start: Span, brace: Span) -> Span {
    Span::new(start.start, brace.start + 1)
}

fn last_brace(span: Span) -> Span {
    Span::new(span.end.saturating_sub(1), span.end)
}

fn body(p: &mut Printer<'_>, item: Span, head: String, b: &Body, force: bool) {
    p.construct(head_span(item, b.span), &[head], force);
    p.open();
    let width = b
        .statements
        .iter()
        .filter_map(|s| match s {
            Statement::Assign(a) => Some(a.name.name.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    for s in &b.statements {
        match s {
            Statement::Assign(a) => {
                let lines = assign(p, a, width);
                p.construct(a.span, &lines, false);
            }
            Statement::Param(d) => p.construct(d.span, &[param(d)], false),
            Statement::Repeat(r) => {
                let head = match &r.index {
                    Some(i) => format!("repeat {} as {} {{", e(&r.count), i.name),
                    None => format!("repeat {} {{", e(&r.count)),
                };
                body(p, r.span, head, &r.body, false);
            }
        }
    }
    p.close(last_brace(b.span));
}

/// `name = chain`, broken before each `|>` when too long.
fn assign(p: &Printer<'_>, a: &Assign, width: usize) -> Vec<String> {
    let name = format!("{:width$}", a.name.name);
    let one = format!("{name} = {}", e(&a.value));
    let links = chain(&a.value);
    if p.indent_width() + one.len() <= MAX_WIDTH || links.len() < 2 {
        return vec![one];
    }
    let cont = format!("{}{}", p.indentation(), " ".repeat(width + 3));
    let mut lines = vec![format!("{name} = {}", e(links[0]))];
    lines.extend(links[1..].iter().map(|l| format!("{cont}|> {}", e(l))));
    lines
}

/// Writes a block of settings with their keywords aligned.
fn settings(p: &mut Printer<'_>, rows: &[(Span, &str, String)]) {
    let width = rows.iter().map(|(_, k, _)| k.len()).max().unwrap_or(0);
    for (span, keyword, rest) in rows {
        let line = if rest.is_empty() {
            keyword.to_string()
        } else {
            format!("{keyword:width$} {rest}")
        };
        p.construct(*span, &[line], false);
    }
}

/// Writes `head {`, the settings, and `}`; `head_end` is where the header's last name ends.
fn braces(
    p: &mut Printer<'_>,
    span: Span,
    head: String,
    head_end: usize,
    rows: &[(Span, &str, String)],
) {
    p.construct(Span::new(span.start, head_end), &[head], true);
    p.open();
    settings(p, rows);
    p.close(last_brace(span));
}

fn data(p: &mut Printer<'_>, d: &DataDecl) {
    let rows: Vec<(Span, &str, String)> = d
        .settings
        .iter()
        .map(|s| match s {
            DataSetting::Source { role, source, span } => (*span, role.keyword(), e(source)),
            DataSetting::Split { parts, span } => {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|sp| match &sp.value {
                        Some(v) => format!("{} {}", sp.name.name, e(v)),
                        None => sp.name.name.clone(),
                    })
                    .collect();
                (*span, "split", parts.join(", "))
            }
            DataSetting::SplitIndices { call, span } => (*span, "split", e(call)),
            DataSetting::Scale { scale, span } => (
                *span,
                "scale",
                match scale {
                    Scale::Divide(v) => format!("x / {}", e(v)),
                    Scale::Named(i) => i.name.clone(),
                },
            ),
            DataSetting::Seed(s) => (s.span, "seed", e(&s.value)),
            DataSetting::Limit { value, unit, span } => (
                *span,
                "limit",
                match unit {
                    Some(u) => format!("{} {}", e(value), u.name),
                    None => e(value),
                },
            ),
            DataSetting::Augment { transforms, span } => (
                *span,
                "augment",
                transforms.iter().map(e).collect::<Vec<_>>().join(", "),
            ),
        })
        .collect();
    braces(
        p,
        d.span,
        format!("data {} {{", d.name.name),
        d.name.span.end,
        &rows,
    );
}

fn train(p: &mut Printer<'_>, t: &TrainDecl) {
    let rows: Vec<(Span, &str, String)> = t
        .settings
        .iter()
        .map(|s| (s.span, s.kind.keyword(), train_setting(&s.kind)))
        .collect();
    let models: Vec<&str> = t.models.iter().map(|m| m.name.as_str()).collect();
    let head = format!("train {} on {} {{", models.join(", "), t.data.name);
    braces(p, t.span, head, t.data.span.end, &rows);
}

/// A train setting after its keyword.
pub(crate) fn train_setting(kind: &TrainKind) -> String {
    match kind {
        TrainKind::Loss(i) => i.name.clone(),
        TrainKind::Schedule(i) => format!("per {}", i.name),
        TrainKind::Precision(i) => i.name.clone(),
        TrainKind::Optimizer(x)
        | TrainKind::Clip(x)
        | TrainKind::Adversarial(x)
        | TrainKind::Seed(x) => e(x),
        TrainKind::Batch { size, options } => {
            let mut s = e(size);
            for o in options {
                s.push_str(", ");
                s.push_str(&o.name.name);
                if let Some(v) = &o.value {
                    s.push_str(&format!(": {}", e(v)));
                }
            }
            s
        }
        TrainKind::Epochs { count, early_stop } => match early_stop {
            Some(es) => format!("{}, {}", e(count), e(es)),
            None => e(count),
        },
        TrainKind::Penalty { penalty: v, on }
        | TrainKind::LrMult { value: v, on }
        | TrainKind::WeightDecay { value: v, on } => {
            format!("{} on {}", e(v), selectors(on))
        }
        TrainKind::Freeze(on) => selectors(on),
        TrainKind::Tie { a, b, penalty } => format!("{} ~ {} {}", a.pattern, b.pattern, e(penalty)),
        TrainKind::Prune(pr) => {
            let mut s = format!(
                "{} from {} to {} step {}",
                pr.method.name,
                e(&pr.from),
                e(&pr.to),
                e(&pr.step)
            );
            for c in &pr.clauses {
                s.push_str(", ");
                s.push_str(&match c {
                    PruneClause::Retrain(v, _) => format!("retrain {}", e(v)),
                    PruneClause::Floor { kind, value, .. } => {
                        format!("floor {} {}", kind.name, e(value))
                    }
                    PruneClause::Scope(i, _) => format!("scope {}", i.name),
                    PruneClause::On(sels, _) => format!("on {}", selectors(sels)),
                });
            }
            s
        }
        TrainKind::Bagging { members, clauses } => {
            let mut s = e(members);
            for c in clauses {
                s.push_str(&match c {
                    BaggingClause::Bootstrap(v, _) => format!(", bootstrap {}", e(v)),
                    BaggingClause::Combine(i, _) => format!(", combine {}", i.name),
                });
            }
            s
        }
        TrainKind::Start {
            from,
            renames,
            filter,
            strict,
        } => {
            let mut s = format!("from {}", string(from));
            for r in renames {
                s.push_str(&format!(", rename {} -> {}", r.from.pattern, r.to.pattern));
            }
            if let Some(f) = filter {
                let word = if f.only { "only" } else { "except" };
                s.push_str(&format!(", {word} {}", selectors(&f.selectors)));
            }
            if *strict {
                s.push_str(", strict");
            }
            s
        }
        TrainKind::Save(path) => string(path),
    }
}

/// A call as canonical text (used by `explain` for the values it fills in).
pub fn call_text(c: &Call) -> String {
    call(c)
}
