//! The convolutional rows of the study: their files compile to the models and splits the
//! document describes, and sharing across space is counted as PyTorch's `Conv2d` defines the
//! parameters (kernel `[out, C, 3, 3]` and bias `[out]`).

use knit_study::experiments::CNN_ROWS;
use knit_study::program::{compile, load};
use knit_study::space::{of_file, SpaceSharing};
use std::path::PathBuf;

fn techniques() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/techniques")
}

#[test]
fn the_cnns_convolutions_are_counted_shared_and_unshared() {
    // conv2d(32, 3) on one channel: 32·1·3·3 + 32; conv2d(64, 3) on 32 channels: 64·32·3·3 + 64.
    let (c1, c2) = (32 * 9 + 32, 64 * 32 * 9 + 64);
    // Padding 1 keeps 28×28 for the first, 2×2 pooling leaves 14×14 for the second.
    let unshared = c1 * 28 * 28 + c2 * 14 * 14;
    // After the second pooling: 64·7·7 features into dense(128), then dense(10).
    let total = c1 + c2 + (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10);
    assert_eq!(
        of_file(&techniques(), "cnn.net").unwrap(),
        SpaceSharing {
            shared: 18_816,
            unshared: 3_876_096,
            total: 421_642,
        }
    );
    assert_eq!((c1 + c2, unshared, total), (18_816, 3_876_096, 421_642));
    // The MLP baseline has about as many parameters: 784·512 + 512 + 512·10 + 10.
    let mlp = compile(&techniques().join("cnn_mlp.net"), 0).unwrap();
    assert_eq!(mlp.graph.param_count(), 784 * 512 + 512 + 512 * 10 + 10);
    assert_eq!(of_file(&techniques(), "cnn_mlp.net").unwrap().shared, 0);
}

#[test]
fn the_convolutional_data_file_is_in_canonical_layout() {
    let text = std::fs::read_to_string(techniques().join("data_cnn.net")).unwrap();
    assert_eq!(knit_dsl::format_text(&text).unwrap(), text);
}

#[test]
fn the_convolutional_rows_train_on_the_documented_splits() {
    for row in CNN_ROWS {
        let path = techniques().join(row.file());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            knit_dsl::format_text(&text).unwrap(),
            text,
            "{} is not in canonical layout",
            row.name
        );
        let e = load(&path, 0).unwrap();
        let sizes = [
            e.splits.train.len(),
            e.splits.validation.as_ref().map_or(0, |d| d.len()),
            e.splits.test.as_ref().map_or(0, |d| d.len()),
        ];
        let small = row.name.starts_with("cnn_small");
        let train = if small { 1000 } else { 2000 };
        assert_eq!(sizes, [train, 1000, 2000], "{}", row.name);
        assert_eq!(
            e.plan.augment.is_some(),
            row.name == "cnn_small_crop",
            "{}",
            row.name
        );
    }
}
