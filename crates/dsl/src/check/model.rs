//! Lowering a model's body into the knit-tensor graph: named nodes, chains, arithmetic,
//! blocks, repeats and parameters. Every node keeps where it was written, so that a shape
//! the graph rejects is reported on the layer being applied and on the layers feeding it.

use super::consts::{num_text, Const, Lookup, Scope};
use super::defs::{number_names, Defs};
use super::init::initializer;
use super::values::Ev;
use crate::ast::*;
use crate::builtins::{self, CONCAT, LAYERS};
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::source::FileId;
use crate::span::Span;
use crate::suggest::{did_you_mean, help_for};
use knit_tensor::{Graph, NodeId, Shape, TensorError};
use knit_train::ScheduleSpec;
use std::collections::HashMap;
use std::rc::Rc;

mod block;

/// The most elements one parameter may have (64 MiB of `f32`).
pub(crate) const MAX_PARAM_ELEMENTS: usize = 1 << 24;
/// The most parameter elements one program may have.
pub(crate) const MAX_TOTAL_ELEMENTS: usize = 1 << 25;
/// How deeply blocks may use blocks.
const MAX_BLOCK_DEPTH: usize = 16;
/// The most iterations of one `repeat`.
pub(crate) const MAX_REPEAT: usize = 1000;
/// The most graph nodes a program may build (nested repeats multiply).
const MAX_NODES: usize = 100_000;

/// Where a value was computed, for diagnostics.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    /// The file.
    pub file: FileId,
    /// The layer or expression.
    pub span: Span,
    /// What it is, e.g. "dense `h1`".
    pub what: String,
}

/// A node of the graph with its origin.
#[derive(Clone, Debug)]
pub(crate) struct T {
    /// The node.
    pub id: NodeId,
    /// Where it comes from.
    pub origin: Rc<Origin>,
}

/// A value bound to a name in a body.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    /// A node.
    Tensor(T),
    /// A block argument or repeat index.
    Const(Const),
    /// A node whose statement failed (already reported): uses of it report nothing more.
    Failed,
}

/// One row of a model's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// The node (statement) the layer belongs to.
    pub node: String,
    /// The layer, e.g. `dense 64→128`.
    pub layer: String,
    /// Its output shape.
    pub shape: Shape,
    /// Parameter elements it created.
    pub params: usize,
    /// Its forward FLOPs per example: multiply-adds ×2 of its products (`2·in·out` for
    /// dense, `2·out·OH·OW·(C/g)·kh·kw` for conv2d, both products at every step for a
    /// recurrent layer); 0 for element-wise layers (activations, pooling, batch norm).
    pub flops: u64,
}

/// What lowering a model produced besides its nodes.
#[derive(Default)]
pub(crate) struct Built {
    /// Summary rows.
    pub layers: Vec<LayerRow>,
    /// Graph nodes already counted in a row's FLOPs: a row counts the nodes after them.
    pub counted_nodes: usize,
    /// Dropout ratio schedules by constant name.
    pub value_schedules: Vec<(String, ScheduleSpec)>,
    /// The weights `prune` selects by default: those of dense, recurrent and convolutional
    /// layers (not biases, not batch norm).
    pub prunable_weights: Vec<String>,
    /// How each parameter was initialized (for re-initialization with another seed).
    pub inits: Vec<knit_train::ParamInit>,
}

/// A scope of names: a model body or a block instance.
#[derive(Clone, Default)]
struct Frame {
    file: FileId,
    /// Its names; shared with [`FrameScope`]s, so that taking a scope costs no copy.
    vars: Rc<HashMap<String, (Val, Span)>>,
    /// Prefix of node names made here: "", "a.", "a.r1.".
    path: String,
    /// Suffix from enclosing repeats: "", ".0", ".2.1".
    suffix: String,
    repeat_depth: usize,
    /// `param` statements of this body.
    params: Rc<HashMap<String, (FileId, ParamDecl)>>,
}

/// Naming of layers within one statement (see the language reference).
#[derive(Clone, Default)]
pub(crate) struct Naming {
    base: String,
    first_taken: bool,
    counts: HashMap<&'static str, usize>,
}

impl Naming {
    fn new(base: String) -> Self {
        Naming {
            base,
            ..Naming::default()
        }
    }

    /// The name of the next layer of `kind`: the first layer with parameters takes the
    /// statement's name, others are `<statement>.<kind>` and `<statement>.<kind>2`...
    pub(crate) fn take(&mut self, kind: &'static str, owns_params: bool) -> String {
        let count = self.counts.entry(kind).or_insert(0);
        *count += 1;
        if owns_params && !self.first_taken {
            self.first_taken = true;
            return self.base.clone();
        }
        if *count == 1 {
            format!("{}.{kind}", self.base)
        } else {
            format!("{}.{kind}{count}", self.base)
        }
    }

    /// The statement's name.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }
}

/// Lowers models into one graph.
pub(crate) struct Lowering<'d, 'a> {
    pub(crate) defs: &'d Defs<'a>,
    pub(crate) graph: Graph,
    pub(crate) seed: u64,
    pub(crate) sink: Sink,
    pub(crate) built: Built,
    /// Parameters created so far, by full name.
    pub(crate) param_nodes: HashMap<String, T>,
    /// Uses of each parameter by a layer that does not own it.
    pub(crate) uses: Vec<(String, String)>,
    pub(crate) total_elements: usize,
    frames: Vec<Frame>,
    blocks: Vec<String>,
    pub(crate) naming: Naming,
    too_many_nodes: bool,
}

/// The scope of the current frame, owned so that evaluation does not borrow the lowering;
/// it shares the frame's maps, so taking one is O(1) whatever the number of statements.
pub(crate) struct FrameScope<'d, 'a> {
    vars: Option<Rc<HashMap<String, (Val, Span)>>>,
    params: Option<Rc<HashMap<String, (FileId, ParamDecl)>>>,
    defs: &'d Defs<'a>,
}

impl Scope for FrameScope<'_, '_> {
    fn lookup(&self, name: &str) -> Lookup {
        match self.vars.as_ref().and_then(|v| v.get(name)) {
            Some((Val::Const(c), _)) => return Lookup::Const(c.clone()),
            Some((Val::Tensor(_) | Val::Failed, _)) => return Lookup::Tensor,
            None => {}
        }
        let local = self.params.as_ref().is_some_and(|p| p.contains_key(name));
        if local || self.defs.params.contains_key(name) {
            return Lookup::Param;
        }
        if self.defs.failed_lets.contains(name) {
            return Lookup::Failed;
        }
        self.defs
            .lets
            .get(name)
            .cloned()
            .map_or(Lookup::Unknown, Lookup::Const)
    }

    fn const_names(&self) -> Vec<String> {
        let mut names = number_names(&self.defs.lets);
        let mut own: Vec<String> = self
            .vars
            .iter()
            .flat_map(|v| v.iter())
            .filter(|(_, (val, _))| matches!(val, Val::Const(Const::Num(_))))
            .map(|(n, _)| n.clone())
            .collect();
        own.sort();
        names.extend(own);
        names
    }
}

impl<'d, 'a> Lowering<'d, 'a> {
    /// A lowering into a new graph; `seed` initializes every parameter.
    pub(crate) fn new(defs: &'d Defs<'a>, seed: u64) -> Self {
        Lowering {
            defs,
            graph: Graph::new(),
            seed,
            sink: Sink::default(),
            built: Built::default(),
            param_nodes: HashMap::new(),
            uses: Vec::new(),
            total_elements: 0,
            frames: Vec::new(),
            blocks: Vec::new(),
            naming: Naming::default(),
            too_many_nodes: false,
        }
    }

    pub(crate) fn file(&self) -> FileId {
        self.frames.last().map_or(FileId(0), |f| f.file)
    }

    pub(crate) fn scope(&self) -> FrameScope<'d, 'a> {
        let frame = self.frames.last();
        FrameScope {
            vars: frame.map(|f| Rc::clone(&f.vars)),
            params: frame.map(|f| Rc::clone(&f.params)),
            defs: self.defs,
        }
    }

    /// `id`, a node made without a name, named after its statement (`h2.sum`), so that an
    /// error at run time names something the program shows.
    pub(crate) fn named(&mut self, id: NodeId, kind: &'static str) -> NodeId {
        let name = self.naming.take(kind, false);
        // A clash leaves the generated name: only messages are worse for it.
        let _ = self.graph.rename(id, &name);
        id
    }

    pub(crate) fn err(&mut self, d: Diagnostic) -> Option<T> {
        self.sink.push(d);
        None
    }

    /// The shape of a node.
    pub(crate) fn shape(&self, t: &T) -> Shape {
        self.graph
            .node(t.id)
            .map(|n| n.shape.clone())
            .unwrap_or_else(|_| Shape::scalar())
    }

    /// Lowers model `m`, naming its nodes with `prefix` ("" or "a."). Returns its input and
    /// output nodes.
    pub(crate) fn model(
        &mut self,
        file: FileId,
        m: &'a ModelDecl,
        prefix: &str,
    ) -> Option<(NodeId, T, Shape)> {
        let top = super::defs::TopScope { defs: self.defs };
        let ev = Ev::new(&top, file);
        let input_dims = ev.int_list(&mut self.sink, &m.input_shape, 1, MAX_PARAM_ELEMENTS);
        let output_dims = ev.int_list(&mut self.sink, &m.output_shape, 1, MAX_PARAM_ELEMENTS);
        let input_dims = input_dims?;
        let input_name = format!("{prefix}{}", m.input.name);
        let input = match self.graph.input(&input_name, &input_dims) {
            Ok(id) => id,
            Err(e) => {
                self.sink
                    .push(Diagnostic::error(Code::DuplicateName, e.to_string()).label(
                        file,
                        m.input.span,
                        "here",
                    ));
                return None;
            }
        };
        let origin = Rc::new(Origin {
            file,
            span: m.input.span.to(m.input_shape.span()),
            what: format!("the input `{}`", m.input.name),
        });
        let mut frame = Frame {
            file,
            path: prefix.to_string(),
            ..Frame::default()
        };
        Rc::make_mut(&mut frame.vars).insert(
            m.input.name.clone(),
            (Val::Tensor(T { id: input, origin }), m.input.span),
        );
        self.frames.push(frame);
        let out = self.body(&m.body);
        self.frames.pop();
        let Some(out) = out else {
            if m.body.statements.is_empty() {
                self.sink.push(
                    Diagnostic::error(
                        Code::Missing,
                        format!("model `{}` has no statements", m.name.name),
                    )
                    .label(file, m.body.span, "empty body")
                    .help("write at least one node, e.g. `out = x |> dense(10)`"),
                );
            }
            return None;
        };
        let output_dims = output_dims?;
        let shape = self.shape(&out);
        let declared = Shape::batched(output_dims);
        if shape != declared {
            self.sink.push(
                Diagnostic::error(
                    Code::OutputShape,
                    format!(
                        "model `{}` declares the output {declared} but computes {shape}",
                        m.name.name
                    ),
                )
                .label(
                    out.origin.file,
                    out.origin.span,
                    format!("{} gives {shape}", out.origin.what),
                )
                .label(file, m.output_shape.span(), format!("declared {declared}"))
                .help("make the last node produce the declared shape, or change the declaration"),
            );
            return None;
        }
        Some((input, out, declared))
    }

    /// Lowers a body; returns the value of its last statement.
    fn body(&mut self, body: &'a Body) -> Option<T> {
        let mut last = None;
        let mut failed = false;
        for s in &body.statements {
            match s {
                Statement::Assign(a) => match self.assign(a) {
                    Some(t) => last = Some(t),
                    None => failed = true,
                },
                Statement::Param(p) => self.declare_param(p),
                Statement::Repeat(r) => match self.repeat(r) {
                    Some(t) => last = Some(t),
                    None => failed = true,
                },
            }
        }
        if failed {
            None
        } else {
            last
        }
    }

    fn declare_param(&mut self, p: &'a ParamDecl) {
        let file = self.file();
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if let Some((pf, prev)) = frame.params.get(&p.name.name) {
            let d = Diagnostic::error(
                Code::DuplicateName,
                format!("parameter `{}` is declared twice", p.name.name),
            )
            .label(file, p.name.span, "declared again here")
            .label(*pf, prev.name.span, "first declared here");
            self.sink.push(d);
            return;
        }
        Rc::make_mut(&mut frame.params).insert(p.name.name.clone(), (file, p.clone()));
    }

    fn bind_name(&mut self, name: &Ident, val: Val) {
        if let Some(frame) = self.frames.last_mut() {
            Rc::make_mut(&mut frame.vars).insert(name.name.clone(), (val, name.span));
        }
    }

    fn assign(&mut self, a: &'a Assign) -> Option<T> {
        let file = self.file();
        if self.graph.len() > MAX_NODES {
            if !self.too_many_nodes {
                self.too_many_nodes = true;
                self.sink.push(
                    Diagnostic::error(
                        Code::TooComplex,
                        format!("the model has more than {MAX_NODES} nodes"),
                    )
                    .label(file, a.span, "reached here")
                    .help("nested `repeat`s multiply: use fewer rounds"),
                );
            }
            return None;
        }
        let frame = self.frames.last()?;
        if let (Some((_, prev)), 0) = (frame.vars.get(&a.name.name), frame.repeat_depth) {
            let d = Diagnostic::error(
                Code::DuplicateName,
                format!("`{}` is defined twice", a.name.name),
            )
            .label(file, a.name.span, "defined again here")
            .label(file, *prev, "first defined here")
            .help("give each node its own name (a `repeat` body may redefine a name)");
            return self.err(d);
        }
        let (path, suffix) = (frame.path.clone(), frame.suffix.clone());
        let saved = std::mem::replace(
            &mut self.naming,
            Naming::new(format!("{path}{}{suffix}", a.name.name)),
        );
        let t = self.tensor(&a.value);
        self.naming = saved;
        match t {
            Some(t) => {
                self.bind_name(&a.name, Val::Tensor(t.clone()));
                Some(t)
            }
            None => {
                self.bind_name(&a.name, Val::Failed);
                None
            }
        }
    }

    fn repeat(&mut self, r: &'a Repeat) -> Option<T> {
        let file = self.file();
        let count = {
            let scope = self.scope();
            Ev::new(&scope, file).integer(&mut self.sink, &r.count, 1, MAX_REPEAT)?
        };
        let mut last = None;
        for k in 0..count {
            let frame = self.frames.last_mut()?;
            frame.repeat_depth += 1;
            frame.suffix.push_str(&format!(".{k}"));
            if let Some(i) = &r.index {
                Rc::make_mut(&mut frame.vars)
                    .insert(i.name.clone(), (Val::Const(Const::Num(k as f64)), i.span));
            }
            let out = self.body(&r.body);
            let frame = self.frames.last_mut()?;
            frame.repeat_depth -= 1;
            let keep = frame.suffix.rfind('.').unwrap_or(0);
            frame.suffix.truncate(keep);
            if let Some(i) = &r.index {
                Rc::make_mut(&mut frame.vars).remove(&i.name);
            }
            last = Some(out?);
        }
        last
    }

    /// Evaluates a tensor expression.
    pub(crate) fn tensor(&mut self, e: &'a Expr) -> Option<T> {
        let file = self.file();
        match e {
            Expr::Paren { expr, .. } => self.tensor(expr),
            Expr::Name(id) => self.tensor_name(id),
            Expr::Binary {
                op: BinOp::Pipe,
                lhs,
                rhs,
                ..
            } => {
                let x = self.tensor(lhs)?;
                self.apply(rhs, Some(x))
            }
            Expr::Binary { op, lhs, rhs, span } => self.arithmetic(*op, lhs, rhs, *span),
            Expr::Call(_) => self.apply(e, None),
            Expr::Neg { expr, span } => {
                let x = self.tensor(expr)?;
                let id = self.graph.neg(x.id).ok()?;
                let id = self.named(id, "negation");
                Some(T {
                    id,
                    origin: Rc::new(Origin {
                        file,
                        span: *span,
                        what: "the negation".into(),
                    }),
                })
            }
            other => {
                let scope = self.scope();
                let found = Ev::new(&scope, file)
                    .value(&mut Sink::default(), other)
                    .map(|c| c.describe());
                self.err(
                    Diagnostic::error(Code::Type, format!("expected a node of the model, found {}", found.unwrap_or_else(|| "a value".into())))
                        .label(file, other.span(), "not a tensor")
                        .help("a node is the model's input, a named node, or a chain such as `x |> dense(10)`"),
                )
            }
        }
    }

    pub(crate) fn tensor_name(&mut self, id: &'a Ident) -> Option<T> {
        let file = self.file();
        if let Some((val, _)) = self.frames.last().and_then(|f| f.vars.get(&id.name)) {
            return match val.clone() {
                Val::Tensor(t) => Some(t),
                Val::Failed => None,
                Val::Const(c) => self.err(
                    Diagnostic::error(
                        Code::Type,
                        format!("`{}` is {}, not a node", id.name, c.describe()),
                    )
                    .label(file, id.span, "expected a node"),
                ),
            };
        }
        if let Some(t) = self.param_ref(id) {
            return Some(t);
        }
        if self.sink.has_errors() && self.param_declared(&id.name) {
            return None;
        }
        let candidates: Vec<String> = self
            .frames
            .last()
            .map(|f| {
                f.vars
                    .iter()
                    .filter(|(_, (v, _))| matches!(v, Val::Tensor(_)))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        let help = if LAYERS.iter().any(|s| s.name == id.name)
            || self.defs.blocks.contains_key(&id.name)
        {
            Some(format!(
                "`{}` is a layer: apply it with `|> {}`",
                id.name, id.name
            ))
        } else {
            did_you_mean(&id.name, candidates.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
        };
        let what = match self.defs.lets.get(&id.name) {
            Some(c) => format!("`{}` is {}, not a node", id.name, c.describe()),
            None => format!("unknown node `{}`", id.name),
        };
        self.err(
            Diagnostic::error(Code::UnknownName, what)
                .label(file, id.span, "not defined before this point")
                .maybe_help(help),
        )
    }

    /// Whether the current body declares a parameter `name`.
    pub(crate) fn frames_have_param(&self, name: &str) -> bool {
        self.frames
            .last()
            .is_some_and(|f| f.params.contains_key(name))
    }

    fn param_declared(&self, name: &str) -> bool {
        self.defs.params.contains_key(name)
            || self
                .frames
                .last()
                .is_some_and(|f| f.params.contains_key(name))
    }

    /// The parameter node named by `id` (a `param` of this body or of the top level),
    /// created on first use.
    pub(crate) fn param_ref(&mut self, id: &Ident) -> Option<T> {
        let frame_param = self.frames.last().and_then(|f| {
            f.params.get(&id.name).map(|(file, d)| {
                (
                    format!("{}{}{}", f.path, id.name, f.suffix),
                    *file,
                    d.clone(),
                )
            })
        });
        let (full, file, decl) = match frame_param {
            Some(p) => p,
            None => {
                let (file, decl) = self.defs.params.get(&id.name)?;
                (id.name.clone(), *file, (*decl).clone())
            }
        };
        if let Some(t) = self.param_nodes.get(&full) {
            return Some(t.clone());
        }
        let top = super::defs::TopScope { defs: self.defs };
        let ev = Ev::new(&top, file);
        let dims = ev.int_list(&mut self.sink, &decl.shape, 1, MAX_PARAM_ELEMENTS);
        let init = initializer(&ev, &mut self.sink, &decl.init);
        let (dims, init) = (dims?, init?);
        let value = self.initialize(&*init, &dims, &full, file, decl.span)?;
        self.built.inits.push(knit_train::ParamInit {
            name: full.clone(),
            init: init.into(),
            dims,
            fans: None,
        });
        let node = match self.graph.param(&full, value) {
            Ok(n) => n,
            Err(e) => {
                return self.err(Diagnostic::error(Code::DuplicateName, e.to_string()).label(
                    file,
                    decl.name.span,
                    "here",
                ))
            }
        };
        let t = T {
            id: node,
            origin: Rc::new(Origin {
                file,
                span: decl.span,
                what: format!("parameter `{full}`"),
            }),
        };
        self.param_nodes.insert(full, t.clone());
        Some(t)
    }

    /// Initializes a parameter, enforcing the size limits.
    pub(crate) fn initialize(
        &mut self,
        init: &dyn knit_init::Initializer,
        dims: &[usize],
        name: &str,
        file: FileId,
        span: Span,
    ) -> Option<ndarray::ArrayD<f32>> {
        self.initialize_with_fans(init, dims, None, name, file, span)
    }

    /// [`initialize`](Self::initialize) with the given fans instead of the shape's own
    /// (a recurrent layer's U(±1/√hidden)).
    pub(crate) fn initialize_with_fans(
        &mut self,
        init: &dyn knit_init::Initializer,
        dims: &[usize],
        fans: Option<knit_init::Fans>,
        name: &str,
        file: FileId,
        span: Span,
    ) -> Option<ndarray::ArrayD<f32>> {
        let elements = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        if elements > MAX_PARAM_ELEMENTS
            || self.total_elements.saturating_add(elements) > MAX_TOTAL_ELEMENTS
        {
            self.sink.push(
                Diagnostic::error(Code::TooComplex, format!("parameter `{name}` {dims:?} makes the model too large for knit"))
                    .label(file, span, format!("{elements} elements"))
                    .help(format!("a parameter may have at most {MAX_PARAM_ELEMENTS} elements, a program {MAX_TOTAL_ELEMENTS}")),
            );
            return None;
        }
        self.total_elements += elements;
        let drawn = match fans {
            Some(fans) => knit_init::initialize_with_fans(init, dims, fans, self.seed, name),
            None => knit_init::initialize(init, dims, self.seed, name),
        };
        match drawn {
            Ok(v) => Some(v),
            Err(e) => {
                self.sink.push(
                    Diagnostic::error(Code::BadValue, format!("cannot initialize `{name}`: {e}"))
                        .label(file, span, "here"),
                );
                None
            }
        }
    }

    fn arithmetic(&mut self, op: BinOp, lhs: &'a Expr, rhs: &'a Expr, span: Span) -> Option<T> {
        let file = self.file();
        let scope = self.scope();
        let as_number = |e: &Expr| -> Option<f64> {
            match Ev::new(&scope, file).value(&mut Sink::default(), e) {
                Some(Const::Num(n)) => Some(n),
                _ => None,
            }
        };
        let (ln, rn) = (as_number(lhs), as_number(rhs));
        let what = format!("`{}`", op.symbol());
        let origin = |what: String| Rc::new(Origin { file, span, what });
        match (ln, rn, op) {
            (None, Some(c), BinOp::Mul) | (Some(c), None, BinOp::Mul) => {
                let x = self.tensor(if ln.is_none() { lhs } else { rhs })?;
                let id = self.graph.scale(x.id, c).ok()?;
                let id = self.named(id, "scale");
                Some(T { id, origin: origin(format!("`* {}`", num_text(c))) })
            }
            (None, Some(c), BinOp::Div) if c != 0.0 => {
                let x = self.tensor(lhs)?;
                let id = self.graph.scale(x.id, 1.0 / c).ok()?;
                let id = self.named(id, "scale");
                Some(T { id, origin: origin(format!("`/ {}`", num_text(c))) })
            }
            (None, None, _) => {
                let a = self.tensor(lhs);
                let b = self.tensor(rhs);
                let (a, b) = (a?, b?);
                let r = match op {
                    BinOp::Add => self.graph.add(a.id, b.id),
                    BinOp::Sub => self.graph.sub(a.id, b.id),
                    BinOp::Mul => self.graph.mul(a.id, b.id),
                    _ => self.graph.div(a.id, b.id),
                };
                match r.map(|id| self.named(id, op_name(op))) {
                    Ok(id) => Some(T { id, origin: origin(format!("the {} of {} and {}", op_name(op), a.origin.what, b.origin.what)) }),
                    Err(e) => self.tensor_error(e, &what, span, &[&a, &b]),
                }
            }
            _ => self.err(
                Diagnostic::error(Code::Type, format!("cannot apply {what} to a node and a number"))
                    .label(file, span, "here")
                    .help("nodes can be added, subtracted, multiplied and divided elementwise; a node can be multiplied or divided by a number"),
            ),
        }
    }

    /// A graph error while adding `what` at `span` with inputs `inputs`, as a diagnostic
    /// naming the layer and the layers that produced its inputs, with their shapes.
    pub(crate) fn tensor_error(
        &mut self,
        e: TensorError,
        what: &str,
        span: Span,
        inputs: &[&T],
    ) -> Option<T> {
        let file = self.file();
        let d = match e {
            TensorError::Shape { reason, .. } => {
                let shapes: Vec<String> =
                    inputs.iter().map(|t| self.shape(t).to_string()).collect();
                let mut d = Diagnostic::error(
                    Code::ShapeMismatch,
                    format!("shape mismatch in {what}: {reason}"),
                )
                .label(file, span, format!("{what} gets {}", shapes.join(" and ")));
                let mut seen = vec![(file, span.start, span.end)];
                for (t, s) in inputs.iter().zip(&shapes) {
                    let key = (t.origin.file, t.origin.span.start, t.origin.span.end);
                    if !seen.contains(&key) {
                        d = d.label(
                            t.origin.file,
                            t.origin.span,
                            format!("{} gives {s}", t.origin.what),
                        );
                        seen.push(key);
                    }
                }
                d
            }
            TensorError::DuplicateName { name } => {
                Diagnostic::error(Code::DuplicateName, format!("two nodes are named `{name}`"))
                    .label(file, span, "this layer's name is taken")
                    .help("rename the statement this layer belongs to")
            }
            TensorError::InvalidHyperparameter { op, message } => {
                Diagnostic::error(Code::BadValue, format!("{op}: {message}"))
                    .label(file, span, "invalid")
            }
            other => {
                Diagnostic::error(Code::ShapeMismatch, other.to_string()).label(file, span, "here")
            }
        };
        self.err(d)
    }

    /// Applies a layer expression (`dense(10)`, `relu`, a block) to `input`; with no input
    /// (a direct call `dense(x, 10)`), the first argument is the input.
    fn apply(&mut self, layer: &'a Expr, input: Option<T>) -> Option<T> {
        let file = self.file();
        let (ident, call) = match layer.unparen() {
            Expr::Name(id) => (id, None),
            Expr::Call(c) => (&c.name, Some(c)),
            other => {
                return self.err(
                    Diagnostic::error(Code::Type, "expected a layer after `|>`")
                        .label(file, other.span(), "not a layer")
                        .help("a layer is a name such as `relu` or a call such as `dense(64)`; to combine nodes use + or concat(...)"),
                )
            }
        };
        let name = Ev::new(&self.scope(), file)
            .name_of(&ident.name)
            .unwrap_or_else(|| ident.name.clone());
        let (input, skip) = match input {
            Some(x) => (x, 0),
            None => {
                let Some(first) = call
                    .and_then(|c| c.args.first())
                    .filter(|a| a.key.is_none())
                else {
                    return self.err(
                        Diagnostic::error(Code::Missing, format!("`{name}` has no input"))
                            .label(file, layer.span(), "apply it to a node")
                            .help(format!("write `x |> {name}(...)` or `{name}(x, ...)`")),
                    );
                };
                (self.tensor(&first.value)?, 1)
            }
        };
        if name == CONCAT {
            return self.concat(input, call, skip, layer.span());
        }
        if let Some(sig) = builtins::find(LAYERS, &name) {
            return self.builtin(sig, call, skip, input, layer.span());
        }
        if let Some((bfile, block)) = self.defs.blocks.get(&name).copied() {
            return self.block(bfile, block, call, skip, input, layer.span());
        }
        let is_node = self
            .frames
            .last()
            .is_some_and(|f| f.vars.contains_key(&ident.name));
        let mut known: Vec<&str> = LAYERS.iter().map(|s| s.name).collect();
        known.push(CONCAT);
        known.extend(self.defs.blocks.keys().map(String::as_str));
        let help = if is_node {
            format!(
                "`{}` is a node; combine nodes with `+` or `concat(a, b)`",
                ident.name
            )
        } else {
            help_for(&name, known.iter().copied(), "layers")
        };
        self.err(
            Diagnostic::error(Code::UnknownName, format!("unknown layer `{name}`"))
                .label(file, ident.span, "not a layer or block")
                .help(help),
        )
    }
}

fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "sum",
        BinOp::Sub => "difference",
        BinOp::Mul => "product",
        _ => "quotient",
    }
}
