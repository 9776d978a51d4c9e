//! The robust directions of the study's effects, end to end on the experiment files with
//! fixed seeds and short runs: L1 leaves more weights near zero than no penalty, the tied
//! pair's distance shrinks as the tie grows stronger, dropout's evaluation output is
//! deterministic while its training output is not, and batch norm lets the deep sigmoid
//! network train.

use knit_study::measure::{train, trainer};
use knit_study::program::{load, load_text, Experiment};
use knit_tensor::{Executor, Mode};
use ndarray::s;
use std::path::PathBuf;

fn techniques(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../dsl-examples/techniques")
        .join(file)
}

/// The experiment `file` with seed 0, trained for `epochs` only.
fn short(file: &str, epochs: usize) -> Experiment {
    let mut e = load(&techniques(file), 0).unwrap();
    e.plan.epochs = epochs;
    e
}

#[test]
fn l1_leaves_more_weights_near_zero_than_no_penalty() {
    let (none, _) = train(short("none.net", 15), 1).unwrap();
    let (l1, _) = train(short("l1.net", 15), 1).unwrap();
    assert!(
        l1.near_zero > 5.0 * none.near_zero && l1.near_zero > 0.1,
        "near-zero share with L1 {} vs none {}",
        l1.near_zero,
        none.near_zero
    );
}

#[test]
fn the_tied_pairs_distance_shrinks_as_the_strength_grows() {
    let path = techniques("tying.net");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("l2(0.01)"), "tying.net's tie changed");
    let distances: Vec<f64> = ["0", "0.001", "0.01"]
        .iter()
        .map(|strength| {
            let text = text.replace("l2(0.01)", &format!("l2({strength})"));
            let mut e = load_text(&path, &text, 0).unwrap();
            e.plan.epochs = 5;
            let (run, _) = train(e, 1).unwrap();
            run.tie_distance.expect("tying.net ties its weights")
        })
        .collect();
    assert!(
        distances[0] > distances[1] && distances[1] > distances[2],
        "distances at strengths 0, 0.001, 0.01: {distances:?}"
    );
}

#[test]
fn dropouts_evaluation_output_is_deterministic_and_its_training_output_is_not() {
    let e = short("dropout05.net", 2);
    let model = e.plan.models[0].clone();
    let test = e.splits.test.clone().unwrap();
    let mut t = trainer(e, 1).unwrap();
    t.fit(&mut knit_train::Silent).unwrap();
    assert_eq!(t.evaluate(&test).unwrap(), t.evaluate(&test).unwrap());

    let mut exec = Executor::<f32>::new(&t.plan().graph);
    exec.copy_state_from(t.executor());
    let x = test.features.slice(s![..64, ..]).into_dyn();
    let output = |exec: &mut Executor<f32>, step: u64, mode: Mode| {
        exec.set_step(step);
        exec.set_input(model.input, x.view()).unwrap();
        exec.run(model.output, mode).unwrap();
        exec.value(model.output).unwrap().to_owned()
    };
    let eval = output(&mut exec, 0, Mode::Eval);
    assert_eq!(eval, output(&mut exec, 9, Mode::Eval));
    let train_0 = output(&mut exec, 0, Mode::Train);
    assert_ne!(train_0, output(&mut exec, 9, Mode::Train));
    assert_ne!(train_0, eval);
}

#[test]
fn batch_norm_lets_the_deep_sigmoid_network_train() {
    let (plain, _) = train(short("deep_sigmoid.net", 10), 1).unwrap();
    let (normalized, _) = train(short("deep_sigmoid_bn.net", 10), 1).unwrap();
    assert!(
        normalized.train_accuracy > 0.9 && plain.train_accuracy < 0.5,
        "train accuracy with batch norm {} vs without {}",
        normalized.train_accuracy,
        plain.train_accuracy
    );
}
