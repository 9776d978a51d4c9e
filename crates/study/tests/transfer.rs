//! The transfer experiment end to end on seed 0: the pretrained convolutions carry over to
//! new digits, only the new head learns, and the features beat the same CNN from scratch on
//! 500 images, as in PyTorch (96.85 % against 95.56 %).

use std::path::PathBuf;

#[test]
fn frozen_pretrained_features_beat_training_from_scratch_on_500_images() {
    let techniques =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/techniques");
    let run = knit_study::transfer::run(&techniques, 0, 1).unwrap();
    // The head: dense 3136 → 128 and 128 → 5, with biases; the convolutions are frozen.
    assert_eq!(run.trainable, 3136 * 128 + 128 + 128 * 5 + 5);
    assert!(run.pretrain > 0.97, "pretraining reached {}", run.pretrain);
    assert!(run.frozen > 0.95, "frozen features reached {}", run.frozen);
    assert!(
        run.frozen > run.scratch,
        "frozen {} against scratch {}",
        run.frozen,
        run.scratch
    );
}
