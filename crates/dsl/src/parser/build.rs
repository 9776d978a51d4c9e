//! pest pairs to the typed syntax tree.
//!
//! The grammar guarantees the structure walked here; a mismatch would be a bug in this file,
//! reported as an internal error rather than a panic.

use super::limits::MAX_OPERATORS;
use super::Rule;
use crate::ast::*;
use crate::span::Span;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::OnceLock;

/// What can go wrong while building.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// The pairs do not have the structure the grammar promises (a bug).
    Internal(String),
    /// An expression with more operators than knit accepts.
    TooComplex(Span),
    /// A number literal beyond the range of a float (`1e999`).
    NotFinite(Span),
}

impl From<String> for BuildError {
    fn from(message: String) -> Self {
        BuildError::Internal(message)
    }
}

impl From<&str> for BuildError {
    fn from(message: &str) -> Self {
        BuildError::Internal(message.to_string())
    }
}

/// A built node or what went wrong.
pub(crate) type Build<T> = Result<T, BuildError>;

/// Converts pairs of one item, parsed from the text at byte `base`.
struct Ctx {
    base: usize,
}

/// Builds the item of an `item_line` pair parsed at byte `base` of the file.
pub(crate) fn item_line(pair: Pair<'_, Rule>, base: usize) -> Build<Item> {
    let cx = Ctx { base };
    let item = first(pair.into_inner(), "item")?;
    cx.item(item)
}

fn first<'i>(mut pairs: Pairs<'i, Rule>, what: &str) -> Build<Pair<'i, Rule>> {
    pairs
        .next()
        .ok_or_else(|| BuildError::Internal(format!("missing {what}")))
}

fn next<'i>(pairs: &mut Pairs<'i, Rule>, what: &str) -> Build<Pair<'i, Rule>> {
    pairs
        .next()
        .ok_or_else(|| BuildError::Internal(format!("missing {what}")))
}

fn unexpected<T>(pair: &Pair<'_, Rule>) -> Build<T> {
    Err(BuildError::Internal(format!(
        "unexpected {:?}",
        pair.as_rule()
    )))
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::pipe, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
    })
}

impl Ctx {
    /// The pair's span without the spaces and comment pest's implicit whitespace may leave
    /// at its end (when it ends with an optional or repeated part that did not match).
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(
            self.base + s.start(),
            self.base + s.start() + trimmed_len(pair.as_str()),
        )
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Build<Ident> {
        match pair.as_rule() {
            Rule::ident => Ok(Ident::new(pair.as_str(), self.span(&pair))),
            _ => unexpected(&pair),
        }
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Build<Item> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        Ok(match rule {
            Rule::import => {
                next(&mut inner, "keyword")?;
                Item::Import(Import {
                    path: self.string(next(&mut inner, "path")?)?,
                    span,
                })
            }
            Rule::seed_item => Item::Seed(self.seed(inner, span)?),
            Rule::let_item => {
                next(&mut inner, "keyword")?;
                let name = self.ident(next(&mut inner, "name")?)?;
                let value = self.expr(next(&mut inner, "value")?)?;
                Item::Let(Let { name, value, span })
            }
            Rule::param_item => Item::Param(self.param(inner, span)?),
            Rule::data_item => {
                next(&mut inner, "keyword")?;
                let name = self.ident(next(&mut inner, "name")?)?;
                let settings = inner.map(|p| self.data_setting(p)).collect::<Build<_>>()?;
                Item::Data(DataDecl {
                    name,
                    settings,
                    span,
                })
            }
            Rule::model_item => {
                next(&mut inner, "keyword")?;
                let name = self.ident(next(&mut inner, "name")?)?;
                let input = self.ident(next(&mut inner, "input")?)?;
                let input_shape = self.list(next(&mut inner, "input shape")?)?;
                let output_shape = self.list(next(&mut inner, "output shape")?)?;
                let body = self.body(next(&mut inner, "body")?)?;
                Item::Model(ModelDecl {
                    name,
                    input,
                    input_shape,
                    output_shape,
                    body,
                    span,
                })
            }
            Rule::block_item => {
                next(&mut inner, "keyword")?;
                let name = self.ident(next(&mut inner, "name")?)?;
                let mut params = Vec::new();
                let mut body = None;
                for p in inner {
                    match p.as_rule() {
                        Rule::block_param => {
                            let pspan = self.span(&p);
                            let mut pi = p.into_inner();
                            let pname = self.ident(next(&mut pi, "parameter")?)?;
                            let default = pi.next().map(|e| self.expr(e)).transpose()?;
                            params.push(BlockParam {
                                name: pname,
                                default,
                                span: pspan,
                            });
                        }
                        Rule::body => body = Some(self.body(p)?),
                        _ => return unexpected(&p),
                    }
                }
                let body = body.ok_or("missing block body")?;
                Item::Block(BlockDecl {
                    name,
                    params,
                    body,
                    span,
                })
            }
            Rule::train_item => {
                next(&mut inner, "keyword")?;
                let mut models = Vec::new();
                let mut data = None;
                let mut settings = Vec::new();
                for p in inner {
                    match p.as_rule() {
                        Rule::ident if data.is_none() => models.push(self.ident(p)?),
                        Rule::kw_on => data = Some(None),
                        Rule::ident => data = Some(Some(self.ident(p)?)),
                        _ => settings.push(self.train_setting(p)?),
                    }
                }
                let data = data.flatten().ok_or("missing data name")?;
                Item::Train(TrainDecl {
                    models,
                    data,
                    settings,
                    span,
                })
            }
            _ => return unexpected(&Pair::clone(&first(inner, "item")?)),
        })
    }

    fn seed(&self, mut inner: Pairs<'_, Rule>, span: Span) -> Build<Seed> {
        next(&mut inner, "keyword")?;
        Ok(Seed {
            value: self.expr(next(&mut inner, "seed")?)?,
            span,
        })
    }

    fn param(&self, mut inner: Pairs<'_, Rule>, span: Span) -> Build<ParamDecl> {
        next(&mut inner, "keyword")?;
        let name = self.ident(next(&mut inner, "name")?)?;
        let shape = self.list(next(&mut inner, "shape")?)?;
        let init = self.expr(next(&mut inner, "initializer")?)?;
        Ok(ParamDecl {
            name,
            shape,
            init,
            span,
        })
    }

    fn body(&self, pair: Pair<'_, Rule>) -> Build<Body> {
        let span = self.span(&pair);
        let statements = pair
            .into_inner()
            .map(|p| self.statement(p))
            .collect::<Build<_>>()?;
        Ok(Body { statements, span })
    }

    fn statement(&self, pair: Pair<'_, Rule>) -> Build<Statement> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        Ok(match rule {
            Rule::assign => {
                let name = self.ident(next(&mut inner, "name")?)?;
                let value = self.expr(next(&mut inner, "value")?)?;
                Statement::Assign(Assign { name, value, span })
            }
            Rule::param_item => Statement::Param(self.param(inner, span)?),
            Rule::repeat_stmt => {
                next(&mut inner, "keyword")?;
                let count = self.expr(next(&mut inner, "count")?)?;
                let mut index = None;
                let mut body = None;
                for p in inner {
                    match p.as_rule() {
                        Rule::kw_as => {}
                        Rule::ident => index = Some(self.ident(p)?),
                        Rule::body => body = Some(self.body(p)?),
                        _ => return unexpected(&p),
                    }
                }
                Statement::Repeat(Repeat {
                    count,
                    index,
                    body: body.ok_or("missing repeat body")?,
                    span,
                })
            }
            _ => {
                return Err(BuildError::Internal(format!(
                    "unexpected statement {rule:?}"
                )))
            }
        })
    }

    fn data_setting(&self, pair: Pair<'_, Rule>) -> Build<DataSetting> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let role = match rule {
            Rule::source_s => Some(SourceRole::Main),
            Rule::validation_source_s => Some(SourceRole::Validation),
            Rule::test_source_s => Some(SourceRole::Test),
            _ => None,
        };
        if let Some(role) = role {
            next(&mut inner, "keyword")?;
            return Ok(DataSetting::Source {
                role,
                source: self.expr(next(&mut inner, "source")?)?,
                span,
            });
        }
        Ok(match rule {
            Rule::split_s if inner.clone().nth(1).map(|p| p.as_rule()) == Some(Rule::call) => {
                next(&mut inner, "keyword")?;
                let call = self.primary(next(&mut inner, "indices")?)?;
                DataSetting::SplitIndices { call, span }
            }
            Rule::split_s => {
                next(&mut inner, "keyword")?;
                let parts = inner
                    .map(|p| {
                        let pspan = self.span(&p);
                        let mut pi = p.into_inner();
                        let name = self.ident(next(&mut pi, "part")?)?;
                        let value = pi.next().map(|e| self.expr(e)).transpose()?;
                        Ok(SplitPart {
                            name,
                            value,
                            span: pspan,
                        })
                    })
                    .collect::<Build<_>>()?;
                DataSetting::Split { parts, span }
            }
            Rule::scale_s => {
                next(&mut inner, "keyword")?;
                let how = next(&mut inner, "scaling")?;
                let scale = match how.as_rule() {
                    Rule::scale_divide => {
                        let mut di = how.into_inner();
                        next(&mut di, "x")?;
                        Scale::Divide(self.expr(next(&mut di, "divisor")?)?)
                    }
                    _ => Scale::Named(self.ident(how)?),
                };
                DataSetting::Scale { scale, span }
            }
            Rule::seed_s => DataSetting::Seed(self.seed(inner, span)?),
            Rule::limit_s => {
                next(&mut inner, "keyword")?;
                let value = self.expr(next(&mut inner, "amount")?)?;
                let unit = inner.next().map(|u| self.ident(u)).transpose()?;
                DataSetting::Limit { value, unit, span }
            }
            Rule::augment_s => {
                next(&mut inner, "keyword")?;
                let transforms = inner.map(|t| self.expr(t)).collect::<Build<_>>()?;
                DataSetting::Augment { transforms, span }
            }
            _ => {
                return Err(BuildError::Internal(format!(
                    "unexpected data setting {rule:?}"
                )))
            }
        })
    }

    fn train_setting(&self, pair: Pair<'_, Rule>) -> Build<TrainSetting> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        next(&mut inner, "keyword")?;
        let kind = match rule {
            Rule::loss_s => TrainKind::Loss(self.ident(next(&mut inner, "loss")?)?),
            Rule::optimizer_s => TrainKind::Optimizer(self.expr(next(&mut inner, "optimizer")?)?),
            Rule::schedule_s => {
                next(&mut inner, "per")?;
                TrainKind::Schedule(self.ident(next(&mut inner, "unit")?)?)
            }
            Rule::batch_s => {
                let size = self.expr(next(&mut inner, "size")?)?;
                let options = inner
                    .map(|p| {
                        let ospan = self.span(&p);
                        let mut oi = p.into_inner();
                        let name = self.ident(next(&mut oi, "option")?)?;
                        let value = oi.next().map(|e| self.expr(e)).transpose()?;
                        Ok(Opt {
                            name,
                            value,
                            span: ospan,
                        })
                    })
                    .collect::<Build<_>>()?;
                TrainKind::Batch { size, options }
            }
            Rule::epochs_s => {
                let count = self.expr(next(&mut inner, "count")?)?;
                let early_stop = inner.next().map(|e| self.expr(e)).transpose()?;
                TrainKind::Epochs { count, early_stop }
            }
            Rule::clip_s => TrainKind::Clip(self.expr(next(&mut inner, "clip")?)?),
            Rule::penalty_s => {
                let penalty = self.expr(next(&mut inner, "penalty")?)?;
                TrainKind::Penalty {
                    penalty,
                    on: self.on_clause(next(&mut inner, "on")?)?,
                }
            }
            Rule::lr_mult_s => {
                let value = self.expr(next(&mut inner, "multiplier")?)?;
                TrainKind::LrMult {
                    value,
                    on: self.on_clause(next(&mut inner, "on")?)?,
                }
            }
            Rule::weight_decay_s => {
                let value = self.expr(next(&mut inner, "weight decay")?)?;
                TrainKind::WeightDecay {
                    value,
                    on: self.on_clause(next(&mut inner, "on")?)?,
                }
            }
            Rule::freeze_s => TrainKind::Freeze(self.selectors(next(&mut inner, "selectors")?)?),
            Rule::tie_s => {
                let a = self.selector(next(&mut inner, "selector")?);
                let b = self.selector(next(&mut inner, "selector")?);
                let penalty = self.expr(next(&mut inner, "penalty")?)?;
                TrainKind::Tie { a, b, penalty }
            }
            Rule::prune_s => TrainKind::Prune(self.prune(inner)?),
            Rule::adversarial_s => TrainKind::Adversarial(self.expr(next(&mut inner, "attack")?)?),
            Rule::bagging_s => {
                let members = self.expr(next(&mut inner, "members")?)?;
                let clauses = inner
                    .map(|p| {
                        let cspan = self.span(&p);
                        let rule = p.as_rule();
                        let mut ci = p.into_inner();
                        next(&mut ci, "keyword")?;
                        let value = next(&mut ci, "value")?;
                        match rule {
                            Rule::bootstrap_clause => {
                                Ok(BaggingClause::Bootstrap(self.expr(value)?, cspan))
                            }
                            _ => Ok(BaggingClause::Combine(self.ident(value)?, cspan)),
                        }
                    })
                    .collect::<Build<_>>()?;
                TrainKind::Bagging { members, clauses }
            }
            Rule::start_s => {
                next(&mut inner, "from")?;
                let from = self.string(next(&mut inner, "checkpoint")?)?;
                let mut renames = Vec::new();
                let mut filter = None;
                let mut strict = false;
                for p in inner {
                    let rspan = self.span(&p);
                    let rule = p.as_rule();
                    if rule == Rule::start_strict {
                        strict = true;
                        continue;
                    }
                    let mut ri = p.into_inner();
                    next(&mut ri, "keyword")?;
                    if rule == Rule::rename {
                        let from = self.selector(next(&mut ri, "old name")?);
                        let to = self.selector(next(&mut ri, "new name")?);
                        renames.push(Rename {
                            from,
                            to,
                            span: rspan,
                        });
                    } else {
                        filter = Some(StartFilter {
                            only: rule == Rule::start_only,
                            selectors: self.selectors(next(&mut ri, "selectors")?)?,
                            span: rspan,
                        });
                    }
                }
                TrainKind::Start {
                    from,
                    renames,
                    filter,
                    strict,
                }
            }
            Rule::seed_s => TrainKind::Seed(self.expr(next(&mut inner, "seed")?)?),
            Rule::save_s => TrainKind::Save(self.string(next(&mut inner, "path")?)?),
            Rule::precision_s => TrainKind::Precision(self.ident(next(&mut inner, "type")?)?),
            _ => {
                return Err(BuildError::Internal(format!(
                    "unexpected train setting {rule:?}"
                )))
            }
        };
        Ok(TrainSetting { kind, span })
    }

    fn prune(&self, mut inner: Pairs<'_, Rule>) -> Build<Prune> {
        let method = self.ident(next(&mut inner, "method")?)?;
        next(&mut inner, "from")?;
        let from = self.expr(next(&mut inner, "from")?)?;
        next(&mut inner, "to")?;
        let to = self.expr(next(&mut inner, "to")?)?;
        next(&mut inner, "step")?;
        let step = self.expr(next(&mut inner, "step")?)?;
        let mut clauses = Vec::new();
        for p in inner {
            let cspan = self.span(&p);
            let rule = p.as_rule();
            if rule == Rule::on_clause {
                clauses.push(PruneClause::On(self.on_clause(p)?, cspan));
                continue;
            }
            let mut ci = p.into_inner();
            next(&mut ci, "keyword")?;
            clauses.push(match rule {
                Rule::retrain_clause => {
                    PruneClause::Retrain(self.expr(next(&mut ci, "epochs")?)?, cspan)
                }
                Rule::floor_clause => {
                    let kind = self.ident(next(&mut ci, "floor kind")?)?;
                    let value = self.expr(next(&mut ci, "floor")?)?;
                    PruneClause::Floor {
                        kind,
                        value,
                        span: cspan,
                    }
                }
                Rule::scope_clause => {
                    PruneClause::Scope(self.ident(next(&mut ci, "scope")?)?, cspan)
                }
                _ => {
                    return Err(BuildError::Internal(format!(
                        "unexpected prune clause {rule:?}"
                    )))
                }
            });
        }
        Ok(Prune {
            method,
            from,
            to,
            step,
            clauses,
        })
    }

    fn on_clause(&self, pair: Pair<'_, Rule>) -> Build<Vec<Selector>> {
        let mut inner = pair.into_inner();
        next(&mut inner, "on")?;
        self.selectors(next(&mut inner, "selectors")?)
    }

    fn selectors(&self, pair: Pair<'_, Rule>) -> Build<Vec<Selector>> {
        Ok(pair.into_inner().map(|p| self.selector(p)).collect())
    }

    fn selector(&self, pair: Pair<'_, Rule>) -> Selector {
        Selector {
            pattern: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Build<Str> {
        let span = self.span(&pair);
        let raw = first(pair.into_inner(), "string content")?.as_str();
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => {}
                }
            } else {
                value.push(c);
            }
        }
        Ok(Str { value, span })
    }

    fn list(&self, pair: Pair<'_, Rule>) -> Build<Expr> {
        let span = self.span(&pair);
        let items = pair
            .into_inner()
            .map(|p| self.expr(p))
            .collect::<Build<_>>()?;
        Ok(Expr::List { items, span })
    }

    fn expr(&self, pair: Pair<'_, Rule>) -> Build<Expr> {
        let span = self.span(&pair);
        let pairs = pair.into_inner();
        if pairs.clone().count() > 2 * MAX_OPERATORS + 1 {
            return Err(BuildError::TooComplex(span));
        }
        pratt()
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = self.span(&op).to(rhs.span());
                Ok(Expr::Neg {
                    expr: Box::new(rhs),
                    span,
                })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op.as_rule() {
                    Rule::pipe => BinOp::Pipe,
                    Rule::add => BinOp::Add,
                    Rule::sub => BinOp::Sub,
                    Rule::mul => BinOp::Mul,
                    _ => BinOp::Div,
                };
                let span = lhs.span().to(rhs.span());
                Ok(Expr::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    span,
                })
            })
            .parse(pairs)
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> Build<Expr> {
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::number => {
                let text = pair.as_str().to_string();
                let value = text
                    .parse::<f64>()
                    .map_err(|e| format!("number {text}: {e}"))?;
                if !value.is_finite() {
                    return Err(BuildError::NotFinite(span));
                }
                Expr::Number { value, text, span }
            }
            Rule::string => Expr::Str(self.string(pair)?),
            Rule::boolean => Expr::Bool {
                value: pair.as_str() == "true",
                span,
            },
            Rule::ident => Expr::Name(self.ident(pair)?),
            Rule::list => self.list(pair)?,
            Rule::paren => Expr::Paren {
                expr: Box::new(self.expr(first(pair.into_inner(), "expression")?)?),
                span,
            },
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.ident(next(&mut inner, "name")?)?;
                let args = inner
                    .map(|a| {
                        let aspan = self.span(&a);
                        let parts: Vec<_> = a.into_inner().collect();
                        match parts.as_slice() {
                            [value] => Ok(Arg {
                                key: None,
                                value: self.expr(value.clone())?,
                                span: aspan,
                            }),
                            [key, value] => Ok(Arg {
                                key: Some(self.ident(key.clone())?),
                                value: self.expr(value.clone())?,
                                span: aspan,
                            }),
                            _ => Err(BuildError::Internal("malformed argument".into())),
                        }
                    })
                    .collect::<Build<_>>()?;
                Expr::Call(Call { name, args, span })
            }
            _ => return unexpected(&pair),
        })
    }
}

/// The length of `text` without trailing spaces, tabs and a trailing `#` comment on its last
/// line.
fn trimmed_len(text: &str) -> usize {
    let trimmed = trim_line(text);
    let rest = text[..trimmed].trim_end_matches(['\n', '\r']);
    if rest.len() < trimmed {
        trimmed_len(rest)
    } else {
        trimmed
    }
}

/// [`trimmed_len`] for the last line only.
fn trim_line(text: &str) -> usize {
    let line_start = text.rfind('\n').map_or(0, |i| i + 1);
    let mut in_string = false;
    let mut escaped = false;
    let mut end = text.len();
    for (i, c) in text[line_start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => {
                end = line_start + i;
                break;
            }
            _ => {}
        }
    }
    text[..end].trim_end_matches([' ', '\t']).len()
}
