//! The convolutional layers: shapes, summary rows, PyTorch's parameter names and default
//! initialization, the texts of their errors, and their layout under `knit fmt`.

use knit_dsl::diagnostic::Diagnostic;
use knit_dsl::{check_text, format_text};
use knit_tensor::NodeKind;
use std::path::Path;

/// Checks `text`, returning its errors.
fn errors(text: &str) -> Vec<Diagnostic> {
    let checked = check_text(Path::new("t.net"), text);
    checked
        .diagnostics
        .items
        .into_iter()
        .filter(|d| d.is_error())
        .collect()
}

/// The one error of `text`.
fn error(text: &str) -> Diagnostic {
    let mut e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.remove(0)
}

/// A model `m(x: [input]) -> [output]` whose body is `body`.
fn model(input: &str, output: &str, body: &str) -> String {
    format!("model m(x: [{input}]) -> [{output}] {{\n  {body}\n}}\n")
}

const CNN: &str = "model cnn(x: [1, 28, 28]) -> [10] {
  c1  = x |> conv2d(32, 3) |> relu |> max_pool(2)
  c2  = c1 |> conv2d(64, 3) |> relu |> max_pool(2)
  h   = c2 |> flatten |> dense(128) |> relu
  out = h |> dense(10)
}
";

#[test]
fn the_mnist_cnn_has_pytorchs_shapes_parameters_and_flops() {
    let checked = check_text(Path::new("t.net"), CNN);
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    let m = &checked.summary.models[0];
    let rows: Vec<(String, String, String, usize)> = m
        .layers
        .iter()
        .map(|l| {
            (
                l.node.clone(),
                l.layer.clone(),
                l.shape.to_string(),
                l.params,
            )
        })
        .collect();
    let row = |n: &str, l: &str, s: &str, p: usize| (n.into(), l.into(), s.into(), p);
    assert_eq!(
        rows[0],
        row("c1", "conv2d 1→32 3×3", "[B, 32, 26, 26]", 320)
    );
    assert_eq!(rows[2], row("c1", "max_pool 2×2", "[B, 32, 13, 13]", 0));
    assert_eq!(
        rows[3],
        row("c2", "conv2d 32→64 3×3", "[B, 64, 11, 11]", 18_496)
    );
    assert_eq!(rows[5], row("c2", "max_pool 2×2", "[B, 64, 5, 5]", 0));
    assert_eq!(rows[6], row("h", "flatten", "[B, 1600]", 0));
    assert_eq!(rows[7], row("h", "dense 1600→128", "[B, 128]", 204_928));
    assert_eq!(m.params, 320 + 18_496 + 204_928 + 1_290);
    // 2·out·OH·OW·C·kh·kw per convolution, 2·in·out per dense layer; nothing for pooling.
    let conv = 2 * 32 * 26 * 26 * 9 + 2 * 64 * 11 * 11 * 32 * 9;
    assert_eq!(m.flops, conv + 2 * 1600 * 128 + 2 * 128 * 10);
    let text = checked.summary.to_string();
    assert!(
        text.contains("  c1     conv2d 1→32 3×3   [B, 32, 26, 26]         320     389 k\n"),
        "{text}"
    );
}

#[test]
fn settings_other_than_pytorchs_defaults_show_in_the_summary() {
    let body = "out = x |> conv2d(8, [3, 5], stride: 2, padding: [1, 2], dilation: 2, groups: 2) |> avg_pool(2, stride: 1, padding: 1) |> global_avg_pool";
    let checked = check_text(Path::new("t.net"), &model("4, 17, 17", "8", body));
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    let layers: Vec<String> = checked.summary.models[0]
        .layers
        .iter()
        .map(|l| format!("{} {}", l.layer, l.shape))
        .collect();
    assert_eq!(
        layers,
        [
            "conv2d 4→8 3×5, stride 2, padding 1×2, dilation 2, groups 2 [B, 8, 8, 7]",
            "avg_pool 2×2, stride 1, padding 1 [B, 8, 9, 8]",
            "global_avg_pool [B, 8]",
        ]
    );
    // weight [8, 4/2, 3, 5] and bias [8]
    assert_eq!(checked.summary.models[0].params, 8 * 2 * 15 + 8);
}

#[test]
fn padding_same_keeps_the_image_size() {
    let body =
        "out = x |> conv2d(4, [3, 5], padding: same) |> conv2d(2, 3, dilation: 2, padding: same)";
    let checked = check_text(Path::new("t.net"), &model("1, 9, 9", "2, 9, 9", body));
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    let labels: Vec<&str> = checked.summary.models[0]
        .layers
        .iter()
        .map(|l| l.layer.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "conv2d 1→4 3×5, padding 1×2",
            "conv2d 4→2 3×3, padding 2, dilation 2"
        ]
    );
}

#[test]
fn parameters_are_named_and_initialized_like_pytorchs_conv2d() {
    let text = "data d {
  source synthetic(uniform, samples: 32, features: 150, classes: 2)
}

model m(x: [6, 5, 5]) -> [2] {
  c   = x |> conv2d(40, 3, groups: 2)
  g   = c |> conv2d(4, 3, bias: false, init: zeros)
  out = g |> flatten |> dense(2)
}

train m on d {
  loss      cross_entropy
  optimizer sgd(lr: 0.1)
  batch     8
  epochs    1
}
";
    let checked = check_text(Path::new("t.net"), text);
    assert!(
        !checked.diagnostics.has_errors(),
        "{:?}",
        checked.diagnostics
    );
    let plan = checked.plan.expect("a plan");
    let params: Vec<(&str, Vec<usize>, f32)> = plan
        .graph
        .params()
        .map(|(_, n)| {
            let NodeKind::Param { init, .. } = &n.kind else {
                unreachable!()
            };
            let max = init.iter().fold(0f32, |m, v| m.max(v.abs()));
            (n.name.as_str(), n.shape.dims.clone(), max)
        })
        .collect();
    let names: Vec<(&str, &[usize])> = params.iter().map(|(n, d, _)| (*n, d.as_slice())).collect();
    assert_eq!(
        names[..3],
        [
            ("c.weight", &[40, 3, 3, 3][..]),
            ("c.bias", &[40][..]),
            ("g.weight", &[4, 40, 3, 3][..]),
        ]
    );
    // U(±1/√fan_in), fan_in = C/groups·kh·kw = 27, for the weight and the bias alike.
    let bound = 1.0 / 27f32.sqrt();
    let (w, b) = (params[0].2, params[1].2);
    assert!(
        w <= bound && w > 0.9 * bound,
        "weight max |w| {w}, bound {bound}"
    );
    assert!(
        b <= bound && b > 0.5 * bound,
        "bias max |b| {b}, bound {bound}"
    );
    assert_eq!(params[2].2, 0.0, "init: zeros");
}

#[test]
fn a_kernel_that_no_longer_fits_names_the_layer_and_the_arithmetic() {
    let body =
        "p   = x |> max_pool(2) |> max_pool(2)\n  out = p |> conv2d(8, 5) |> flatten |> dense(10)";
    let e = error(&model("1, 12, 12", "10", body));
    assert_eq!(e.code.as_str(), "knit::shape_mismatch");
    assert_eq!(
        e.message,
        "shape mismatch in conv2d `out`: a 5×5 kernel does not fit a 3×3 input with padding 0 (3 + 2·0 = 3 < 1·(5 − 1) + 1 = 5)"
    );
    let labels: Vec<&str> = e.labels.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        labels,
        [
            "conv2d `out` gets [B, 1, 3, 3]",
            "max_pool in `p` gives [B, 1, 3, 3]"
        ]
    );
}

#[test]
fn a_window_that_does_not_fit_names_the_pooling() {
    let e = error(&model("1, 3, 3", "1, 1, 1", "out = x |> avg_pool(4)"));
    assert_eq!(
        e.message,
        "shape mismatch in avg_pool: a 4×4 window does not fit a 3×3 input with padding 0 (3 + 2·0 = 3 < 1·(4 − 1) + 1 = 4)"
    );
}

#[test]
fn a_flat_input_suggests_the_reshape_that_makes_it_an_image() {
    let e = error(&model(
        "784",
        "10",
        "out = x |> conv2d(8, 3) |> flatten |> dense(10)",
    ));
    assert_eq!(
        e.message,
        "conv2d needs images [B, C, H, W], but the input `x` gives [B, 784]"
    );
    assert_eq!(
        e.help.as_deref(),
        Some("conv2d reads images [channels, height, width]; to read 784 values as one 28×28 channel, reshape them first (`|> reshape([1, 28, 28])`) or declare the input as `[1, 28, 28]`")
    );
    let e = error(&model("28, 28", "28", "out = x |> global_avg_pool"));
    assert!(e.help.unwrap().ends_with("`|> reshape([1, 28, 28])`"));
    let e = error(&model("30", "10", "out = x |> max_pool(2) |> dense(10)"));
    assert!(e.help.unwrap().contains("C·H·W = 30"));
    // The reshape the help suggests works.
    let fixed = model(
        "784",
        "10",
        "out = x |> reshape([1, 28, 28]) |> conv2d(8, 3) |> flatten |> dense(10)",
    );
    assert!(errors(&fixed).is_empty());
}

#[test]
fn dense_on_an_image_asks_for_flatten() {
    let e = error(&model(
        "1, 28, 28",
        "10",
        "out = x |> conv2d(4, 3) |> dense(10)",
    ));
    assert_eq!(
        e.message,
        "dense needs [B, features] inputs, but conv2d `out` gives [B, 4, 26, 26]"
    );
}

#[test]
fn wrong_arguments_are_reported_with_their_reasons() {
    let cases = [
        (
            "conv2d(4, 3, stride: 2, padding: same)",
            "conv2d: `padding: same` needs stride 1, got stride 2",
        ),
        (
            "conv2d(4, 4, padding: same)",
            "conv2d: `padding: same` with a 4×4 kernel needs 3 rows and 3 columns of zeros, which cannot be split evenly between the two sides",
        ),
        (
            "conv2d(4, 3, groups: 2)",
            "conv2d: groups 2 must divide both the 3 input channels and the 4 output channels",
        ),
        (
            "conv2d(4, [3, 3, 3])",
            "`kernel` must be a whole number or [height, width], found a list of 3 numbers",
        ),
        (
            "conv2d(4, 3, stride: same)",
            "`stride` must be a whole number or [height, width], found the name `same`",
        ),
        (
            "conv2d(4, 3, padding: \"1\")",
            "`padding` must be a whole number, [height, width] or `same`, found the string \"1\"",
        ),
        (
            "max_pool(2, padding: 2)",
            "max_pool: padding 2 must be at most half the 2×2 kernel",
        ),
        (
            "conv2d(4, 3, bias: false, bias_init: zeros)",
            "`bias_init` needs the layer's bias",
        ),
        ("conv2d(4)", "`conv2d` needs `kernel`"),
    ];
    for (layer, message) in cases {
        let e = error(&model("3, 8, 8", "4, 6, 6", &format!("out = x |> {layer}")));
        assert_eq!(e.message, message, "{layer}");
        assert!(!e.labels.is_empty(), "{layer}");
    }
    let e = error(&model(
        "3, 8, 8",
        "3, 4, 4",
        "out = x |> avg_pool(2, stride: 0)",
    ));
    assert!(e.message.contains("from 1 to"), "{}", e.message);
}

#[test]
fn fmt_keeps_the_new_layers_and_is_stable() {
    let messy = "model cnn(x:[1,28,28])->[10]{\nc1=x|>conv2d(32,[3,3],padding:same,bias:false)|>max_pool(2,stride:1)\nout=c1|>global_avg_pool|>dense(10)\n}\n";
    let formatted = format_text(messy).expect("formats");
    assert_eq!(
        formatted,
        "model cnn(x: [1, 28, 28]) -> [10] {\n  c1  = x |> conv2d(32, [3, 3], padding: same, bias: false) |> max_pool(2, stride: 1)\n  out = c1 |> global_avg_pool |> dense(10)\n}\n"
    );
    assert_eq!(format_text(&formatted).expect("formats"), formatted);
    assert!(errors(&formatted).is_empty());
}

#[test]
fn explain_writes_out_every_default_including_the_pooling_stride() {
    let outcome = knit_dsl::check_source(Path::new("t.net"), CNN);
    let explained = knit_dsl::explain_text(&outcome).expect("explained");
    assert!(
        explained.contains("conv2d(out: 32, kernel: 3, stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, init: fan_in_uniform, bias_init: fan_in_uniform)"),
        "{explained}"
    );
    assert!(
        explained.contains("max_pool(kernel: 2, stride: 2, padding: 0)"),
        "{explained}"
    );
}

#[test]
fn explain_of_every_argument_form_is_a_fixed_point() {
    let text = "let k = [3, 5]

model net(x: [3, 32, 32]) -> [10] {
  a   = x |> conv2d(32, k, padding: same, init: he_normal)
  b   = a |> conv2d(32, 3, groups: 32, bias: false) |> avg_pool(3, stride: 2, padding: 1)
  c   = conv2d(b, 64, kernel: 1, stride: [2, 1], dilation: 2)
  out = c |> max_pool([2, 3], stride: 1) |> global_avg_pool |> dense(10)
}
";
    let outcome = knit_dsl::check_source(Path::new("t.net"), text);
    let explained = knit_dsl::explain_text(&outcome).expect("explained");
    for part in [
        "conv2d(out: 32, kernel: [3, 5], stride: 1, padding: same,",
        "init: he_normal(mode: fan_in, nonlinearity: relu)",
        // No bias, so no bias_init: the explained program would not check.
        "groups: 32, bias: false, init: fan_in_uniform)",
        "avg_pool(kernel: 3, stride: 2, padding: 1)",
        "stride: [2, 1], padding: 0, dilation: 2, groups: 1",
        "max_pool(kernel: [2, 3], stride: 1, padding: 0)",
    ] {
        assert!(explained.contains(part), "{part}\n{explained}");
    }
    let again = check_text(Path::new("t.net"), explained);
    assert!(!again.diagnostics.has_errors(), "{:?}", again.diagnostics);
    assert_eq!(again.explained.as_deref(), Some(explained));
}
