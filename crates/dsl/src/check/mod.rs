//! Checking a loaded program: names, shapes (through the knit-tensor graph), values, and the
//! train block, collecting every diagnostic; and, when there is no error, the [`Plan`].

mod augment;
mod bind;
pub(crate) mod consts;
mod conv;
mod data;
pub(crate) mod defs;
mod init;
mod layers;
mod model;
mod recurrent;
mod schedule;
mod selector;
mod summary;
mod train;
mod values;

pub use model::LayerRow;
pub use summary::{readable, thousands, ModelSummary, Summary};
pub use train::{TrainSummary, MAX_EPOCHS};

use crate::ast::TrainKind;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::loader::Loaded;
use defs::{Defs, TopScope};
use knit_tensor::Shape;
use knit_train::Plan;
use std::collections::HashMap;
use values::Ev;

/// The result of checking a program.
#[derive(Debug)]
pub struct Checked {
    /// Every error and warning, in the order found.
    pub diagnostics: Diagnostics,
    /// What `knit check` prints: models, layers, shapes, parameter counts, FLOPs.
    pub summary: Summary,
    /// The training plan, when the program has a train block and no error.
    pub plan: Option<Plan>,
    /// The resolved program (`knit explain`), when there is no error.
    pub explained: Option<String>,
}

/// Checks a loaded program (which must have parsed without error).
pub fn check(loaded: &Loaded) -> Checked {
    let mut sink = Diagnostics::default();
    let defs = Defs::collect(&loaded.modules, loaded.main, &mut sink);
    let seed = program_seed(&defs, &mut sink);
    let mut summary = Summary::default();
    let mut models_ok = HashMap::new();
    for (file, m) in &defs.models {
        let mut lowering = model::Lowering::new(&defs, seed);
        let result = lowering.model(*file, m, "");
        sink.extend(std::mem::take(&mut lowering.sink));
        models_ok.insert(m.name.name.clone(), result.is_some());
        if let Some((input, _, output)) = result {
            let input_shape = lowering
                .graph
                .node(input)
                .map(|n| n.shape.clone())
                .unwrap_or_else(|_| Shape::scalar());
            summary.models.push(ModelSummary {
                name: m.name.name.clone(),
                input: input_shape,
                output,
                params: lowering.graph.param_count(),
                flops: lowering.graph.flops_per_example(),
                layers: lowering.built.layers,
            });
        }
    }
    let top = TopScope { defs: &defs };
    let mut datas = HashMap::new();
    for (file, d) in &defs.datas {
        if let Some(info) = data::check_data(&loaded.sources, &top, *file, d, seed, &mut sink) {
            datas.insert(d.name.name.clone(), info);
        }
    }
    let mut plan = None;
    if let Some((file, t)) = defs.train {
        if let Some((p, train_summary)) = train::check_train(
            &loaded.sources,
            &defs,
            file,
            t,
            seed,
            &datas,
            &models_ok,
            &mut sink,
        ) {
            plan = Some(p);
            summary.train = Some(train_summary);
        }
    }
    let mut explained = None;
    if !sink.has_errors() {
        let resolved = crate::explain::Resolved {
            seed,
            prune_params: plan
                .as_ref()
                .and_then(|p| p.prune.as_ref().map(|pr| pr.params.clone())),
            regression: plan
                .as_ref()
                .is_some_and(|p| p.task == knit_train::Task::Regression),
        };
        let text = crate::explain::explain(loaded, &defs.lets, &resolved);
        if let Some(p) = plan.as_mut() {
            p.program = text.clone();
        }
        explained = Some(text);
    } else {
        plan = None;
    }
    Checked {
        diagnostics: sink,
        summary,
        plan,
        explained,
    }
}

/// The seed: the top-level `seed`, or the train block's, or 0.
fn program_seed(defs: &Defs<'_>, sink: &mut Diagnostics) -> u64 {
    let top = TopScope { defs };
    let train_seed = defs.train.and_then(|(file, t)| {
        t.settings.iter().find_map(|s| match &s.kind {
            TrainKind::Seed(e) => Some((file, e, s.span)),
            _ => None,
        })
    });
    match (defs.seed, train_seed) {
        (Some((file, s)), Some((tfile, _, tspan))) => {
            sink.push(
                Diagnostic::error(Code::Duplicate, "the seed is given twice")
                    .label(tfile, tspan, "in the train block")
                    .label(file, s.span, "at the top level")
                    .help("keep one of them"),
            );
            0
        }
        (Some((file, s)), None) => Ev::new(&top, file)
            .integer(sink, &s.value, 0, crate::seed::MAX_SEED as usize)
            .unwrap_or(0) as u64,
        (None, Some((file, e, _))) => Ev::new(&top, file)
            .integer(sink, e, 0, crate::seed::MAX_SEED as usize)
            .unwrap_or(0) as u64,
        (None, None) => 0,
    }
}
