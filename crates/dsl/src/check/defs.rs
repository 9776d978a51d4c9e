//! The top-level definitions of a program and its imports, in one namespace.

use super::consts::{self, Const, Lookup, Scope};
use crate::ast::*;
use crate::builtins;
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::loader::Module;
use crate::source::FileId;
use crate::span::Span;
use std::collections::{HashMap, HashSet};

/// A definition and the file it is in.
pub(crate) type In<'a, T> = (FileId, &'a T);

/// Everything defined at the top level of the program and its imports.
#[derive(Default)]
pub(crate) struct Defs<'a> {
    /// Constants with their values.
    pub lets: HashMap<String, Const>,
    /// Constants whose value could not be computed (reported once, where defined).
    pub failed_lets: HashSet<String>,
    /// Shared parameters.
    pub params: HashMap<String, In<'a, ParamDecl>>,
    /// Blocks.
    pub blocks: HashMap<String, In<'a, BlockDecl>>,
    /// Models in order.
    pub models: Vec<In<'a, ModelDecl>>,
    /// Datasets in order.
    pub datas: Vec<In<'a, DataDecl>>,
    /// The train block of the main file.
    pub train: Option<In<'a, TrainDecl>>,
    /// The seed of the main file.
    pub seed: Option<In<'a, Seed>>,
    /// Every top-level name: where it is defined and what it is.
    pub names: HashMap<String, (FileId, Span, &'static str)>,
}

/// Names of built-ins, which definitions may not take.
fn is_builtin(name: &str) -> bool {
    let tables = [
        builtins::LAYERS,
        builtins::INITS,
        builtins::SCHEDULES,
        builtins::OPTIMIZERS,
        builtins::SOURCES,
        builtins::PENALTIES,
        builtins::CLIPS,
        builtins::ATTACKS,
    ];
    name == builtins::CONCAT || tables.iter().any(|t| t.iter().any(|s| s.name == name))
}

impl<'a> Defs<'a> {
    /// Collects the definitions of all modules (imports first, the main file last).
    pub(crate) fn collect(modules: &'a [Module], main: FileId, sink: &mut Sink) -> Defs<'a> {
        let mut defs = Defs::default();
        for m in modules {
            for item in &m.program.items {
                defs.add(m.file, item, m.file == main, sink);
            }
        }
        defs
    }

    fn define(&mut self, file: FileId, name: &Ident, kind: &'static str, sink: &mut Sink) -> bool {
        if is_builtin(&name.name) {
            sink.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    format!("`{}` is the name of a built-in", name.name),
                )
                .label(
                    file,
                    name.span,
                    format!("this {kind} would hide the built-in"),
                )
                .help("choose another name"),
            );
            return false;
        }
        if let Some((pfile, pspan, pkind)) = self.names.get(&name.name) {
            sink.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    format!("`{}` is defined twice", name.name),
                )
                .label(file, name.span, format!("this {kind} reuses the name"))
                .label(*pfile, *pspan, format!("the {pkind} defined first")),
            );
            return false;
        }
        self.names
            .insert(name.name.clone(), (file, name.span, kind));
        true
    }

    fn add(&mut self, file: FileId, item: &'a Item, is_main: bool, sink: &mut Sink) {
        match item {
            Item::Import(_) => {}
            Item::Seed(_) | Item::Train(_) if !is_main => {
                sink.push(
                    Diagnostic::error(
                        Code::ImportedItem,
                        "an imported file may not contain a `seed` or `train` item",
                    )
                    .label(file, item.span(), "only the main file may have this")
                    .help("imported files hold definitions: let, param, block, model and data"),
                );
            }
            Item::Seed(s) => {
                if let Some((pf, prev)) = self.seed {
                    sink.push(
                        Diagnostic::error(Code::Duplicate, "`seed` is given twice")
                            .label(file, s.span, "given again here")
                            .label(pf, prev.span, "first given here"),
                    );
                } else {
                    self.seed = Some((file, s));
                }
            }
            Item::Let(l) => {
                if self.define(file, &l.name, "constant", sink) {
                    let scope = LetScope {
                        lets: &self.lets,
                        failed: &self.failed_lets,
                    };
                    match consts::eval(&scope, sink, file, &l.value) {
                        Some(v) => {
                            self.lets.insert(l.name.name.clone(), v);
                        }
                        None => {
                            self.failed_lets.insert(l.name.name.clone());
                        }
                    }
                }
            }
            Item::Param(p) => {
                if self.define(file, &p.name, "parameter", sink) {
                    self.params.insert(p.name.name.clone(), (file, p));
                }
            }
            Item::Block(b) => {
                if self.define(file, &b.name, "block", sink) {
                    self.blocks.insert(b.name.name.clone(), (file, b));
                }
            }
            Item::Model(m) => {
                if self.define(file, &m.name, "model", sink) {
                    self.models.push((file, m));
                }
            }
            Item::Data(d) => {
                if self.define(file, &d.name, "dataset", sink) {
                    self.datas.push((file, d));
                }
            }
            Item::Train(t) => {
                if let Some((pf, prev)) = self.train {
                    sink.push(
                        Diagnostic::error(Code::Duplicate, "a program has one `train` block")
                            .label(
                                file,
                                Span::new(t.span.start, t.span.start + 5),
                                "a second one here",
                            )
                            .label(
                                pf,
                                Span::new(prev.span.start, prev.span.start + 5),
                                "the first one",
                            )
                            .help("train several models side by side with `train a, b on data`"),
                    );
                } else {
                    self.train = Some((file, t));
                }
            }
        }
    }

    /// The model named `name`.
    pub(crate) fn model(&self, name: &str) -> Option<In<'a, ModelDecl>> {
        self.models
            .iter()
            .copied()
            .find(|(_, m)| m.name.name == name)
    }

    /// The dataset named `name`.
    pub(crate) fn data(&self, name: &str) -> Option<In<'a, DataDecl>> {
        self.datas
            .iter()
            .copied()
            .find(|(_, d)| d.name.name == name)
    }
}

/// The scope of `let` values: earlier constants only.
struct LetScope<'s> {
    lets: &'s HashMap<String, Const>,
    failed: &'s HashSet<String>,
}

impl Scope for LetScope<'_> {
    fn lookup(&self, name: &str) -> Lookup {
        if self.failed.contains(name) {
            return Lookup::Failed;
        }
        self.lets
            .get(name)
            .cloned()
            .map_or(Lookup::Unknown, Lookup::Const)
    }

    fn const_names(&self) -> Vec<String> {
        number_names(self.lets)
    }
}

/// The names of the number constants among `lets`, sorted.
pub(crate) fn number_names(lets: &HashMap<String, Const>) -> Vec<String> {
    let mut v: Vec<String> = lets
        .iter()
        .filter(|(_, c)| matches!(c, Const::Num(_)))
        .map(|(k, _)| k.clone())
        .collect();
    v.sort();
    v
}

/// The top-level scope: constants and parameters.
pub(crate) struct TopScope<'s, 'a> {
    /// The definitions.
    pub defs: &'s Defs<'a>,
}

impl Scope for TopScope<'_, '_> {
    fn lookup(&self, name: &str) -> Lookup {
        if let Some(c) = self.defs.lets.get(name) {
            return Lookup::Const(c.clone());
        }
        if self.defs.params.contains_key(name) {
            return Lookup::Param;
        }
        if self.defs.failed_lets.contains(name) {
            return Lookup::Failed;
        }
        Lookup::Unknown
    }

    fn const_names(&self) -> Vec<String> {
        number_names(&self.defs.lets)
    }
}
