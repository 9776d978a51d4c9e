//! A checkpoint loaded into a fresh trainer predicts exactly what the trained one did: the
//! weights, the batch-norm running statistics and nothing else decide the outputs in
//! evaluation mode.

use knit_train::{Checkpoint, Silent, TrainOptions, Trainer};
use std::path::Path;

/// Compiles a bundled example, with the number of epochs replaced.
fn plan(name: &str, epochs: usize) -> knit_train::Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dsl-examples")
        .join(name);
    let outcome = knit_dsl::check_file(&path);
    assert!(
        !outcome.checked.diagnostics.has_errors(),
        "{:?}",
        outcome.checked.diagnostics
    );
    let mut plan = outcome.checked.plan.expect("a plan");
    plan.epochs = epochs;
    plan
}

fn options() -> TrainOptions {
    TrainOptions {
        threads: 1,
        eval_batch: 100,
    }
}

#[test]
fn a_fresh_trainer_loaded_from_a_checkpoint_predicts_the_same_bits() {
    // digits.net has batch norm (running statistics), dropout (off in evaluation) and a
    // residual skip.
    let trained_plan = plan("digits.net", 3);
    let splits = knit_data::load(&trained_plan.data, Path::new("")).unwrap();
    let test = splits.test.clone().expect("digits.net has a test split");
    let mut trained = Trainer::new(trained_plan, splits.clone(), options()).unwrap();
    trained.fit(&mut Silent).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("digits.safetensors");
    trained.save(&file).unwrap();

    let mut fresh = Trainer::new(plan("digits.net", 3), splits, options()).unwrap();
    let before = fresh.outputs(test.features.view()).unwrap();
    let loaded = fresh
        .load_weights(&Checkpoint::read(&file).unwrap(), &file, &[])
        .unwrap();
    // 3 dense layers (weight, bias) + batch norm (weight, bias, running mean and variance,
    // batch counter).
    assert_eq!(loaded, 11);

    let expected = trained.outputs(test.features.view()).unwrap();
    let got = fresh.outputs(test.features.view()).unwrap();
    assert_ne!(before, expected, "the fresh trainer must start elsewhere");
    let bits = |a: &ndarray::Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&expected));
    assert_eq!(
        fresh.evaluate(&test).unwrap(),
        trained.evaluate(&test).unwrap()
    );
}
