//! Every summary row's forward FLOPs per example, counted as PEERS.md counts them: the
//! multiply-adds of the products ×2; bias, activations, pooling and normalization not counted.

use knit_dsl::{check_file, check_text, readable, ModelSummary};
use std::path::Path;

/// The one model of `text`, which must check.
fn summary(text: &str) -> ModelSummary {
    let checked = check_text(Path::new("t.net"), text);
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    checked.summary.models[0].clone()
}

/// `(node, layer, flops)` of every row.
fn rows(m: &ModelSummary) -> Vec<(String, String, u64)> {
    m.layers
        .iter()
        .map(|l| (l.node.clone(), l.layer.clone(), l.flops))
        .collect()
}

/// The rows add up to the model's total.
fn assert_total(m: &ModelSummary) {
    assert_eq!(m.layers.iter().map(|l| l.flops).sum::<u64>(), m.flops);
}

#[test]
fn the_benchmark_cnn_counts_what_peers_md_counts() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dsl-examples/bench_cnn.net");
    let outcome = check_file(&path);
    let m = &outcome.checked.summary.models[0];
    let flops: Vec<(String, u64)> = m
        .layers
        .iter()
        .filter(|l| l.flops > 0)
        .map(|l| (l.node.clone(), l.flops))
        .collect();
    // PEERS.md: MACs conv1 225,792, conv2 3,612,672, fc1 401,408, fc2 1,280; forward ×2.
    let want = [
        ("c1", 451_584),
        ("c2", 7_225_344),
        ("h", 802_816),
        ("out", 2_560),
    ];
    let want: Vec<(String, u64)> = want.iter().map(|(n, f)| (n.to_string(), *f)).collect();
    assert_eq!(flops, want);
    assert_eq!(m.flops, 8_482_304);
    assert_total(m);
    // ReLU, pooling and flatten count nothing.
    for l in m.layers.iter().filter(|l| l.params == 0) {
        assert_eq!(l.flops, 0, "{}", l.layer);
    }
    let text = outcome.checked.summary.to_string();
    let line = |start: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no `{start}` row in\n{text}"))
            .to_string()
    };
    assert!(
        line("c2     conv2d 32→64").ends_with("18,496    7.23 M"),
        "{text}"
    );
    assert!(line("total").ends_with("421,642    8.48 M"), "{text}");
    assert!(
        text.contains(
            "421,642 parameters, 8,482,304 FLOPs per example (forward, multiply-adds ×2)"
        ),
        "{text}"
    );
}

#[test]
fn the_benchmark_lstm_counts_both_products_at_every_step() {
    let m = summary(
        "model seq(x: [28, 28]) -> [10] {\n  h = x |> lstm(128)\n  out = h |> last_step |> dense(10)\n}\n",
    );
    // PEERS.md: per step 14,336 + 65,536 MACs, 28 steps, fc 1,280 MACs; forward 4,475,392.
    let lstm = 2 * 28 * (4 * 128 * 28 + 4 * 128 * 128);
    assert_eq!(rows(&m)[0], ("h".into(), "lstm 28→128".into(), lstm));
    assert_eq!(rows(&m)[2].2, 2 * 128 * 10);
    assert_eq!(m.flops, 4_475_392);
    assert_total(&m);
}

#[test]
fn a_recurrent_stack_counts_every_layer_in_its_row() {
    let m = summary(
        "model seq(x: [5, 3]) -> [5, 4] {\n  h = x |> gru(4, layers: 2, dropout: 0.5)\n}\n",
    );
    // Layer 0: [3H, 3] and [3H, H]; layer 1: [3H, H] twice; every one of the 5 steps.
    let want = 2 * 5 * (12 * 3 + 12 * 4 + 12 * 4 + 12 * 4);
    assert_eq!(rows(&m), vec![("h".into(), "gru 3→4 ×2".into(), want)]);
    assert_total(&m);
}

#[test]
fn a_grouped_strided_dilated_convolution_counts_its_output_positions() {
    let m = summary(
        "model m(x: [4, 17, 17]) -> [8] {\n  out = x |> conv2d(8, [3, 5], stride: 2, padding: [1, 2], dilation: 2, groups: 2) |> batchnorm |> relu |> avg_pool(2) |> global_avg_pool\n}\n",
    );
    let rows = rows(&m);
    // Output [8, 8, 7]: (17 + 2·1 - 2·2 - 1) / 2 + 1 = 8 high, (17 + 2·2 - 2·4 - 1) / 2 + 1
    // = 7 wide; C/groups = 2.
    assert_eq!(rows[0].2, 2 * 8 * 8 * 7 * 2 * 3 * 5);
    assert!(rows[1..].iter().all(|r| r.2 == 0), "{rows:?}");
    assert_eq!(m.flops, rows[0].2);
}

#[test]
fn a_shared_dense_layer_counts_its_product_each_time_it_is_applied() {
    let m = summary(
        "param w: [6, 6] = glorot_uniform\n\nmodel m(x: [6]) -> [6] {\n  a = x |> dense(weight: w, bias: false)\n  out = a |> dense(weight: w, bias: false)\n}\n",
    );
    assert_eq!(rows(&m).iter().map(|r| r.2).collect::<Vec<_>>(), [72, 72]);
    assert_total(&m);
}

#[test]
fn readable_counts_keep_three_significant_digits() {
    let cases = [
        (0, "0"),
        (999, "999"),
        (1_000, "1.00 k"),
        (2_560, "2.56 k"),
        (451_584, "452 k"),
        (802_816, "803 k"),
        (999_999, "1.00 M"),
        (7_225_344, "7.23 M"),
        (8_482_304, "8.48 M"),
        (12_492_288, "12.5 M"),
        (250_000_000_000, "250 G"),
    ];
    for (n, text) in cases {
        assert_eq!(readable(n), text, "{n}");
    }
}
