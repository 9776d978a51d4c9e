//! The typed syntax tree of a `.net` file, with the byte span of every construct.
//!
//! The parser builds it from pest's pairs; everything after parsing (checking, compiling,
//! formatting, explaining) works on these types only.

use crate::span::Span;
use std::fmt;

/// A name as written, with its span.
#[derive(Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

impl Ident {
    /// A name at a span.
    pub fn new(name: impl Into<String>, span: Span) -> Self {
        Ident {
            name: name.into(),
            span,
        }
    }
}

impl fmt::Debug for Ident {
    /// `h1@3..5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:?}", self.name, self.span)
    }
}

/// A whole file: its items in order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    /// The top-level items.
    pub items: Vec<Item>,
}

/// One top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `import "other.net"`.
    Import(Import),
    /// `seed 7`.
    Seed(Seed),
    /// `let hidden = 128`.
    Let(Let),
    /// `param shared: [64, 64] = glorot_uniform`.
    Param(ParamDecl),
    /// `data digits { ... }`.
    Data(DataDecl),
    /// `model mlp(x: [64]) -> [10] { ... }`.
    Model(ModelDecl),
    /// `block residual(x, width) { ... }`.
    Block(BlockDecl),
    /// `train mlp on digits { ... }`.
    Train(TrainDecl),
}

impl Item {
    /// The item's span.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Seed(i) => i.span,
            Item::Let(i) => i.span,
            Item::Param(i) => i.span,
            Item::Data(i) => i.span,
            Item::Model(i) => i.span,
            Item::Block(i) => i.span,
            Item::Train(i) => i.span,
        }
    }
}

/// `import "path"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The path as written, relative to the importing file.
    pub path: Str,
    /// The whole item.
    pub span: Span,
}

/// `seed N`, at the top level or in a `data` or `train` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Seed {
    /// The seed.
    pub value: Expr,
    /// The whole item.
    pub span: Span,
}

/// `let name = expr`.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    /// The constant's name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
    /// The whole item.
    pub span: Span,
}

/// `param name: [dims] = initializer`: a parameter that layers use by name.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// The parameter's name.
    pub name: Ident,
    /// Its shape.
    pub shape: Expr,
    /// Its initializer.
    pub init: Expr,
    /// The whole item.
    pub span: Span,
}

/// `data name { settings }`.
#[derive(Clone, Debug, PartialEq)]
pub struct DataDecl {
    /// The dataset's name.
    pub name: Ident,
    /// Its settings in order.
    pub settings: Vec<DataSetting>,
    /// The whole item.
    pub span: Span,
}

/// One line of a `data` block.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSetting {
    /// `source csv(...)`, `validation_source ...`, `test_source ...`.
    Source {
        /// Which source.
        role: SourceRole,
        /// The source call.
        source: Expr,
        /// The whole line.
        span: Span,
    },
    /// `split train 0.8, test 0.2, stratified`.
    Split {
        /// The parts in order.
        parts: Vec<SplitPart>,
        /// The whole line.
        span: Span,
    },
    /// `split indices("split.json", train: "small")`: rows listed in a file.
    SplitIndices {
        /// The `indices(...)` call.
        call: Expr,
        /// The whole line.
        span: Span,
    },
    /// `scale x / 16`, `scale standardize`.
    Scale {
        /// How.
        scale: Scale,
        /// The whole line.
        span: Span,
    },
    /// `seed N`: the split's own seed.
    Seed(Seed),
    /// `limit 8 GiB`: the most bytes decoded from any one data file.
    Limit {
        /// The amount.
        value: Expr,
        /// Its unit (`B`, `KiB`, `MiB`, `GiB`, `TiB`), required by the checker.
        unit: Option<Ident>,
        /// The whole line.
        span: Span,
    },
    /// `augment crop(padding: 2), flip(horizontal)`: random transforms of the training
    /// images, applied in order.
    Augment {
        /// The transforms, each a call or a name (`flip`).
        transforms: Vec<Expr>,
        /// The whole line.
        span: Span,
    },
}

impl DataSetting {
    /// The setting's span.
    pub fn span(&self) -> Span {
        match self {
            DataSetting::Source { span, .. }
            | DataSetting::Split { span, .. }
            | DataSetting::SplitIndices { span, .. }
            | DataSetting::Scale { span, .. }
            | DataSetting::Limit { span, .. }
            | DataSetting::Augment { span, .. } => *span,
            DataSetting::Seed(s) => s.span,
        }
    }
}

/// The role of a data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRole {
    /// `source`: the main source, split by `split`.
    Main,
    /// `validation_source`: a separate validation file.
    Validation,
    /// `test_source`: a separate test file.
    Test,
}

impl SourceRole {
    /// The setting's keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SourceRole::Main => "source",
            SourceRole::Validation => "validation_source",
            SourceRole::Test => "test_source",
        }
    }
}

/// `train 0.8` or `stratified` in a `split` line.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitPart {
    /// `train`, `validation`, `test` or `stratified`.
    pub name: Ident,
    /// The fraction, absent for `stratified`.
    pub value: Option<Expr>,
    /// The whole part.
    pub span: Span,
}

/// How features are scaled.
#[derive(Clone, Debug, PartialEq)]
pub enum Scale {
    /// `x / expr`.
    Divide(Expr),
    /// `standardize`, `minmax` or `none`.
    Named(Ident),
}

/// `model name(input: [dims]) -> [dims] { body }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelDecl {
    /// The model's name.
    pub name: Ident,
    /// The input's name.
    pub input: Ident,
    /// The per-example input shape.
    pub input_shape: Expr,
    /// The declared per-example output shape.
    pub output_shape: Expr,
    /// The statements; the last one is the output.
    pub body: Body,
    /// The whole item.
    pub span: Span,
}

/// `block name(params) { body }`: a parameterized group of layers used like a layer.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockDecl {
    /// The block's name.
    pub name: Ident,
    /// Its parameters; the first is the input.
    pub params: Vec<BlockParam>,
    /// The statements; the last one is the output.
    pub body: Body,
    /// The whole item.
    pub span: Span,
}

/// A block parameter with an optional default.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockParam {
    /// Its name.
    pub name: Ident,
    /// Its default value.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// The statements between braces of a model, block or repeat.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    /// The statements in order.
    pub statements: Vec<Statement>,
    /// From `{` to `}`.
    pub span: Span,
}

/// One statement of a body.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `name = expr`.
    Assign(Assign),
    /// `param name: [dims] = init`.
    Param(ParamDecl),
    /// `repeat n [as i] { body }`.
    Repeat(Repeat),
}

impl Statement {
    /// The statement's span.
    pub fn span(&self) -> Span {
        match self {
            Statement::Assign(a) => a.span,
            Statement::Param(p) => p.span,
            Statement::Repeat(r) => r.span,
        }
    }
}

/// `name = expr`: a named node.
#[derive(Clone, Debug, PartialEq)]
pub struct Assign {
    /// The node's name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
    /// The whole statement.
    pub span: Span,
}

/// `repeat count [as index] { body }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Repeat {
    /// How many times.
    pub count: Expr,
    /// The name of the 0-based iteration number.
    pub index: Option<Ident>,
    /// The statements stamped each time.
    pub body: Body,
    /// The whole statement.
    pub span: Span,
}

/// `train m1[, m2] on data { settings }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainDecl {
    /// The models trained side by side.
    pub models: Vec<Ident>,
    /// The dataset.
    pub data: Ident,
    /// The settings in order.
    pub settings: Vec<TrainSetting>,
    /// The whole item.
    pub span: Span,
}

/// One line of a `train` block, with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSetting {
    /// What it says.
    pub kind: TrainKind,
    /// The whole line.
    pub span: Span,
}

/// What a `train` line says.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainKind {
    /// `loss cross_entropy`.
    Loss(Ident),
    /// `optimizer adam(lr: 1e-3)`.
    Optimizer(Expr),
    /// `schedule per epoch`.
    Schedule(Ident),
    /// `batch 64, shuffle`.
    Batch {
        /// `64`, `online` or `full`.
        size: Expr,
        /// `shuffle`, `drop_last: false`, ...
        options: Vec<Opt>,
    },
    /// `epochs 40, early_stop(patience: 5)`.
    Epochs {
        /// The number of epochs.
        count: Expr,
        /// The early-stopping call.
        early_stop: Option<Expr>,
    },
    /// `clip norm(1.0)`.
    Clip(Expr),
    /// `penalty l2(1e-4) on *.weight`.
    Penalty {
        /// `l1(..)`, `l2(..)`, `elastic(..)`.
        penalty: Expr,
        /// The parameters.
        on: Vec<Selector>,
    },
    /// `lr_mult 0.1 on h1.*`.
    LrMult {
        /// The multiplier.
        value: Expr,
        /// The parameters.
        on: Vec<Selector>,
    },
    /// `weight_decay 0 on *.bias`.
    WeightDecay {
        /// The weight decay.
        value: Expr,
        /// The parameters.
        on: Vec<Selector>,
    },
    /// `freeze h1.*`.
    Freeze(Vec<Selector>),
    /// `tie a.h1.weight ~ b.h1.weight l2(0.01)`.
    Tie {
        /// One side.
        a: Selector,
        /// The other side.
        b: Selector,
        /// `l1(..)` or `l2(..)`.
        penalty: Expr,
    },
    /// `prune magnitude from 0.2 to 0.9 step 0.1, retrain 3, floor accuracy 0.95`.
    Prune(Prune),
    /// `adversarial fgsm(eps: 0.1, mix: 0.5)`.
    Adversarial(Expr),
    /// `bagging 5, bootstrap 1.0, combine vote`.
    Bagging {
        /// Number of members.
        members: Expr,
        /// `bootstrap` and `combine` clauses.
        clauses: Vec<BaggingClause>,
    },
    /// `start from "base.safetensors", rename old -> new`.
    Start {
        /// The checkpoint.
        from: Str,
        /// Renames of checkpoint names.
        renames: Vec<Rename>,
        /// Which of the model's parameters and buffers to load (all when absent).
        filter: Option<StartFilter>,
        /// `strict`: a checkpoint tensor that matches none of the model's parameters and
        /// buffers is an error (by default, a warning listing them).
        strict: bool,
    },
    /// `seed 7`.
    Seed(Expr),
    /// `save "runs/x.safetensors"`.
    Save(Str),
    /// `precision f64`: the floating-point type the run computes and saves in.
    Precision(Ident),
}

impl TrainKind {
    /// The line's keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            TrainKind::Loss(_) => "loss",
            TrainKind::Optimizer(_) => "optimizer",
            TrainKind::Schedule(_) => "schedule",
            TrainKind::Batch { .. } => "batch",
            TrainKind::Epochs { .. } => "epochs",
            TrainKind::Clip(_) => "clip",
            TrainKind::Penalty { .. } => "penalty",
            TrainKind::LrMult { .. } => "lr_mult",
            TrainKind::WeightDecay { .. } => "weight_decay",
            TrainKind::Freeze(_) => "freeze",
            TrainKind::Tie { .. } => "tie",
            TrainKind::Prune(_) => "prune",
            TrainKind::Adversarial(_) => "adversarial",
            TrainKind::Bagging { .. } => "bagging",
            TrainKind::Start { .. } => "start",
            TrainKind::Seed(_) => "seed",
            TrainKind::Save(_) => "save",
            TrainKind::Precision(_) => "precision",
        }
    }
}

/// `name` or `name: value` after a `batch` size.
#[derive(Clone, Debug, PartialEq)]
pub struct Opt {
    /// The option's name.
    pub name: Ident,
    /// Its value; a bare name means `true`.
    pub value: Option<Expr>,
    /// The whole option.
    pub span: Span,
}

/// The `prune` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Prune {
    /// The criterion (`magnitude`).
    pub method: Ident,
    /// First sparsity.
    pub from: Expr,
    /// Last sparsity.
    pub to: Expr,
    /// Increase per round.
    pub step: Expr,
    /// The clauses after the schedule.
    pub clauses: Vec<PruneClause>,
}

/// A clause of the `prune` line.
#[derive(Clone, Debug, PartialEq)]
pub enum PruneClause {
    /// `retrain 3`: epochs of retraining per round.
    Retrain(Expr, Span),
    /// `floor accuracy 0.95` or `floor drop 0.01`.
    Floor {
        /// `accuracy` or `drop`.
        kind: Ident,
        /// The value.
        value: Expr,
        /// The whole clause.
        span: Span,
    },
    /// `scope global` or `scope layer`.
    Scope(Ident, Span),
    /// `on *.weight`.
    On(Vec<Selector>, Span),
}

impl PruneClause {
    /// The clause's span.
    pub fn span(&self) -> Span {
        match self {
            PruneClause::Retrain(_, s) | PruneClause::Scope(_, s) | PruneClause::On(_, s) => *s,
            PruneClause::Floor { span, .. } => *span,
        }
    }
}

/// A clause of the `bagging` line.
#[derive(Clone, Debug, PartialEq)]
pub enum BaggingClause {
    /// `bootstrap 1.0`.
    Bootstrap(Expr, Span),
    /// `combine vote`.
    Combine(Ident, Span),
}

/// `only SELECTORS` or `except SELECTORS` in a `start` line: the parameters and buffers to
/// load from the checkpoint, the others keeping their fresh initialization (a new head).
#[derive(Clone, Debug, PartialEq)]
pub struct StartFilter {
    /// Whether the selectors name what is loaded (`only`) or what is not (`except`).
    pub only: bool,
    /// The selectors.
    pub selectors: Vec<Selector>,
    /// The whole clause.
    pub span: Span,
}

/// `rename old -> new` in a `start` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Rename {
    /// The name prefix in the checkpoint.
    pub from: Selector,
    /// The name prefix in this program.
    pub to: Selector,
    /// The whole clause.
    pub span: Span,
}

/// A parameter name pattern: `*.weight`, `h1.*`, `a.h1.weight`.
#[derive(Clone, PartialEq)]
pub struct Selector {
    /// The pattern (`*` any characters, `?` one character).
    pub pattern: String,
    /// Where it is written.
    pub span: Span,
}

impl fmt::Debug for Selector {
    /// `*.weight@3..11`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:?}", self.pattern, self.span)
    }
}

/// A string literal.
#[derive(Clone, PartialEq)]
pub struct Str {
    /// Its value, escapes resolved.
    pub value: String,
    /// Where it is written, quotes included.
    pub span: Span,
}

impl fmt::Debug for Str {
    /// `"text"@3..9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}{:?}", self.value, self.span)
    }
}

/// An expression: numbers, names, calls, lists, arithmetic and chains.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number, with its text as written (kept by the formatter).
    Number {
        /// The value.
        value: f64,
        /// The text.
        text: String,
        /// Where.
        span: Span,
    },
    /// A string.
    Str(Str),
    /// `true` or `false`.
    Bool {
        /// The value.
        value: bool,
        /// Where.
        span: Span,
    },
    /// A name: a constant, node, parameter, block, layer or keyword value.
    Name(Ident),
    /// `name(args)`.
    Call(Call),
    /// `[a, b, c]`.
    List {
        /// The elements.
        items: Vec<Expr>,
        /// Where, brackets included.
        span: Span,
    },
    /// `-expr`.
    Neg {
        /// The operand.
        expr: Box<Expr>,
        /// Where.
        span: Span,
    },
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// Where.
        span: Span,
    },
    /// `(expr)`, kept so the formatter writes the parentheses the author wrote.
    Paren {
        /// The inner expression.
        expr: Box<Expr>,
        /// Where, parentheses included.
        span: Span,
    },
}

impl Expr {
    /// The expression's span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number { span, .. }
            | Expr::Bool { span, .. }
            | Expr::List { span, .. }
            | Expr::Neg { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Paren { span, .. } => *span,
            Expr::Str(s) => s.span,
            Expr::Name(i) => i.span,
            Expr::Call(c) => c.span,
        }
    }

    /// The expression without enclosing parentheses.
    pub fn unparen(&self) -> &Expr {
        match self {
            Expr::Paren { expr, .. } => expr.unparen(),
            other => other,
        }
    }
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `|>`: apply the layer on the right to the value on the left.
    Pipe,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Pipe => "|>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Pipe => 1,
            BinOp::Add | BinOp::Sub => 2,
            BinOp::Mul | BinOp::Div => 3,
        }
    }
}

/// `name(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function, layer, block or initializer.
    pub name: Ident,
    /// The arguments in order.
    pub args: Vec<Arg>,
    /// Where, from the name to `)`.
    pub span: Span,
}

/// One argument: positional (`128`) or named (`init: he_normal`).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The key, for a named argument.
    pub key: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// Where, key included.
    pub span: Span,
}
