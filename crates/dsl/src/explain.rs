//! `knit explain`: the resolved program, itself a valid program. Imports are inlined,
//! constants replaced by their values, arithmetic on numbers folded, every argument of every
//! built-in call named and every default written out, and every setting a block may have
//! spelled out.

use crate::ast::*;
use crate::builtins::{self, Fallback, Sig, Ty};
use crate::check::consts::{num_text, Const};
use crate::format::format_program;
use crate::loader::Loaded;
use crate::seed::derive_seed;
use crate::span::Span;
use std::collections::{HashMap, HashSet};

/// What checking resolved that the text alone does not say.
#[derive(Clone, Debug, Default)]
pub(crate) struct Resolved {
    /// The program's seed.
    pub seed: u64,
    /// The parameters pruned, when the program prunes.
    pub prune_params: Option<Vec<String>>,
    /// Whether the loss is a regression loss (bagging then averages).
    pub regression: bool,
}

/// The resolved program as formatted text.
pub(crate) fn explain(
    loaded: &Loaded,
    lets: &HashMap<String, Const>,
    resolved: &Resolved,
) -> String {
    let x = Explainer {
        lets,
        resolved,
        bound: HashSet::new(),
    };
    let mut items = vec![Item::Seed(Seed {
        value: number(resolved.seed as f64),
        span: Span::default(),
    })];
    for m in &loaded.modules {
        for item in &m.program.items {
            if let Some(i) = x.item(item) {
                items.push(i);
            }
        }
    }
    format_program("", &Program { items })
}

fn number(v: f64) -> Expr {
    Expr::Number {
        value: v,
        text: num_text(v),
        span: Span::default(),
    }
}

fn name(n: &str) -> Expr {
    Expr::Name(Ident::new(n, Span::default()))
}

fn ident(n: &str) -> Ident {
    Ident::new(n, Span::default())
}

fn const_expr(c: &Const) -> Expr {
    match c {
        Const::Num(v) => number(*v),
        Const::Bool(b) => Expr::Bool {
            value: *b,
            span: Span::default(),
        },
        Const::Str(s) => Expr::Str(Str {
            value: s.clone(),
            span: Span::default(),
        }),
        Const::Word(w) => name(w),
        Const::List(items) => Expr::List {
            items: items.iter().map(const_expr).collect(),
            span: Span::default(),
        },
    }
}

fn default_expr(d: Fallback) -> Option<Expr> {
    match d {
        Fallback::Required | Fallback::Absent => None,
        Fallback::Num(v) => Some(number(v)),
        Fallback::Bool(b) => Some(Expr::Bool {
            value: b,
            span: Span::default(),
        }),
        Fallback::Word(w) => Some(name(w)),
        Fallback::Str(s) => Some(Expr::Str(Str {
            value: s.to_string(),
            span: Span::default(),
        })),
    }
}

fn arg(key: &str, value: Expr) -> Arg {
    Arg {
        key: Some(ident(key)),
        value,
        span: Span::default(),
    }
}

struct Explainer<'a> {
    lets: &'a HashMap<String, Const>,
    resolved: &'a Resolved,
    /// Names bound in the body being explained (nodes, block parameters, repeat indices).
    bound: HashSet<String>,
}

impl Explainer<'_> {
    fn item(&self, item: &Item) -> Option<Item> {
        Some(match item {
            Item::Import(_) | Item::Let(_) | Item::Seed(_) => return None,
            Item::Param(p) => Item::Param(self.param(p)),
            Item::Data(d) => Item::Data(self.data(d)),
            Item::Model(m) => {
                let mut inner = self.with_bound(&m.body);
                inner.bound.insert(m.input.name.clone());
                Item::Model(ModelDecl {
                    input_shape: self.expr(&m.input_shape),
                    output_shape: self.expr(&m.output_shape),
                    body: inner.body(&m.body),
                    ..m.clone()
                })
            }
            Item::Block(b) => {
                let mut inner = self.with_bound(&b.body);
                inner
                    .bound
                    .extend(b.params.iter().map(|p| p.name.name.clone()));
                Item::Block(BlockDecl {
                    params: b
                        .params
                        .iter()
                        .map(|p| BlockParam {
                            default: p.default.as_ref().map(|d| self.expr(d)),
                            ..p.clone()
                        })
                        .collect(),
                    body: inner.body(&b.body),
                    ..b.clone()
                })
            }
            Item::Train(t) => Item::Train(self.train(t)),
        })
    }

    fn with_bound(&self, body: &Body) -> Explainer<'_> {
        let mut bound = self.bound.clone();
        collect_bound(body, &mut bound);
        Explainer {
            lets: self.lets,
            resolved: self.resolved,
            bound,
        }
    }

    fn param(&self, p: &ParamDecl) -> ParamDecl {
        ParamDecl {
            shape: self.expr(&p.shape),
            init: self.init(&p.init),
            ..p.clone()
        }
    }

    fn body(&self, b: &Body) -> Body {
        let statements = b
            .statements
            .iter()
            .map(|s| match s {
                Statement::Assign(a) => Statement::Assign(Assign {
                    value: self.tensor(&a.value),
                    ..a.clone()
                }),
                Statement::Param(p) => Statement::Param(self.param(p)),
                Statement::Repeat(r) => Statement::Repeat(Repeat {
                    count: self.expr(&r.count),
                    body: self.body(&r.body),
                    ..r.clone()
                }),
            })
            .collect();
        Body {
            statements,
            span: b.span,
        }
    }

    /// A constant expression: names replaced by values, arithmetic and string joins folded.
    fn expr(&self, e: &Expr) -> Expr {
        match e {
            Expr::Name(id) if !self.bound.contains(&id.name) => self
                .lets
                .get(&id.name)
                .map_or_else(|| e.clone(), const_expr),
            Expr::List { items, span } => Expr::List {
                items: items.iter().map(|i| self.expr(i)).collect(),
                span: *span,
            },
            Expr::Paren { expr, span } => match self.expr(expr) {
                n @ Expr::Number { .. } => n,
                inner => Expr::Paren {
                    expr: Box::new(inner),
                    span: *span,
                },
            },
            Expr::Neg { expr, span } => match self.expr(expr) {
                Expr::Number { value, .. } => number(-value),
                inner => Expr::Neg {
                    expr: Box::new(inner),
                    span: *span,
                },
            },
            Expr::Binary { op, lhs, rhs, span } => {
                let (l, r) = (self.expr(lhs), self.expr(rhs));
                if let (BinOp::Add, Expr::Str(a), Expr::Str(b)) = (op, &l, &r) {
                    return const_expr(&Const::Str(format!("{}{}", a.value, b.value)));
                }
                if let (Expr::Number { value: a, .. }, Expr::Number { value: b, .. }, false) =
                    (&l, &r, *op == BinOp::Pipe)
                {
                    let v = match op {
                        BinOp::Add => a + b,
                        BinOp::Sub => a - b,
                        BinOp::Mul => a * b,
                        _ => a / b,
                    };
                    if v.is_finite() {
                        return number(v);
                    }
                }
                Expr::Binary {
                    op: *op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                    span: *span,
                }
            }
            Expr::Call(c) => Expr::Call(Call {
                args: c
                    .args
                    .iter()
                    .map(|a| Arg {
                        value: self.expr(&a.value),
                        ..a.clone()
                    })
                    .collect(),
                ..c.clone()
            }),
            other => other.clone(),
        }
    }

    /// A tensor expression: layers and their arguments filled in.
    fn tensor(&self, e: &Expr) -> Expr {
        match e {
            Expr::Binary {
                op: BinOp::Pipe,
                lhs,
                rhs,
                span,
            } => Expr::Binary {
                op: BinOp::Pipe,
                lhs: Box::new(self.tensor(lhs)),
                rhs: Box::new(self.layer(rhs, 0)),
                span: *span,
            },
            Expr::Binary { op, lhs, rhs, span } => match self.expr(e) {
                folded @ Expr::Number { .. } => folded,
                _ => Expr::Binary {
                    op: *op,
                    lhs: Box::new(self.tensor(lhs)),
                    rhs: Box::new(self.tensor(rhs)),
                    span: *span,
                },
            },
            Expr::Paren { expr, span } => match self.expr(e) {
                folded @ Expr::Number { .. } => folded,
                _ => Expr::Paren {
                    expr: Box::new(self.tensor(expr)),
                    span: *span,
                },
            },
            Expr::Call(_) => self.layer(e, 1),
            other => self.expr(other),
        }
    }

    /// A layer (after `|>`, or called directly with its input as the first `skip` arguments).
    fn layer(&self, e: &Expr, skip: usize) -> Expr {
        let (id, args) = match e {
            Expr::Name(id) => (id, &[][..]),
            Expr::Call(c) => (&c.name, &c.args[..]),
            other => return self.tensor(other),
        };
        if id.name == builtins::CONCAT {
            let args = args
                .iter()
                .map(|a| Arg {
                    value: self.tensor(&a.value),
                    ..a.clone()
                })
                .collect();
            return Expr::Call(Call {
                name: id.clone(),
                args,
                span: e.span(),
            });
        }
        let Some(sig) = builtins::find(builtins::LAYERS, &id.name) else {
            // A block: its arguments are constants or nodes.
            return match e {
                Expr::Call(c) => Expr::Call(Call {
                    args: c
                        .args
                        .iter()
                        .map(|a| Arg {
                            value: self.tensor(&a.value),
                            ..a.clone()
                        })
                        .collect(),
                    ..c.clone()
                }),
                other => other.clone(),
            };
        };
        let inputs: Vec<Arg> = args
            .iter()
            .take(skip)
            .map(|a| Arg {
                value: self.tensor(&a.value),
                ..a.clone()
            })
            .collect();
        let mut filled = self.fill(sig, &args[skip.min(args.len())..], e.span());
        if inputs.is_empty() && filled.is_empty() {
            return Expr::Name(id.clone());
        }
        let mut all = inputs;
        all.append(&mut filled);
        Expr::Call(Call {
            name: id.clone(),
            args: all,
            span: e.span(),
        })
    }

    /// The arguments of a call to `sig`, every one named, defaults written out.
    fn fill(&self, sig: &Sig, args: &[Arg], _span: Span) -> Vec<Arg> {
        let mut out = Vec::new();
        let mut positional = args.iter().filter(|a| a.key.is_none());
        let mut given: HashMap<&str, &Expr> = HashMap::new();
        for p in sig.params {
            if let Some(a) = args
                .iter()
                .find(|a| a.key.as_ref().is_some_and(|k| k.name == p.name))
            {
                given.insert(p.name, &a.value);
            }
        }
        let shared_weight = sig.name == "dense" && given.contains_key("weight");
        let pool = matches!(sig.name, "max_pool" | "avg_pool");
        let mut pool_kernel: Option<Expr> = None;
        let mut bias_off = false;
        for p in sig.params {
            if shared_weight && p.name == "init" {
                // A shared weight is initialized where it is declared.
                continue;
            }
            let value = match given.get(p.name) {
                Some(v) => Some((*v).clone()),
                None => positional
                    .next()
                    .map(|a| a.value.clone())
                    .or_else(|| default_expr(p.default)),
            };
            // A pooling window's stride defaults to its kernel.
            let value = match (value, p.name, &pool_kernel) {
                (None, "stride", Some(k)) => Some(k.clone()),
                (v, _, _) => v,
            };
            let Some(value) = value else { continue };
            if pool && p.name == "kernel" {
                pool_kernel = Some(value.clone());
            }
            if sig.name == "conv2d" && p.name == "bias" {
                bias_off = matches!(self.expr(&value), Expr::Bool { value: false, .. });
            }
            if bias_off && p.name == "bias_init" {
                // Without a bias there is nothing to initialize.
                continue;
            }
            let value = match p.ty {
                Ty::Init => self.init(&value),
                Ty::Bias => match self.expr(&value) {
                    Expr::Bool { value: true, .. } => name("fan_in_uniform"),
                    b @ Expr::Bool { .. } => b,
                    Expr::Name(id)
                        if self.lets.get(&id.name).is_none()
                            && builtins::find(builtins::INITS, &id.name).is_none() =>
                    {
                        Expr::Name(id)
                    }
                    other => self.init(&other),
                },
                Ty::Sched => self.schedule(&value),
                _ => self.expr(&value),
            };
            out.push(arg(p.name, value));
        }
        out
    }

    fn call_in(&self, table: &'static [Sig], e: &Expr) -> Expr {
        let e = self.expr(e);
        let (id, args) = match &e {
            Expr::Name(id) => (id.clone(), vec![]),
            Expr::Call(c) => (c.name.clone(), c.args.clone()),
            _ => return e,
        };
        let Some(sig) = builtins::find(table, &id.name) else {
            return e;
        };
        let args = self.fill(sig, &args, e.span());
        if args.is_empty() {
            Expr::Name(id)
        } else {
            Expr::Call(Call {
                name: id,
                args,
                span: e.span(),
            })
        }
    }

    fn init(&self, e: &Expr) -> Expr {
        self.call_in(builtins::INITS, e)
    }

    fn schedule(&self, e: &Expr) -> Expr {
        match self.expr(e) {
            n @ Expr::Number { .. } => n,
            other => self.call_in(builtins::SCHEDULES, &other),
        }
    }

    fn data(&self, d: &DataDecl) -> DataDecl {
        let mut settings = Vec::new();
        let span = Span::default();
        for s in &d.settings {
            if let DataSetting::Source { role, source, span } = s {
                let source = match self.expr(source) {
                    Expr::Call(c) if c.name.name == "synthetic" => {
                        let kind = c.args.first().map(|a| self.expr(&a.value));
                        let sig = kind.as_ref().and_then(|k| {
                            if let Expr::Name(id) = k {
                                builtins::find(builtins::SYNTHETIC_KINDS, &id.name)
                            } else {
                                None
                            }
                        });
                        match sig {
                            Some(sig) => Expr::Call(Call {
                                args: self.fill(sig, &c.args, c.span),
                                ..c
                            }),
                            None => Expr::Call(c),
                        }
                    }
                    other => self.call_in(builtins::SOURCES, &other),
                };
                settings.push(DataSetting::Source {
                    role: *role,
                    source,
                    span: *span,
                });
            }
        }
        let indices = d.settings.iter().find_map(|s| match s {
            DataSetting::SplitIndices { call, .. } => Some(call),
            _ => None,
        });
        let split = d.settings.iter().find_map(|s| match s {
            DataSetting::Split { parts, .. } => Some(parts.clone()),
            _ => None,
        });
        let has_validation_source = d.settings.iter().any(|s| {
            matches!(
                s,
                DataSetting::Source {
                    role: SourceRole::Validation,
                    ..
                }
            )
        });
        let has_test_source = d.settings.iter().any(|s| {
            matches!(
                s,
                DataSetting::Source {
                    role: SourceRole::Test,
                    ..
                }
            )
        });
        let split = split.unwrap_or_else(|| {
            vec![SplitPart {
                name: ident("train"),
                value: Some(number(1.0)),
                span,
            }]
        });
        let mut parts = Vec::new();
        for part in ["train", "validation", "test"] {
            let skip = (part == "validation" && has_validation_source)
                || (part == "test" && has_test_source);
            if skip {
                continue;
            }
            let value = split
                .iter()
                .find(|p| p.name.name == part)
                .and_then(|p| p.value.as_ref())
                .map_or(number(0.0), |v| self.expr(v));
            parts.push(SplitPart {
                name: ident(part),
                value: Some(value),
                span,
            });
        }
        if split.iter().any(|p| p.name.name == "stratified") {
            parts.push(SplitPart {
                name: ident("stratified"),
                value: None,
                span,
            });
        }
        match indices {
            Some(call) => settings.push(DataSetting::SplitIndices {
                call: self.call_in(builtins::SPLITS, call),
                span,
            }),
            None => settings.push(DataSetting::Split { parts, span }),
        }
        let scale = d.settings.iter().find_map(|s| match s {
            DataSetting::Scale {
                scale: Scale::Divide(v),
                ..
            } => Some(Scale::Divide(self.expr(v))),
            DataSetting::Scale {
                scale: Scale::Named(i),
                ..
            } => Some(Scale::Named(i.clone())),
            _ => None,
        });
        settings.push(DataSetting::Scale {
            scale: scale.unwrap_or_else(|| Scale::Named(ident("none"))),
            span,
        });
        let seed = d.settings.iter().find_map(|s| match s {
            DataSetting::Seed(sd) => Some(self.expr(&sd.value)),
            _ => None,
        });
        let seed = seed.unwrap_or_else(|| {
            number(derive_seed(self.resolved.seed, &format!("data.{}", d.name.name)) as f64)
        });
        settings.push(DataSetting::Seed(Seed { value: seed, span }));
        // The data limit, only when given: its default depends on the machine's memory.
        settings.extend(d.settings.iter().filter_map(|s| match s {
            DataSetting::Limit { value, unit, .. } => Some(DataSetting::Limit {
                value: self.expr(value),
                unit: unit.clone(),
                span,
            }),
            _ => None,
        }));
        // The augmentation, only when given, every transform's arguments written out.
        settings.extend(d.settings.iter().filter_map(|s| {
            match s {
                DataSetting::Augment { transforms, .. } => Some(DataSetting::Augment {
                    transforms: transforms
                        .iter()
                        .map(|t| self.call_in(builtins::AUGMENTS, t))
                        .collect(),
                    span,
                }),
                _ => None,
            }
        }));
        DataDecl {
            settings,
            ..d.clone()
        }
    }

    fn train(&self, t: &TrainDecl) -> TrainDecl {
        let span = Span::default();
        let mut settings: Vec<TrainSetting> = Vec::new();
        let has = |k: &str| t.settings.iter().any(|s| s.kind.keyword() == k);
        for s in &t.settings {
            let kind = match &s.kind {
                TrainKind::Seed(_) => continue,
                TrainKind::Optimizer(e) => {
                    TrainKind::Optimizer(self.call_in(builtins::OPTIMIZERS, e))
                }
                TrainKind::Batch { size, options } => {
                    let flag = |n: &str| {
                        options.iter().find(|o| o.name.name == n).map_or(
                            Expr::Bool { value: false, span },
                            |o| {
                                o.value
                                    .as_ref()
                                    .map_or(Expr::Bool { value: true, span }, |v| self.expr(v))
                            },
                        )
                    };
                    let options = ["shuffle", "drop_last"]
                        .iter()
                        .map(|n| Opt {
                            name: ident(n),
                            value: Some(flag(n)),
                            span,
                        })
                        .collect();
                    TrainKind::Batch {
                        size: self.expr(size),
                        options,
                    }
                }
                TrainKind::Epochs { count, early_stop } => TrainKind::Epochs {
                    count: self.expr(count),
                    early_stop: early_stop
                        .as_ref()
                        .map(|e| self.call_in(builtins::EARLY_STOP, e)),
                },
                TrainKind::Clip(e) => TrainKind::Clip(self.call_in(builtins::CLIPS, e)),
                TrainKind::Penalty { penalty, on } => TrainKind::Penalty {
                    penalty: self.call_in(builtins::PENALTIES, penalty),
                    on: on.clone(),
                },
                TrainKind::LrMult { value, on } => TrainKind::LrMult {
                    value: self.expr(value),
                    on: on.clone(),
                },
                TrainKind::WeightDecay { value, on } => TrainKind::WeightDecay {
                    value: self.expr(value),
                    on: on.clone(),
                },
                TrainKind::Tie { a, b, penalty } => TrainKind::Tie {
                    a: a.clone(),
                    b: b.clone(),
                    penalty: self.call_in(builtins::PENALTIES, penalty),
                },
                TrainKind::Adversarial(e) => {
                    TrainKind::Adversarial(self.call_in(builtins::ATTACKS, e))
                }
                TrainKind::Prune(p) => TrainKind::Prune(self.prune(p)),
                TrainKind::Bagging { members, clauses } => {
                    let bootstrap = clauses.iter().find_map(|c| match c {
                        BaggingClause::Bootstrap(v, _) => Some(self.expr(v)),
                        _ => None,
                    });
                    let combine = clauses.iter().find_map(|c| match c {
                        BaggingClause::Combine(i, _) => Some(i.clone()),
                        _ => None,
                    });
                    let default_combine = if self.resolved.regression {
                        "average"
                    } else {
                        "vote"
                    };
                    TrainKind::Bagging {
                        members: self.expr(members),
                        clauses: vec![
                            BaggingClause::Bootstrap(
                                bootstrap.unwrap_or_else(|| number(1.0)),
                                span,
                            ),
                            BaggingClause::Combine(
                                combine.unwrap_or_else(|| ident(default_combine)),
                                span,
                            ),
                        ],
                    }
                }
                other => other.clone(),
            };
            settings.push(TrainSetting { kind, span: s.span });
        }
        if !has("schedule") {
            settings.push(TrainSetting {
                kind: TrainKind::Schedule(ident("epoch")),
                span,
            });
        }
        if !has("precision") {
            settings.push(TrainSetting {
                kind: TrainKind::Precision(ident("f32")),
                span,
            });
        }
        TrainDecl {
            settings,
            ..t.clone()
        }
    }

    fn prune(&self, p: &Prune) -> Prune {
        let span = Span::default();
        let mut clauses: Vec<PruneClause> = p
            .clauses
            .iter()
            .map(|c| match c {
                PruneClause::Retrain(e, s) => PruneClause::Retrain(self.expr(e), *s),
                PruneClause::Floor { kind, value, span } => PruneClause::Floor {
                    kind: kind.clone(),
                    value: self.expr(value),
                    span: *span,
                },
                other => other.clone(),
            })
            .collect();
        if !clauses.iter().any(|c| matches!(c, PruneClause::Scope(..))) {
            clauses.push(PruneClause::Scope(ident("layer"), span));
        }
        if !clauses.iter().any(|c| matches!(c, PruneClause::On(..))) {
            if let Some(params) = &self.resolved.prune_params {
                let sels = params
                    .iter()
                    .map(|n| Selector {
                        pattern: n.clone(),
                        span,
                    })
                    .collect();
                clauses.push(PruneClause::On(sels, span));
            }
        }
        Prune {
            from: self.expr(&p.from),
            to: self.expr(&p.to),
            step: self.expr(&p.step),
            clauses,
            ..p.clone()
        }
    }
}

/// The names a body binds: its nodes, parameters and repeat indices.
fn collect_bound(body: &Body, out: &mut HashSet<String>) {
    for s in &body.statements {
        match s {
            Statement::Assign(a) => {
                out.insert(a.name.name.clone());
            }
            Statement::Param(p) => {
                out.insert(p.name.name.clone());
            }
            Statement::Repeat(r) => {
                if let Some(i) = &r.index {
                    out.insert(i.name.clone());
                }
                collect_bound(&r.body, out);
            }
        }
    }
}
