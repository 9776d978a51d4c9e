//! What the compiler puts in the plan: parameter names, shapes and initial values,
//! optimizer and groups, schedules, procedures and the resolved program.

use knit_dsl::{check_text, derive_seed};
use knit_init::{initialize, initialize_with_fans, FanInUniform, Fans, HeNormal};
use knit_tensor::NodeKind;
use knit_train::{
    Attack, Batching, Clip, Combine, Floor, Metric, OptimizerSpec, PruneScope, ScheduleSpec,
    ScheduleUnit, Task,
};
use std::path::Path;

fn plan(text: &str) -> knit_train::Plan {
    let checked = check_text(Path::new("plan_test.net"), text);
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    checked.plan.expect("a plan")
}

fn param(plan: &knit_train::Plan, name: &str) -> (ndarray::ArrayD<f32>, bool) {
    let id = plan.graph.id(name).unwrap_or_else(|e| panic!("{e}"));
    match &plan.graph.node(id).unwrap().kind {
        NodeKind::Param { init, trainable } => (init.clone(), *trainable),
        other => panic!("{name} is {other:?}"),
    }
}

const DATA: &str = "data d {\n  source synthetic(blobs, samples: 90, centers: 3)\n  split train 0.8, validation 0.2\n}\n";

#[test]
fn parameters_are_named_like_pytorch_and_initialized_from_the_seed() {
    let p = plan(&format!(
        "seed 7\n{DATA}model m(x: [2]) -> [3] {{\n  h1 = x |> dense(16, init: he_normal) |> batchnorm |> relu |> dropout(0.25)\n  out = h1 |> dense(3)\n}}\ntrain m on d {{\n  loss cross_entropy\n  optimizer adam(lr: 1e-3)\n  batch 8\n  epochs 1\n}}\n"
    ));
    let names: Vec<&str> = p.graph.params().map(|(_, n)| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "h1.weight",
            "h1.bias",
            "h1.batchnorm.weight",
            "h1.batchnorm.bias",
            "out.weight",
            "out.bias"
        ]
    );
    let (w, trainable) = param(&p, "h1.weight");
    assert!(trainable);
    assert_eq!(w.shape(), &[16, 2]);
    assert_eq!(
        w,
        initialize(&HeNormal::default(), &[16, 2], 7, "h1.weight").unwrap()
    );
    // The default initialization is PyTorch's nn.Linear: U(±1/√fan_in), the bias with the weight's fans.
    let (b, _) = param(&p, "out.bias");
    assert_eq!(
        b,
        initialize_with_fans(&FanInUniform, &[3], Fans::new(16, 3), 7, "out.bias").unwrap()
    );
    let (w, _) = param(&p, "out.weight");
    assert_eq!(
        w,
        initialize(&FanInUniform, &[3, 16], 7, "out.weight").unwrap()
    );
    assert_eq!(p.seed, 7);
    assert_eq!(p.task, Task::Classification { classes: 3 });
    assert_eq!(p.data.seed, derive_seed(7, "data.d"));
    assert!(p.graph.id("h1.dropout.p").is_ok());
    assert_eq!(p.models.len(), 1);
    assert_eq!(p.models[0].name, "m");
    assert_eq!(p.graph.node(p.models[0].input).unwrap().name, "x");
    assert_eq!(
        p.optimizer,
        OptimizerSpec::Adam(knit_optim::AdamConfig {
            lr: 1e-3,
            ..Default::default()
        })
    );
    assert_eq!(p.lr_schedule, ScheduleSpec::Constant(1e-3));
    assert_eq!(p.batching, Batching::Mini(8));
    assert!(!p.shuffle && !p.drop_last);
    assert!(p.program.starts_with("seed 7\n"), "{}", p.program);
}

#[test]
fn training_settings_reach_the_plan() {
    let p = plan(&format!(
        "{DATA}model m(x: [2]) -> [3] {{\n  h1 = x |> dense(8) |> dropout(step(0.5, every: 2, gamma: 0.5))\n  out = h1 |> dense(3)\n}}\n\
         train m on d {{\n  loss cross_entropy\n  optimizer sgd(lr: cosine(0.1, t_max: 10), momentum: 0.9, nesterov: true)\n  schedule per step\n\
         batch online, shuffle\n  epochs 12, early_stop(patience: 3, metric: val_accuracy)\n  clip value(0.5)\n  penalty l2(1e-4) on *.weight\n\
         lr_mult 0.1 on h1.*\n  weight_decay 0 on *.bias\n  freeze out.bias\n\
         prune magnitude from 0.2 to 0.6 step 0.2, retrain 2, floor drop 0.01\n  adversarial fgsm(eps: 0.1)\n\
         start from \"base.safetensors\", rename fc -> h1\n  seed 5\n  save \"runs/m.safetensors\"\n}}\n"
    ));
    assert_eq!(p.seed, 5);
    assert_eq!(
        p.lr_schedule,
        ScheduleSpec::Cosine {
            initial: 0.1,
            t_max: 10,
            min: 0.0
        }
    );
    assert_eq!(p.schedule_unit, ScheduleUnit::Step);
    assert_eq!(
        p.value_schedules,
        vec![(
            "h1.dropout.p".to_string(),
            ScheduleSpec::Step {
                initial: 0.5,
                every: 2,
                gamma: 0.5
            }
        )]
    );
    assert_eq!(p.batching, Batching::Online);
    assert!(p.shuffle);
    assert_eq!(p.epochs, 12);
    let es = p.early_stop.unwrap();
    assert_eq!((es.metric, es.patience), (Metric::ValAccuracy, 3));
    assert_eq!(p.clip, Some(Clip::Value(0.5)));
    assert_eq!(
        p.penalties
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["l2"]
    );
    // Groups: default, h1.* at lr 0.1 (weight and bias, the bias without decay), out.weight.
    let groups: Vec<_> = p
        .param_groups
        .iter()
        .map(|(n, g)| (n.as_str(), p.groups[*g]))
        .collect();
    assert_eq!(
        groups.len(),
        3,
        "the frozen out.bias has no group: {groups:?}"
    );
    assert_eq!(groups[0].1.lr_mult, 0.1);
    assert_eq!(groups[0].1.weight_decay, None);
    assert_eq!(groups[1].0, "h1.bias");
    assert_eq!(
        (groups[1].1.lr_mult, groups[1].1.weight_decay),
        (0.1, Some(0.0))
    );
    assert_eq!(groups[2], ("out.weight", knit_optim::ParamGroup::default()));
    assert!(!param(&p, "out.bias").1);
    let prune = p.prune.unwrap();
    assert_eq!(prune.params, ["h1.weight", "out.weight"]);
    assert_eq!(
        (prune.scope, prune.floor, prune.retrain_epochs),
        (PruneScope::PerLayer, Floor::Drop(0.01), 2)
    );
    let adv = p.adversarial.unwrap();
    assert_eq!(
        (adv.attack, adv.mix, adv.warmup_epochs),
        (Attack::Fgsm { eps: 0.1 }, 0.5, 0)
    );
    assert_eq!(p.bagging, None);
    let t = p.transfer.unwrap();
    assert_eq!(t.rename, vec![("fc".to_string(), "h1".to_string())]);
    assert!(!t.strict);
    assert_eq!(t.freeze, ["out.bias"]);
    assert_eq!(p.save.unwrap(), Path::new("runs/m.safetensors"));
}

#[test]
fn two_models_are_prefixed_shared_and_tied() {
    let p = plan(&format!(
        "param w: [4, 4] = orthogonal\n{DATA}model a(x: [2]) -> [3] {{\n  h1 = x |> dense(4) |> dense(weight: w)\n  out = h1 |> dense(3)\n}}\n\
         model b(x: [2]) -> [3] {{\n  h1 = x |> dense(4)\n  out = h1 |> dense(3)\n}}\n\
         train a, b on d {{\n  loss cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch full\n  epochs 1\n  tie a.*.weight ~ b.*.weight l2(0.01)\n}}\n"
    ));
    let names: Vec<&str> = p.graph.params().map(|(_, n)| n.name.as_str()).collect();
    assert!(
        names.contains(&"a.h1.weight") && names.contains(&"b.out.bias") && names.contains(&"w"),
        "{names:?}"
    );
    assert_eq!(
        p.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(
        p.ties,
        vec![
            ("a.h1.weight".into(), "b.h1.weight".into()),
            ("a.out.weight".into(), "b.out.weight".into())
        ]
    );
    assert_eq!(
        p.shared,
        vec![("w".to_string(), vec!["a.h1.dense2".to_string()])]
    );
    assert_eq!(
        p.penalties
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["tie"]
    );
    assert_eq!(p.batching, Batching::Full);
}

#[test]
fn bagging_defaults_to_full_resamples_and_a_vote() {
    let p = plan(&format!(
        "{DATA}model m(x: [2]) -> [3] {{\n  out = x |> dense(3)\n}}\ntrain m on d {{\n  loss cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch 4\n  epochs 1\n  adversarial fgsm(eps: 0.1)\n  bagging 3\n}}\n"
    ));
    let bag = p.bagging.unwrap();
    assert_eq!(
        (bag.members, bag.fraction, bag.combine),
        (3, 1.0, Combine::Vote)
    );
    assert!(p.adversarial.is_some(), "members train adversarially");
}

#[test]
fn regression_and_bce_tasks() {
    let reg = plan(&format!(
        "{DATA}model m(x: [2]) -> [2] {{\n  out = x |> dense(2)\n}}\ntrain m on d {{\n  loss mse\n  optimizer sgd(lr: 0.1)\n  batch 4\n  epochs 1\n  bagging 2\n}}\n"
    ));
    assert_eq!(reg.task, Task::Regression);
    assert_eq!(reg.bagging.unwrap().combine, Combine::Average);
    assert_eq!(
        reg.graph.node(reg.labels).unwrap().shape.to_string(),
        "[B, 2]"
    );
    let bce = plan(&format!(
        "{DATA}model m(x: [2]) -> [1] {{\n  out = x |> dense(1)\n}}\ntrain m on d {{\n  loss bce\n  optimizer sgd(lr: 0.1)\n  batch 4\n  epochs 1\n}}\n"
    ));
    assert_eq!(bce.task, Task::Classification { classes: 2 });
}

#[test]
fn the_resolved_program_compiles_to_the_same_parameters() {
    let text = format!(
        "seed 3\nlet w = 4\n{DATA}model m(x: [2]) -> [3] {{\n  h = x |> dense(w * 2, init: glorot_uniform) |> relu\n  out = h |> dense(3)\n}}\ntrain m on d {{\n  loss cross_entropy\n  optimizer adam(lr: 1e-3)\n  batch 8\n  epochs 1\n}}\n"
    );
    let first = plan(&text);
    let second = plan(&first.program);
    let values = |p: &knit_train::Plan| -> Vec<(String, Vec<f32>)> {
        p.graph
            .params()
            .map(|(_, n)| match &n.kind {
                NodeKind::Param { init, .. } => (n.name.clone(), init.iter().copied().collect()),
                _ => unreachable!(),
            })
            .collect()
    };
    assert_eq!(values(&first), values(&second));
    assert_eq!(first.program, second.program);
    assert_eq!(first.data, second.data);
    assert_eq!(first.optimizer, second.optimizer);
}

#[test]
fn strings_join_with_plus_and_index_splits_reach_the_data_spec() {
    let p = plan(
        "let dir = \"folder\"\ndata d {\n  source csv(dir + \"/train.csv\")\n  split indices(dir + \"/split.json\", train: \"small\", test: \"held\")\n}\nmodel m(x: [2]) -> [3] {\n  out = x |> dense(3)\n}\ntrain m on d {\n  loss cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch 8\n  epochs 1\n}\n",
    );
    let spec = &p.data;
    match &spec.source {
        knit_data::Source::Csv { path, .. } => assert!(path.ends_with("folder/train.csv")),
        other => panic!("{other:?}"),
    }
    let indices = spec.indices.as_ref().expect("an index split");
    assert!(indices.path.ends_with("folder/split.json"));
    assert_eq!(
        (
            indices.train.as_str(),
            indices.validation.as_deref(),
            indices.test.as_deref()
        ),
        ("small", None, Some("held"))
    );
    // A string and a number do not add up.
    let checked = check_text(Path::new("plan_test.net"), "let n = \"a\" + 1\n");
    assert!(checked.diagnostics.has_errors());
    assert!(format!("{:?}", checked.diagnostics)
        .contains("expected a number, found the string \\\"a\\\""));
}

#[test]
fn a_plan_reinitializes_from_another_seed_and_back() {
    let text = format!(
        "seed 7\n{DATA}param shared: [4, 4] = orthogonal\nmodel m(x: [2]) -> [3] {{\n  h1 = x |> dense(4, init: he_normal) |> batchnorm |> relu\n  h2 = h1 |> dense(weight: shared) |> relu\n  out = h2 |> dense(3, bias: zeros)\n}}\ntrain m on d {{\n  loss cross_entropy\n  optimizer adam(lr: 1e-3)\n  batch 8\n  epochs 1\n}}\n"
    );
    let original = plan(&text);
    let names: Vec<&str> = original.inits.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "h1.weight",
            "h1.bias",
            "shared",
            "h2.bias",
            "out.weight",
            "out.bias"
        ]
    );
    let mut other = original.clone();
    other.reinitialize(8).unwrap();
    assert_eq!(other.seed, 8);
    assert_eq!(other.graph.param_count(), original.graph.param_count());
    // Drawn afresh: every parameter (batch norm's constant ones included) is what a program
    // seeded 8 starts from.
    let seeded_8 = plan(&text.replacen("seed 7", "seed 8", 1));
    for (_, node) in original.graph.params() {
        assert_eq!(
            param(&other, &node.name).0,
            param(&seeded_8, &node.name).0,
            "{}",
            node.name
        );
    }
    assert_ne!(
        param(&other, "h1.weight").0,
        param(&original, "h1.weight").0
    );
    assert_eq!(param(&other, "out.bias").0, param(&original, "out.bias").0);
    // And back.
    other.reinitialize(7).unwrap();
    for name in names {
        assert_eq!(param(&other, name).0, param(&original, name).0, "{name}");
    }
}

#[test]
fn every_node_is_named_after_the_program_not_the_graph() {
    // Errors at run time name nodes (a divergence names the first non-finite one): each
    // must be something the program shows, never a generated `relu#4` or `cross_entropy#9`.
    let p = plan(
        "data d {\n  source synthetic(moons, samples: 100)\n  split train 0.8, validation 0.2\n}\n\
         model m(x: [2]) -> [2] {\n  h = x |> dense(8) |> relu |> dropout(0.1)\n  \
         out = (h * 2 + h / 4) |> dense(2) |> softmax\n}\n\
         train m on d {\n  loss cross_entropy\n  optimizer sgd(lr: 0.1)\n  batch 10\n  epochs 1\n  \
         penalty l2(1e-4) on *.weight\n}\n",
    );
    let names: Vec<&str> = p.graph.nodes().iter().map(|n| n.name.as_str()).collect();
    assert!(names.iter().all(|n| !n.contains('#')), "{names:?}");
    for expected in [
        "h.relu",
        "out.scale",
        "out.scale2",
        "out.sum",
        "out.softmax",
        "m.loss",
        "total loss",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[test]
fn prune_selects_conv_kernels_dense_and_recurrent_weights_by_default_not_biases_or_batch_norm() {
    let p = plan(&format!(
        "{DATA}model m(x: [2]) -> [3] {{\n  c1 = x |> reshape([1, 1, 2]) |> conv2d(4, [1, 2]) |> batchnorm |> relu\n  h = c1 |> reshape([4, 1]) |> gru(3)\n  out = h |> last_step |> dense(3)\n}}\ntrain m on d {{\n  loss cross_entropy\n  optimizer adam(lr: 1e-3)\n  batch 8\n  epochs 1\n  prune magnitude from 0.2 to 0.4 step 0.2, retrain 1, floor drop 0.05\n}}\n"
    ));
    assert_eq!(
        p.prune.unwrap().params,
        [
            "c1.weight",
            "h.weight_ih_l0",
            "h.weight_hh_l0",
            "out.weight"
        ]
    );
}

#[test]
fn strict_after_the_selectors_of_a_start_line_is_the_option() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/transfer.net"),
    )
    .unwrap();
    let only = text.replace(", strict", ", only out.*, strict");
    let formatted = knit_dsl::format_text(&only).unwrap();
    assert!(formatted.contains(
        "  start     from \"base.safetensors\", rename fc -> out, rename old.* -> new.*, only \
         out.*, strict\n"
    ));
    assert_eq!(knit_dsl::format_text(&formatted).unwrap(), formatted);
    let t = plan(&only).transfer.unwrap();
    assert!(t.strict);
    assert_eq!(
        t.load,
        Some(vec!["out.weight".to_string(), "out.bias".to_string()])
    );
}

#[test]
fn precision_reaches_the_plan_and_doubles_the_memory_estimate() {
    let program = |line: &str| {
        format!(
            "{DATA}model m(x: [2]) -> [3] {{\n  out = x |> dense(3)\n}}\ntrain m on d {{\n  loss cross_entropy\n  optimizer adam(lr: 0.1)\n  batch 4\n  epochs 1\n{line}}}\n"
        )
    };
    let (single, double) = (plan(&program("")), plan(&program("  precision f64\n")));
    assert_eq!(single.precision, knit_train::Precision::F32);
    assert_eq!(double.precision, knit_train::Precision::F64);
    let total = |p: &knit_train::Plan| knit_train::run_memory(p, 4, 2).total();
    // Everything an f64 run allocates doubles but the graph's own f32 initial values.
    let initial = 4 * single.graph.param_count() as u64;
    assert_eq!(total(&double), 2 * total(&single) - initial);
    assert!(double.program.contains("precision f64"));
    assert!(single.program.contains("precision f32"));
}
