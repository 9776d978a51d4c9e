//! The robust directions of the recurrent experiments, end to end on the experiment files:
//! without clipping the gain-1.5 RNN goes off the cliff while clipping keeps it finite; the
//! IRNN solves the adding problem at T = 10 while its gradient at the first step starts
//! smaller than at the last; and a recurrent layer's parameters do not grow with the length.

use knit_study::dependencies::{adding_run, cliff_run, sharing_across_time, SOLVED_BELOW};
use std::path::PathBuf;

fn techniques() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/techniques")
}

#[test]
fn clipping_keeps_the_exploding_rnn_off_the_cliff() {
    let wild = cliff_run(&techniques(), "cliff_unclipped.net", 0, 1).unwrap();
    let tame = cliff_run(&techniques(), "cliff_clipped.net", 0, 1).unwrap();
    assert!(wild.diverged_at.is_some(), "{wild:?}");
    assert!(wild.largest_norm > 1e6 && wild.spikes > 0, "{wild:?}");
    assert_eq!(tame.diverged_at, None, "{tame:?}");
    assert_eq!(tame.steps, 1000);
    assert!(tame.clipped > 0 && tame.final_loss < 0.5, "{tame:?}");
}

#[test]
fn the_irnn_solves_the_short_adding_problem() {
    let run = adding_run(&techniques(), "adding_irnn.net", 10, 0, 1).unwrap();
    assert_eq!(
        run.curve.len(),
        8,
        "test MSE after every 250 of 2,000 steps"
    );
    assert!(
        (run.trivial - 0.1686).abs() < 0.02,
        "predicting 1 scores about 1/6: {}",
        run.trivial
    );
    assert!(
        run.solved_at().is_some(),
        "below {SOLVED_BELOW}: {:?}",
        run.curve
    );
    assert!(*run.curve.last().unwrap() < 0.05, "{:?}", run.curve);
    let [first, _, last] = run.init_norms;
    assert!(first > 0.0 && first < last, "{:?}", run.init_norms);
}

#[test]
fn a_recurrent_layer_shares_its_weights_across_time() {
    for steps in [10, 100] {
        let (shared, unrolled) = sharing_across_time(&techniques(), steps).unwrap();
        // rnn(128) on 2 features: W_ih 128·2, W_hh 128·128, two biases of 128.
        assert_eq!(shared, 128 * 2 + 128 * 128 + 2 * 128);
        assert_eq!(unrolled, shared * steps);
    }
}
