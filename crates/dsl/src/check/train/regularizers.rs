//! `penalty`, `tie` and `freeze`: penalties and ties added to the graph, frozen parameters.

use super::super::consts::num_text;
use super::super::selector::{captures, empty, resolve, substitute};
use super::settings::Cx;
use crate::ast::{Expr, Selector, TrainKind};
use crate::builtins::PENALTIES;
use crate::diagnostic::{Code, Diagnostic};
use knit_regularize::{add_penalty, add_tying, Penalty, RegularizeError, TieNorm};
use knit_tensor::NodeId;

/// A penalty or tie term: its name, node, and the tied pairs (empty for a penalty).
pub(crate) type Term = (String, NodeId, Vec<(String, String)>);

/// `base`, or `base.2`, `base.3`... if taken.
fn unique(taken: &[String], base: &str) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (2..)
        .map(|k| format!("{base}.{k}"))
        .find(|n| !taken.iter().any(|t| t == n))
        .unwrap_or_default()
}

impl Cx<'_, '_> {
    fn strength(&mut self, b: &super::super::bind::Bound<'_>, key: &str) -> Option<f64> {
        let v = self.ev.num(self.sink, b, key)?;
        if !(v >= 0.0 && v.is_finite()) {
            self.sink.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("a penalty strength must be ≥ 0, found {}", num_text(v)),
                )
                .label(self.file, b.span(key), "negative"),
            );
            return None;
        }
        Some(v)
    }

    fn ids(&self, names: &[String]) -> Option<Vec<NodeId>> {
        names.iter().map(|n| self.graph.id(n).ok()).collect()
    }

    /// Every `penalty` line as a named penalty node.
    pub(crate) fn penalties(&mut self) -> Option<Vec<(String, NodeId)>> {
        let mut out: Vec<(String, NodeId)> = Vec::new();
        let mut ok = true;
        let lines: Vec<_> = self.settings.all("penalty").collect();
        for line in lines {
            let TrainKind::Penalty { penalty, on } = &line.kind else {
                continue;
            };
            let Some(b) = self.ev.call(self.sink, penalty, PENALTIES, "penalty") else {
                ok = false;
                continue;
            };
            let pen = match b.sig.name {
                "l1" => self.strength(&b, "strength").map(Penalty::L1),
                "l2" => self.strength(&b, "strength").map(Penalty::L2),
                _ => {
                    let l1 = self.strength(&b, "l1");
                    let l2 = self.strength(&b, "l2");
                    l1.zip(l2).map(|(l1, l2)| Penalty::ElasticNet { l1, l2 })
                }
            };
            let names = resolve(self.sink, self.file, on, &self.params);
            let (Some(pen), Some(names)) = (pen, names) else {
                ok = false;
                continue;
            };
            let taken: Vec<String> = out.iter().map(|(n, _)| n.clone()).collect();
            let name = unique(&taken, b.sig.name);
            let ids = self.ids(&names)?;
            match add_penalty(&mut self.graph, &name, &ids, pen) {
                Ok(node) => out.push((name, node)),
                Err(e) => {
                    self.sink.push(
                        Diagnostic::error(Code::BadValue, e.to_string())
                            .label(self.file, line.span, "here"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// The pairs a `tie a ~ b` line names.
    fn pairs(&mut self, a: &Selector, b: &Selector) -> Option<Vec<(String, String)>> {
        let stars = |s: &Selector| s.pattern.matches('*').count();
        if stars(a) != stars(b) || a.pattern.contains('?') || b.pattern.contains('?') {
            self.sink.push(
                Diagnostic::error(Code::Type, "both sides of `tie` must have the same number of `*` (and no `?`)")
                    .label(self.file, a.span, format!("{} `*`", stars(a)))
                    .label(self.file, b.span, format!("{} `*`", stars(b)))
                    .help("each `*` on the left pairs with the same text on the right: `tie a.* ~ b.* l2(0.01)`"),
            );
            return None;
        }
        let mut pairs = Vec::new();
        for name in &self.params {
            let Some(caps) = captures(&a.pattern, name) else {
                continue;
            };
            let partner = substitute(&b.pattern, &caps);
            if !self.params.contains(&partner) {
                self.sink.push(
                    Diagnostic::error(
                        Code::EmptySelector,
                        format!("`{name}` has no partner `{partner}`"),
                    )
                    .label(self.file, a.span, format!("matches `{name}`"))
                    .label(
                        self.file,
                        b.span,
                        format!("no parameter `{partner}`"),
                    ),
                );
                return None;
            }
            pairs.push((name.clone(), partner));
        }
        if pairs.is_empty() {
            self.sink.push(empty(self.file, a, &self.params));
            return None;
        }
        Some(pairs)
    }

    /// Every `tie` line as a named penalty node with its pairs.
    pub(crate) fn ties(&mut self) -> Option<Vec<Term>> {
        let mut out: Vec<Term> = Vec::new();
        let mut ok = true;
        let lines: Vec<_> = self.settings.all("tie").collect();
        for line in lines {
            let TrainKind::Tie { a, b, penalty } = &line.kind else {
                continue;
            };
            let pairs = self.pairs(a, b);
            let norm = self.tie_norm(penalty);
            let (Some(pairs), Some((norm, strength))) = (pairs, norm) else {
                ok = false;
                continue;
            };
            let taken: Vec<String> = out.iter().map(|(n, ..)| n.clone()).collect();
            let name = unique(&taken, "tie");
            let ids: Option<Vec<(NodeId, NodeId)>> = pairs
                .iter()
                .map(|(x, y)| Some((self.graph.id(x).ok()?, self.graph.id(y).ok()?)))
                .collect();
            match add_tying(&mut self.graph, &name, &ids?, strength, norm) {
                Ok(node) => out.push((name, node, pairs)),
                Err(RegularizeError::TiedShapes {
                    a: pa,
                    b: pb,
                    shape_a,
                    shape_b,
                }) => {
                    self.sink.push(
                        Diagnostic::error(Code::ShapeMismatch, format!("cannot tie `{pa}` {shape_a} to `{pb}` {shape_b}: tied parameters must have the same shape"))
                            .label(self.file, a.span, format!("`{pa}` is {shape_a}"))
                            .label(self.file, b.span, format!("`{pb}` is {shape_b}")),
                    );
                    ok = false;
                }
                Err(e) => {
                    self.sink.push(
                        Diagnostic::error(Code::BadValue, e.to_string())
                            .label(self.file, line.span, "here"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn tie_norm(&mut self, e: &Expr) -> Option<(TieNorm, f64)> {
        let b = self.ev.call(self.sink, e, &PENALTIES[..2], "tie norm")?;
        let s = self.strength(&b, "strength")?;
        Some((
            if b.sig.name == "l1" {
                TieNorm::L1
            } else {
                TieNorm::L2
            },
            s,
        ))
    }

    /// The parameters named by `freeze` lines.
    pub(crate) fn frozen(&mut self) -> Option<Vec<String>> {
        let mut frozen: Vec<String> = Vec::new();
        let mut ok = true;
        let lines: Vec<_> = self.settings.all("freeze").collect();
        let last_span = lines.last().map(|line| line.span);
        for line in lines {
            let TrainKind::Freeze(sels) = &line.kind else {
                continue;
            };
            match resolve(self.sink, self.file, sels, &self.params) {
                Some(names) => frozen.extend(
                    names
                        .into_iter()
                        .filter(|n| !frozen.contains(n))
                        .collect::<Vec<_>>(),
                ),
                None => ok = false,
            }
        }
        let everything = !self.params.is_empty() && self.params.iter().all(|p| frozen.contains(p));
        if let (true, true, Some(span)) = (ok, everything, last_span) {
            self.sink.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!(
                        "every parameter is frozen ({} of {}): nothing is left to train",
                        frozen.len(),
                        self.params.len()
                    ),
                )
                .label(
                    self.file,
                    span,
                    "this freezes the last trainable parameters",
                )
                .help("freeze a part of the model, e.g. `freeze h1.*`, and train the rest"),
            );
            return None;
        }
        ok.then_some(frozen)
    }
}
