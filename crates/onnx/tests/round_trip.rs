//! Every program in `dsl-examples/` is exported with perturbed weights and batch-norm
//! statistics, loaded by `tract-onnx`, and run on raw feature rows: its outputs equal what
//! `knit predict` computes from the same rows (the scaling, the model, the softmax, the
//! class, an ensemble's combination) within 1e-5, at two batch sizes through the one
//! symbolic batch dimension.

use knit_data::{Scaler, Splits};
use knit_onnx::{Export, ExportError, INPUT};
use knit_train::{is_counter, Ensemble, Predictions, Task, TrainOptions, Trainer};
use ndarray::{s, Array2, ArrayD};
use std::path::{Path, PathBuf};
use tract_onnx::prelude::*;

/// Rows per batch of the two runs through the exported graph.
const BATCHES: [usize; 2] = [1, 7];
/// The largest difference allowed between the runtime's outputs and knit's.
const TOLERANCE: f64 = 1e-5;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dsl-examples is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "net"))
        .collect();
    files.sort();
    files
}

/// The program's plan and its data, or `None` for a file of definitions only (no `train`
/// block) or when the data is not on this machine (the Fashion-MNIST programs read it from
/// a system folder; `npy.net` reads arrays the CLI's tests write).
fn load(path: &Path) -> Option<(knit_train::Plan, Splits)> {
    let outcome = knit_dsl::check_file(path);
    let diagnostics = &outcome.checked.diagnostics;
    assert!(
        !diagnostics.has_errors(),
        "{}: {diagnostics:?}",
        path.display()
    );
    let plan = outcome.checked.plan?;
    let classes = match plan.task {
        Task::Classification { classes } => Some(classes),
        Task::Regression => None,
    };
    match knit_data::load_for(&plan.data, Path::new(""), classes) {
        Ok(splits) => Some((plan, splits)),
        Err(e)
            if ["fashion", "npy"]
                .iter()
                .any(|n| path.to_string_lossy().contains(n)) =>
        {
            eprintln!("{}: skipped, its data is not here ({e})", path.display());
            None
        }
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// A deterministic value in [−1, 1) from a counter (a 64-bit LCG's high bits).
fn noise(state: &mut u64) -> f32 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// A trainer of `plan` whose parameters are moved off their initial values and whose batch
/// norm statistics are not the identity's, so that every weight and statistic matters.
fn perturbed(plan: &knit_train::Plan, splits: &Splits, seed: u64) -> Trainer {
    let mut trainer =
        Trainer::new(plan.clone(), splits.clone(), TrainOptions::default()).expect("trainer");
    let mut ckpt = trainer.checkpoint();
    let mut state = seed;
    for (name, value) in ckpt.tensors.iter_mut() {
        if is_counter(name) || name.starts_with('_') {
            continue;
        }
        if name.ends_with("running_var") {
            value.mapv_inplace(|_| 0.5 + noise(&mut state).abs());
        } else {
            value.mapv_inplace(|v| v + 0.1 * noise(&mut state));
        }
    }
    trainer
        .load_weights(&ckpt, Path::new("perturbed"), &[])
        .expect("perturbed weights load");
    trainer
}

/// Raw (unscaled) feature rows: the first training rows with the scaling undone.
fn raw_rows(splits: &Splits, rows: usize) -> Array2<f32> {
    let scaled = splits.train.features.slice(s![..rows, ..]).to_owned();
    let scaler = &splits.scaler;
    let mut raw = scaled;
    if scaler.width().is_some() {
        for mut row in raw.rows_mut() {
            for ((x, &shift), &scale) in row.iter_mut().zip(scaler.shift()).zip(scaler.scale()) {
                *x = *x * scale + shift;
            }
        }
    }
    raw
}

/// What `knit predict` computes for raw rows: scale them, then predict.
fn reference(
    raw: &Array2<f32>,
    scaler: &Scaler,
    predict: impl FnOnce(&Array2<f32>) -> Predictions,
) -> Predictions {
    let mut scaled = raw.clone();
    scaler.apply(&mut scaled);
    predict(&scaled)
}

/// How the runtime is told the batch: left symbolic (`N`, as the file declares it), or
/// fixed to the rows fed, which tract's recurrent operators need to plan their loops.
#[derive(Clone, Copy, PartialEq)]
enum Batch {
    Symbolic,
    Fixed,
}

/// The exported graph's outputs for `raw`, by output name.
fn run_onnx(bytes: &[u8], raw: &Array2<f32>, batch: Batch) -> Vec<(String, ArrayD<f64>)> {
    let mut model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the export");
    // Optimization renames nodes; the graph as read still has the file's output names.
    let names: Vec<String> = model
        .outputs
        .iter()
        .map(|o| model.node(o.node).name.clone())
        .collect();
    if batch == Batch::Fixed {
        let fact = f32::fact(raw.shape()).into();
        model = model
            .with_input_fact(0, fact)
            .expect("the input takes its rows");
    }
    let model = model
        .into_optimized()
        .expect("tract optimizes the export")
        .into_runnable()
        .expect("tract plans the export");
    let input: Tensor = raw.clone().into_dyn().into();
    let outputs = model
        .run(tvec!(input.into()))
        .expect("tract runs the export");
    names
        .into_iter()
        .zip(outputs.iter())
        .map(|(name, t)| {
            let values = match t.datum_type() {
                DatumType::I64 => t.to_plain_array_view::<i64>().unwrap().mapv(|v| v as f64),
                _ => t.to_plain_array_view::<f32>().unwrap().mapv(f64::from),
            };
            (name, values)
        })
        .collect()
}

fn output<'a>(outputs: &'a [(String, ArrayD<f64>)], name: &str) -> &'a ArrayD<f64> {
    &outputs
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no output `{name}` among {outputs:?}"))
        .1
}

/// The runtime's outputs equal knit's for every row.
fn assert_matches(
    what: &str,
    outputs: &[(String, ArrayD<f64>)],
    expected: &Predictions,
    logits: Option<&Array2<f32>>,
) {
    let close = |name: &str, got: &ArrayD<f64>, want: &Array2<f64>| {
        assert_eq!(got.shape(), want.shape(), "{what}: `{name}`'s shape");
        for ((i, &g), &w) in got.indexed_iter().zip(want.iter()) {
            let bound = TOLERANCE * w.abs().max(1.0);
            assert!(
                (g - w).abs() <= bound,
                "{what}: `{name}` at {i:?}: {g} from the runtime, {w} from knit"
            );
        }
    };
    match &expected.classes {
        None => close(
            "prediction",
            output(outputs, "prediction"),
            &expected.values,
        ),
        Some(classes) => {
            close(
                "probabilities",
                output(outputs, "probabilities"),
                &expected.values,
            );
            let got = output(outputs, "class");
            for (row, (&g, &w)) in got.iter().zip(classes).enumerate() {
                // A class may differ only where two probabilities tie within rounding.
                let p = expected.values.row(row);
                let tie = (p[g as usize] - p[w]).abs() <= TOLERANCE;
                assert!(
                    g as usize == w || tie,
                    "{what}: row {row}: class {g} from the runtime, {w} from knit ({p:?})"
                );
            }
            if let Some(logits) = logits {
                close("logits", output(outputs, "logits"), &logits.mapv(f64::from));
            }
        }
    }
}

/// Every constant of the graph is read by some node (none left over from a layer written
/// in another layout).
fn assert_every_initializer_is_read(what: &str, export: &Export<'_>) {
    let model = export.to_model().unwrap();
    let graph = model.graph.unwrap();
    for init in &graph.initializer {
        assert!(
            graph.node.iter().any(|n| n.input.contains(&init.name)),
            "{what}: initializer `{}` is read by no node",
            init.name
        );
    }
}

#[test]
fn every_example_exports_and_runs_as_knit_predicts() {
    let mut exported = 0;
    for path in examples() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some((plan, splits)) = load(&path) else {
            continue;
        };
        let rows = splits.train.len().min(BATCHES[1]);
        let raw = raw_rows(&splits, rows);
        let scaler = splits.scaler.clone();
        match plan.bagging {
            None => {
                let mut trainer = perturbed(&plan, &splits, 1);
                let export = Export::model(&trainer, &scaler);
                let bytes = export.to_bytes().unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_every_initializer_is_read(&name, &export);
                for batch in BATCHES {
                    let raw = raw.slice(s![..batch.min(rows), ..]).to_owned();
                    let expected =
                        reference(&raw, &scaler, |x| trainer.predictions(x.view()).unwrap());
                    let mut scaled = raw.clone();
                    scaler.apply(&mut scaled);
                    let logits = trainer.outputs(scaled.view()).unwrap();
                    let outputs = run_onnx(&bytes, &raw, Batch::Fixed);
                    assert_matches(
                        &format!("{name}, batch {batch}"),
                        &outputs,
                        &expected,
                        Some(&logits),
                    );
                }
            }
            Some(bagging) => {
                let members = (0..bagging.members as u64)
                    .map(|k| perturbed(&plan, &splits, 1 + k))
                    .collect();
                let mut ensemble = Ensemble {
                    members,
                    combine: bagging.combine,
                };
                let export = Export::ensemble(&ensemble, &scaler);
                let bytes = export.to_bytes().unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_every_initializer_is_read(&name, &export);
                for batch in BATCHES {
                    let raw = raw.slice(s![..batch.min(rows), ..]).to_owned();
                    let expected =
                        reference(&raw, &scaler, |x| ensemble.predictions(x.view()).unwrap());
                    let outputs = run_onnx(&bytes, &raw, Batch::Fixed);
                    assert_matches(&format!("{name}, batch {batch}"), &outputs, &expected, None);
                }
            }
        }
        exported += 1;
    }
    assert!(exported >= 40, "only {exported} examples were exported");
}

#[test]
fn the_graph_has_named_inputs_outputs_and_a_symbolic_batch() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/digits.net");
    let (plan, splits) = load(&path).expect("digits is bundled");
    let trainer = perturbed(&plan, &splits, 3);
    let model = Export::model(&trainer, &splits.scaler).to_model().unwrap();
    assert_eq!(model.opset_import[0].version, knit_onnx::OPSET);
    let graph = model.graph.as_ref().unwrap();
    let input = &graph.input[0];
    assert_eq!(input.name, INPUT);
    let dims = &input
        .r#type
        .as_ref()
        .unwrap()
        .tensor_type
        .as_ref()
        .unwrap()
        .shape;
    let dims = &dims.as_ref().unwrap().dim;
    assert_eq!(dims[0].dim_param.as_deref(), Some("N"));
    assert_eq!(dims[1].dim_value, Some(64));
    let outputs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outputs, ["logits", "probabilities", "class"]);
    // One file, any batch: the runtime resolves `N` from the rows it is fed.
    let bytes = Export::model(&trainer, &splits.scaler).to_bytes().unwrap();
    let mut trainer = trainer;
    for rows in BATCHES {
        let raw = raw_rows(&splits, rows);
        let expected = reference(&raw, &splits.scaler, |x| {
            trainer.predictions(x.view()).unwrap()
        });
        let outputs = run_onnx(&bytes, &raw, Batch::Symbolic);
        assert_matches(&format!("digits, {rows} rows"), &outputs, &expected, None);
    }
    let program = &model.metadata_props[0];
    assert_eq!(program.key, "knit.program");
    assert_eq!(program.value, plan.program);
}

#[test]
fn an_ensemble_without_members_is_an_error() {
    let ensemble = Ensemble {
        members: vec![],
        combine: knit_train::Combine::Average,
    };
    let err = Export::ensemble(&ensemble, &Scaler::identity())
        .to_bytes()
        .unwrap_err();
    assert!(matches!(err, ExportError::Empty));
    assert_eq!(
        err.to_string(),
        "the ensemble has no members: there is nothing to export"
    );
}

#[test]
fn a_layer_the_exporter_cannot_write_is_an_error_naming_it() {
    // A model whose output is its loss: the loss reads the labels, which an exported graph
    // is never fed.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/digits.net");
    let (mut plan, splits) = load(&path).expect("digits is bundled");
    plan.models[0].output = plan.models[0].data_loss;
    let loss = plan.graph.nodes()[plan.models[0].data_loss.index()]
        .name
        .clone();
    let labels = plan.graph.nodes()[plan.labels.index()].name.clone();
    let trainer = Trainer::new(plan, splits.clone(), TrainOptions::default()).unwrap();
    let err = Export::model(&trainer, &splits.scaler)
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "layer `{loss}` cannot be exported to ONNX: it reads `{labels}`, an input other than \
             the model's features"
        )
    );
}
