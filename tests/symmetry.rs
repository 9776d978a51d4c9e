//! The symmetry demonstration of `examples/symmetry.rs`, asserted.

#[path = "../examples/symmetry.rs"]
mod symmetry;

use knit::init::{Constant, GlorotUniform, HeNormal};
use symmetry::train_xor;

#[test]
fn a_constant_start_keeps_hidden_units_identical_and_fails_xor() {
    let outcome = train_xor(&Constant::new(0.5).unwrap(), 500, 1);
    assert!(outcome.hidden_rows_identical, "{outcome:?}");
    assert!(outcome.accuracy <= 0.75, "{outcome:?}");
    assert!(outcome.loss > 0.3, "{outcome:?}");
}

#[test]
fn glorot_and_he_starts_learn_xor() {
    for seed in [1, 2, 3] {
        for outcome in [
            train_xor(&GlorotUniform::default(), 500, seed),
            train_xor(&HeNormal::default(), 500, seed),
        ] {
            assert!(!outcome.hidden_rows_identical, "{outcome:?}");
            assert_eq!(outcome.accuracy, 1.0, "seed {seed}: {outcome:?}");
            assert!(outcome.loss < 0.05, "seed {seed}: {outcome:?}");
        }
    }
}
