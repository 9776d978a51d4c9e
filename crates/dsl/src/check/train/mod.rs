//! The `train` block: the models trained side by side, their losses, and every training
//! setting, checked and assembled into a [`Plan`].

mod optimizer;
mod procedures;
mod regularizers;
mod settings;
pub use settings::MAX_EPOCHS;

use super::data::DataInfo;
use super::defs::{Defs, TopScope};
use super::model::{Built, Lowering};
use super::values::Ev;
use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic, Diagnostics as Sink};
use crate::source::{FileId, SourceMap};
use crate::span::Span;
use crate::suggest::help_for;
use knit_tensor::{NodeId, Shape};
use knit_train::{ModelNodes, Plan, Task};
use settings::Settings;
use std::collections::HashMap;

/// What `knit check` says about the train block.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// The models trained.
    pub models: Vec<String>,
    /// The dataset.
    pub data: String,
    /// One line per setting, e.g. `optimizer adam, lr 0.001`.
    pub lines: Vec<String>,
    /// Trainable parameter elements.
    pub trainable: usize,
    /// Frozen parameter elements.
    pub frozen: usize,
    /// The memory a run needs (`knit_train::run_memory`), as printed.
    pub memory: String,
}

/// Checks the train block and builds the plan (without its `program` text).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_train<'a>(
    sources: &SourceMap,
    defs: &Defs<'a>,
    file: FileId,
    t: &'a TrainDecl,
    seed: u64,
    datas: &HashMap<String, DataInfo>,
    models_ok: &HashMap<String, bool>,
    sink: &mut Sink,
) -> Option<(Plan, TrainSummary)> {
    let header = Span::new(t.span.start, t.data.span.end);
    let mut ok = true;
    let mut models = Vec::new();
    for (i, m) in t.models.iter().enumerate() {
        if t.models[..i].iter().any(|p| p.name == m.name) {
            sink.push(
                Diagnostic::error(
                    Code::Duplicate,
                    format!("model `{}` is listed twice", m.name),
                )
                .label(file, m.span, "listed again"),
            );
            ok = false;
            continue;
        }
        match defs.model(&m.name) {
            Some(decl) => models.push(decl),
            None if defs.names.contains_key(&m.name) => ok = false,
            None => {
                let names: Vec<&str> = defs
                    .models
                    .iter()
                    .map(|(_, d)| d.name.name.as_str())
                    .collect();
                sink.push(
                    Diagnostic::error(Code::UnknownName, format!("unknown model `{}`", m.name))
                        .label(file, m.span, "no such model")
                        .help(help_for(&m.name, names.iter().copied(), "models")),
                );
                ok = false;
            }
        }
    }
    let data = match (defs.data(&t.data.name), datas.get(&t.data.name)) {
        (Some(_), Some(info)) => Some(info.clone()),
        (Some(_), None) => None,
        (None, _) => {
            let names: Vec<&str> = defs
                .datas
                .iter()
                .map(|(_, d)| d.name.name.as_str())
                .collect();
            sink.push(
                Diagnostic::error(
                    Code::UnknownName,
                    format!("unknown dataset `{}`", t.data.name),
                )
                .label(file, t.data.span, "no such data block")
                .help(help_for(&t.data.name, names.iter().copied(), "datasets")),
            );
            None
        }
    };
    let settings = Settings::collect(file, t, header, sink);
    let top = TopScope { defs };
    let ev = Ev::new(&top, file);
    let loss = Settings::loss(&settings, &ev, sink);
    if !ok
        || models
            .iter()
            .any(|(_, m)| !models_ok.get(&m.name.name).copied().unwrap_or(false))
    {
        // The graph is missing, but the settings that do not depend on it are still checked.
        if let (Some(data), Some(settings)) = (&data, &settings) {
            let graph = knit_tensor::Graph::new();
            let mut cx = settings::Cx {
                sources,
                file,
                ev,
                sink,
                graph,
                params: vec![],
                data,
                settings,
            };
            let _ = cx.run_settings();
            let _ = cx.optimizer(None);
        }
        return None;
    }
    let (data, settings, loss) = (data?, settings?, loss?);

    // The graph: every model, prefixed with its name when there are several.
    let mut lowering = Lowering::new(defs, seed);
    let several = models.len() > 1;
    let mut outputs: Vec<(String, NodeId, NodeId, Shape, FileId, &ModelDecl)> = Vec::new();
    for (mfile, m) in &models {
        let prefix = if several {
            format!("{}.", m.name.name)
        } else {
            String::new()
        };
        let (input, out, shape) = lowering.model(*mfile, m, &prefix)?;
        outputs.push((m.name.name.clone(), input, out.id, shape, *mfile, m));
    }
    sink.extend(std::mem::take(&mut lowering.sink));
    let Built {
        value_schedules,
        prunable_weights,
        inits,
        ..
    } = std::mem::take(&mut lowering.built);
    let mut graph = std::mem::take(&mut lowering.graph);

    let (first_name, first_input, _, first_shape, ffile, fdecl) = outputs.first()?;
    let first_in = graph.node(*first_input).map(|n| n.shape.clone()).ok()?;
    for (name, input, _, shape, mfile, m) in &outputs[1..] {
        let in_shape = graph.node(*input).map(|n| n.shape.clone()).ok()?;
        if *shape != *first_shape || in_shape != first_in {
            sink.push(
                Diagnostic::error(Code::ShapeMismatch, format!("models `{first_name}` and `{name}` are trained on the same data but have different shapes"))
                    .label(*mfile, Span::new(m.span.start, m.output_shape.span().end), format!("`{name}`: {in_shape} → {shape}"))
                    .label(*ffile, Span::new(fdecl.span.start, fdecl.output_shape.span().end), format!("`{first_name}`: {first_in} → {first_shape}")),
            );
            return None;
        }
    }
    let (task, labels) = match loss.0.as_str() {
        "cross_entropy" => {
            let classes = match first_shape.dims.as_slice() {
                [c] if *c >= 2 => *c,
                _ => {
                    sink.push(
                        Diagnostic::error(Code::ShapeMismatch, format!("cross_entropy needs [C] outputs with C ≥ 2 classes, but the model gives {first_shape}"))
                            .label(*ffile, fdecl.output_shape.span(), "the declared output")
                            .label(file, loss.1, "this loss"),
                    );
                    return None;
                }
            };
            (Task::Classification { classes }, graph.labels("y"))
        }
        "bce" => {
            if first_shape.dims != [1] {
                sink.push(
                    Diagnostic::error(Code::ShapeMismatch, format!("bce needs one output per example ([1]), but the model gives {first_shape}"))
                        .label(*ffile, fdecl.output_shape.span(), "the declared output")
                        .label(file, loss.1, "this loss"),
                );
                return None;
            }
            (
                Task::Classification { classes: 2 },
                graph.input("y", &first_shape.dims),
            )
        }
        _ => (Task::Regression, graph.input("y", &first_shape.dims)),
    };
    let labels = labels.ok()?;
    if let (Some((features, classes)), Some(_)) = (data.synthetic, Some(())) {
        // A row of values is read in row-major order, so [28, 28] takes 784 features.
        if first_in.size() != features {
            sink.push(
                Diagnostic::error(Code::ShapeMismatch, format!("dataset `{}` has {features} features per example, but model `{first_name}` takes {first_in}", data.spec.name))
                    .label(*ffile, fdecl.input_shape.span(), format!("expects {first_in}"))
                    .label(file, t.data.span, format!("{features} features")),
            );
            return None;
        }
        if let Task::Classification { classes: c } = task {
            if c != classes && loss.0 == "cross_entropy" {
                sink.push(
                    Diagnostic::error(Code::ShapeMismatch, format!("dataset `{}` has {classes} classes, but model `{first_name}` outputs {c}", data.spec.name))
                        .label(*ffile, fdecl.output_shape.span(), format!("{c} outputs"))
                        .label(file, t.data.span, format!("{classes} classes")),
                );
                return None;
            }
        }
    }
    let augment = match &data.augment {
        Some(info) => Some(super::augment::image_augmentation(
            sink,
            info,
            first_name,
            &first_in,
            (*ffile, fdecl.input_shape.span()),
        )?),
        None => None,
    };
    let mut model_nodes = Vec::new();
    for (name, input, output, ..) in &outputs {
        let r = match loss.0.as_str() {
            "cross_entropy" => graph.cross_entropy(*output, labels),
            "bce" => graph.bce_with_logits(*output, labels),
            _ => graph.mse(*output, labels),
        };
        // Named for messages at run time ("`mlp.loss` is NaN"), not `cross_entropy#9`.
        let r = r.inspect(|&id| {
            let _ = graph.rename(id, &format!("{name}.loss"));
        });
        model_nodes.push(ModelNodes {
            name: name.clone(),
            input: *input,
            output: *output,
            data_loss: r.ok()?,
        });
    }
    let params: Vec<String> = graph.params().map(|(_, n)| n.name.clone()).collect();

    let mut cx = settings::Cx {
        sources,
        file,
        ev,
        sink,
        graph,
        params,
        data: &data,
        settings: &settings,
    };
    let penalties = cx.penalties();
    let ties = cx.ties();
    let frozen = cx.frozen();
    let frozen_names = frozen.clone().unwrap_or_default();
    for name in &frozen_names {
        let id = cx.graph.id(name).ok()?;
        cx.graph.set_trainable(id, false).ok()?;
    }
    let groups = cx.groups(&frozen_names);
    let optimizer = cx.optimizer(groups.as_ref().map(|g| &g.0));
    let run = cx.run_settings();
    let procedures = cx.procedures(&t.models, &frozen_names, &prunable_weights, task);
    let (penalties, ties, _) = (penalties?, ties?, frozen?);
    let (groups, (optimizer, lr_schedule), run, procedures) =
        (groups?, optimizer?, run?, procedures?);
    let mut loss_node = model_nodes.first()?.data_loss;
    for m in &model_nodes[1..] {
        loss_node = cx.graph.add(loss_node, m.data_loss).ok()?;
    }
    for p in penalties
        .iter()
        .map(|(_, id)| id)
        .chain(ties.iter().map(|(_, id, _)| id))
    {
        loss_node = cx.graph.add(loss_node, *p).ok()?;
    }
    if loss_node != model_nodes.first()?.data_loss {
        let _ = cx.graph.rename(loss_node, "total loss");
    }
    let mut shared: Vec<(String, Vec<String>)> = Vec::new();
    for (param, layer) in &lowering.uses {
        match shared.iter_mut().find(|(p, _)| p == param) {
            Some((_, layers)) => layers.push(layer.clone()),
            None => shared.push((param.clone(), vec![layer.clone()])),
        }
    }
    let graph = cx.graph;
    let trainable: usize = graph.trainable_params().map(|(_, n)| n.shape.size()).sum();
    let mut lines = vec![
        format!("loss {}", loss.0),
        optimizer_line(&optimizer, &lr_schedule),
    ];
    lines.extend(run.lines.iter().cloned());
    lines.extend(augment.as_ref().map(super::augment::summary_line));
    for (name, _) in &penalties {
        lines.push(format!("penalty {name}"));
    }
    for (name, _, pairs) in &ties {
        let shown: Vec<String> = pairs.iter().map(|(a, b)| format!("{a} ~ {b}")).collect();
        lines.push(format!("{name}: {}", shown.join(", ")));
    }
    if let Some(p) = &procedures.prune {
        lines.push(format!(
            "prune {} parameters from {} to {} step {}",
            p.params.len(),
            p.from,
            p.to,
            p.step
        ));
    }
    if let Some(a) = &procedures.adversarial {
        lines.push(format!("adversarial {:?}, mix {}", a.attack, a.mix));
    }
    if let Some(b) = &procedures.bagging {
        lines.push(format!(
            "bagging {} members, bootstrap {}, {:?}",
            b.members, b.fraction, b.combine
        ));
    }
    if let Some(t) = &procedures.transfer {
        lines.push(match &t.load {
            None => format!("start from {}", t.from.display()),
            Some(names) => format!(
                "start from {}, loading {} of the model's parameters and buffers: {}",
                t.from.display(),
                names.len(),
                names.join(", ")
            ),
        });
    }
    let summary = TrainSummary {
        models: outputs.iter().map(|o| o.0.clone()).collect(),
        data: data.spec.name.clone(),
        lines,
        trainable,
        frozen: graph.param_count() - trainable,
        memory: String::new(),
    };
    let plan = Plan {
        seed,
        program: String::new(),
        data: data.spec.clone(),
        graph,
        models: model_nodes,
        labels,
        loss: loss_node,
        penalties: penalties
            .into_iter()
            .chain(ties.iter().map(|(n, id, _)| (n.clone(), *id)))
            .collect(),
        task,
        optimizer,
        groups: groups.0,
        param_groups: groups.1,
        lr_schedule,
        schedule_unit: run.schedule_unit,
        precision: run.precision,
        value_schedules,
        augment,
        batching: run.batching,
        shuffle: run.shuffle,
        drop_last: run.drop_last,
        epochs: run.epochs,
        early_stop: run.early_stop,
        clip: run.clip,
        save: run.save,
        transfer: procedures.transfer,
        ties: ties.into_iter().flat_map(|(_, _, pairs)| pairs).collect(),
        shared,
        prune: procedures.prune,
        adversarial: procedures.adversarial,
        bagging: procedures.bagging,
        inits,
    };
    let summary = TrainSummary {
        memory: memory_line(&plan),
        ..summary
    };
    Some((plan, summary))
}

/// `optimizer adam, lr 0.001 (step schedule)`.
fn optimizer_line(spec: &knit_train::OptimizerSpec, lr: &knit_train::ScheduleSpec) -> String {
    use knit_train::{OptimizerSpec as O, ScheduleSpec as S};
    let name = match spec {
        O::Sgd(_) => "sgd",
        O::Adagrad(_) => "adagrad",
        O::Rmsprop(_) => "rmsprop",
        O::Adam(_) => "adam",
        O::AdamW(_) => "adamw",
    };
    let schedule = match lr {
        S::Constant(_) => "",
        S::Step { .. } => ", step schedule",
        S::MultiStep { .. } => ", multistep schedule",
        S::Exponential { .. } => ", exponential schedule",
        S::InverseTime { .. } => ", inverse_time schedule",
        S::Inv { .. } => ", inv schedule",
        S::Polynomial { .. } => ", polynomial schedule",
        S::Cosine { .. } => ", cosine schedule",
        S::CosineRestarts { .. } => ", cosine_restarts schedule",
        S::Warmup { .. } => ", warmup schedule",
        S::Plateau { .. } => ", plateau schedule",
    };
    format!("optimizer {name}, lr {}{schedule}", spec.lr())
}

/// What `knit check` says of the memory a run needs: the total at the file's batch size
/// (for `batch full`, what is fixed and what each 1,000 examples of the training set add)
/// and the largest tensor.
fn memory_line(plan: &Plan) -> String {
    use knit_io::bytes_text;
    let features = plan
        .models
        .first()
        .and_then(|m| plan.graph.node(m.input).ok())
        .map_or(0, |n| n.shape.size());
    let at = |batch: usize| knit_train::run_memory(plan, batch, features);
    match plan.batching {
        knit_train::Batching::Full => {
            let (fixed, per) = (at(0).total(), at(1000).total());
            format!(
                "memory about {} + {} per 1,000 training examples (batch full)",
                bytes_text(fixed),
                bytes_text(per.saturating_sub(fixed))
            )
        }
        batching => {
            let batch = match batching {
                knit_train::Batching::Mini(b) => b,
                _ => 1,
            };
            let estimate = at(batch);
            let largest = estimate.largest(1).first().map_or_else(String::new, |t| {
                format!(" (largest: {} {}, {})", t.name, t.what, bytes_text(t.bytes))
            });
            format!(
                "memory about {} at batch {batch}{largest}",
                bytes_text(estimate.total())
            )
        }
    }
}
