//! Random composite graphs checked end to end against finite differences: MLPs of random
//! depth and width whose hidden layers share one weight matrix and add residual skips,
//! ending in softmax cross-entropy; the same with recurrent layers, and convolutional networks
//! with batch norm and a residual block.

mod common;

use common::*;
use knit_tensor::ops::Pointwise;
use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode, NodeId};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    batch: usize,
    inputs: usize,
    width: usize,
    classes: usize,
    /// Per hidden layer: its activation and whether it uses the shared weight (layers 0
    /// and 1 always do, so every case shares one parameter at least twice).
    layers: Vec<(Pointwise, bool)>,
    seed_values: Vec<f64>,
    labels: Vec<usize>,
}

fn activation() -> impl Strategy<Value = Pointwise> {
    prop_oneof![
        Just(Pointwise::Tanh),
        Just(Pointwise::Sigmoid),
        Just(Pointwise::Gelu),
        Just(Pointwise::Softplus {
            beta: 1.0,
            threshold: 20.0
        }),
        Just(Pointwise::Relu),
        Just(Pointwise::LeakyRelu { slope: 0.2 }),
        Just(Pointwise::Elu { alpha: 1.0 }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..5, 1usize..5, 1usize..6, 2usize..5, 2usize..5).prop_flat_map(
        |(batch, inputs, width, classes, depth)| {
            let layers = prop::collection::vec((activation(), any::<bool>()), depth);
            let n = batch * inputs
                + inputs * width
                + width * width * (depth + 1)
                + width * (depth + 1)
                + classes * width;
            let values = prop::collection::vec(-1.0..1.0f64, n);
            let labels = prop::collection::vec(0..classes, batch);
            (layers, values, labels).prop_map(move |(layers, seed_values, labels)| Case {
                batch,
                inputs,
                width,
                classes,
                layers,
                seed_values,
                labels,
            })
        },
    )
}

/// Takes the next `dims`-shaped block of values.
fn take(values: &mut impl Iterator<Item = f64>, dims: &[usize]) -> ArrayD<f64> {
    let n = dims.iter().product();
    ArrayD::from_shape_vec(IxDyn(dims), values.take(n).collect()).expect("enough values")
}

/// A built case: the graph, its loss, the pre-activations (for the kink check) and the
/// data to feed.
struct Built {
    graph: Graph,
    loss: NodeId,
    pre: Vec<(NodeId, Pointwise)>,
    x: ArrayD<f64>,
    labels: ArrayD<f64>,
}

fn build(c: &Case) -> Built {
    let mut v = c.seed_values.iter().copied();
    let x_data = take(&mut v, &[c.batch, c.inputs]) * 2.0;
    let mut g = Graph::new();
    let x = g.input("x", &[c.inputs]).unwrap();
    let y = g.labels("y").unwrap();
    let w_in = f32s(&take(&mut v, &[c.width, c.inputs]));
    let mut h = g.dense("in", x, w_in, None).unwrap();
    let shared = g
        .param("shared.weight", f32s(&take(&mut v, &[c.width, c.width])))
        .unwrap();
    let mut pre = Vec::new();
    for (i, &(act, use_shared)) in c.layers.iter().enumerate() {
        let own = f32s(&take(&mut v, &[c.width, c.width]));
        let bias = g
            .param(&format!("h{i}.bias"), f32s(&take(&mut v, &[c.width])))
            .unwrap();
        // Layers 0 and 1 always use the shared weight; the others at random.
        let weight = if use_shared || i < 2 {
            shared
        } else {
            g.param(&format!("h{i}.weight"), own).unwrap()
        };
        let z = g.linear(h, weight, Some(bias)).unwrap();
        pre.push((z, act));
        let a = g.pointwise(act, z).unwrap();
        h = g.add(a, h).unwrap(); // residual skip
    }
    let w_out = f32s(&take(&mut v, &[c.classes, c.width]));
    let logits = g.dense("out", h, w_out, None).unwrap();
    let loss = g.cross_entropy(logits, y).unwrap();
    let labels = ArrayD::from_shape_vec(
        IxDyn(&[c.batch]),
        c.labels.iter().map(|&l| l as f64).collect(),
    )
    .unwrap();
    Built {
        graph: g,
        loss,
        pre,
        x: x_data,
        labels,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_mlps_with_sharing_and_skips(c in case()) {
        let Built { graph: g, loss, pre, x: x_data, labels } = build(&c);
        let mut exec = Executor::<f64>::new(&g);
        exec.set_input(g.id("x").unwrap(), x_data.view()).unwrap();
        exec.set_input(g.id("y").unwrap(), labels.view()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        // Keep every kinked activation's input at least 1e-3 from its kink (2h = 2e-4).
        for &(z, act) in &pre {
            let kinked = matches!(act, Pointwise::Relu | Pointwise::LeakyRelu { .. } | Pointwise::Elu { .. });
            if kinked {
                prop_assume!(exec.value(z).unwrap().iter().all(|v| v.abs() > 1e-3));
            }
        }
        let mut wrt: Vec<NodeId> = g.params().map(|(id, _)| id).collect();
        wrt.push(g.id("x").unwrap());
        let report = gradcheck(&mut exec, loss, &wrt, &GradCheckConfig::default()).unwrap();
        prop_assert!(report.passed(), "\n{}", report);
    }
}

#[test]
fn a_shared_weight_receives_the_sum_of_both_uses() {
    // y = sum(W·(W·x)) with W used twice equals the graph with two equal copies of W whose
    // gradients are added, to the last bit.
    let w = ndarray::array![[0.5f32, -1.0], [2.0, 0.25]].into_dyn();
    let x = ndarray::array![[1.0f32, -2.0], [0.5, 3.0]].into_dyn();

    let mut shared = Graph::new();
    let xi = shared.input("x", &[2]).unwrap();
    let wi = shared.param("w", w.clone()).unwrap();
    let h = shared.linear(xi, wi, None).unwrap();
    let o = shared.linear(h, wi, None).unwrap();
    let loss = shared.sum(o, None).unwrap();
    let mut e1 = Executor::<f32>::new(&shared);
    e1.set_input(xi, x.view()).unwrap();
    e1.run(loss, Mode::Train).unwrap();
    e1.backward(loss).unwrap();

    let mut copies = Graph::new();
    let xi2 = copies.input("x", &[2]).unwrap();
    let wa = copies.param("wa", w.clone()).unwrap();
    let wb = copies.param("wb", w).unwrap();
    let h2 = copies.linear(xi2, wa, None).unwrap();
    let o2 = copies.linear(h2, wb, None).unwrap();
    let loss2 = copies.sum(o2, None).unwrap();
    let mut e2 = Executor::<f32>::new(&copies);
    e2.set_input(xi2, x.view()).unwrap();
    e2.run(loss2, Mode::Train).unwrap();
    e2.backward(loss2).unwrap();

    // Backward visits the later use first, so the sum is formed in that order.
    let expected = &e2.grad(wb).unwrap() + &e2.grad(wa).unwrap();
    assert_eq!(e1.grad(wi).unwrap(), expected);
    assert_eq!(e1.scalar(loss).unwrap(), e2.scalar(loss2).unwrap());
}

/// A random recurrent composite: a sequence through a recurrent cell, a per-step dense layer
/// whose weight is used twice with a residual skip, a readout over the steps, and a
/// classifier with softmax cross-entropy.
#[derive(Debug, Clone)]
struct SeqCase {
    cell: knit_tensor::ops::Cell,
    batch: usize,
    steps: usize,
    features: usize,
    hidden: usize,
    classes: usize,
    last: bool,
    values: Vec<f64>,
    labels: Vec<usize>,
}

fn seq_case() -> impl Strategy<Value = SeqCase> {
    use knit_tensor::ops::{Cell, RnnActivation};
    let cell = prop_oneof![
        Just(Cell::Rnn(RnnActivation::Tanh)),
        Just(Cell::Lstm),
        Just(Cell::Gru),
    ];
    (
        cell,
        1usize..4,
        1usize..6,
        1usize..4,
        1usize..5,
        2usize..4,
        any::<bool>(),
    )
        .prop_flat_map(|(cell, batch, steps, features, hidden, classes, last)| {
            let values = prop::collection::vec(-1.0..1.0f64, 1024);
            let labels = prop::collection::vec(0..classes, batch);
            (values, labels).prop_map(move |(values, labels)| SeqCase {
                cell,
                batch,
                steps,
                features,
                hidden,
                classes,
                last,
                values,
                labels,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_recurrent_composites_with_sharing_and_skips(c in seq_case()) {
        let mut v = c.values.iter().copied().cycle();
        let rows = c.cell.gates() * c.hidden;
        let x_data = take(&mut v, &[c.batch, c.steps, c.features]) * 2.0;
        let mut g = Graph::new();
        let x = g.input("x", &[c.steps, c.features]).unwrap();
        let y = g.labels("y").unwrap();
        let weights = knit_tensor::RecurrentWeights {
            ih: f32s(&take(&mut v, &[rows, c.features])),
            hh: f32s(&take(&mut v, &[rows, c.hidden])),
            biases: Some((f32s(&take(&mut v, &[rows])), f32s(&take(&mut v, &[rows])))),
        };
        let h = g.recurrent("rec", 0, x, c.cell, weights).unwrap();
        let shared = g
            .param("shared.weight", f32s(&take(&mut v, &[c.hidden, c.hidden])))
            .unwrap();
        let a = g.linear(h, shared, None).unwrap();
        let a = g.tanh(a).unwrap();
        let a = g.linear(a, shared, None).unwrap();
        let h = g.add(a, h).unwrap(); // residual skip around the shared pair
        let read = if c.last { g.last_step(h) } else { g.mean(h, Some(1)) }.unwrap();
        let logits = g
            .dense("out", read, f32s(&take(&mut v, &[c.classes, c.hidden])), None)
            .unwrap();
        let loss = g.cross_entropy(logits, y).unwrap();
        let labels = ArrayD::from_shape_vec(
            IxDyn(&[c.batch]),
            c.labels.iter().map(|&l| l as f64).collect(),
        )
        .unwrap();
        let mut exec = Executor::<f64>::new(&g);
        exec.set_input(x, x_data.view()).unwrap();
        exec.set_input(y, labels.view()).unwrap();
        let mut wrt: Vec<NodeId> = g.params().map(|(id, _)| id).collect();
        wrt.push(x);
        let report = gradcheck(&mut exec, loss, &wrt, &GradCheckConfig::default()).unwrap();
        prop_assert!(report.passed(), "\n{}", report);
    }
}

/// A random convolutional composite: a convolution, batch norm per channel (in training),
/// an activation, a padded 3×3 convolution (stride 1, so the shape is kept) whose output is
/// added back to its input (a residual block), a pooling, global average pooling and a
/// classifier with softmax cross-entropy.
#[derive(Debug, Clone)]
struct ConvCase {
    batch: usize,
    channels: usize,
    width: usize,
    side: usize,
    kernel: usize,
    max_pool: bool,
    values: Vec<f64>,
    labels: Vec<usize>,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        1usize..4,
        1usize..3,
        1usize..4,
        3usize..6,
        1usize..3,
        any::<bool>(),
    )
        .prop_flat_map(|(batch, channels, width, side, kernel, max_pool)| {
            let values = prop::collection::vec(-1.0..1.0f64, 1024);
            let labels = prop::collection::vec(0..3usize, batch);
            (values, labels).prop_map(move |(values, labels)| ConvCase {
                batch,
                channels,
                width,
                side,
                kernel,
                max_pool,
                values,
                labels,
            })
        })
        // Batch norm in training needs two values per channel.
        .prop_filter("two values per channel", |c| {
            let out = c.side - c.kernel + 1;
            c.batch * out * out > 1
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_conv_composites_with_batch_norm_and_a_residual_block(c in conv_case()) {
        use knit_tensor::ops::{AvgPool2d, BatchNorm, Conv2d, MaxPool2d};
        let mut v = c.values.iter().copied().cycle();
        let (k, w) = (c.kernel, c.width);
        let x_data = take(&mut v, &[c.batch, c.channels, c.side, c.side]) * 2.0;
        let mut g = Graph::new();
        let x = g.input("x", &[c.channels, c.side, c.side]).unwrap();
        let y = g.labels("y").unwrap();
        let conv = |s: usize, p: usize| Conv2d::new([s, s], [p, p], [1, 1], 1).unwrap();
        let h = g
            .conv2d("c1", x, f32s(&take(&mut v, &[w, c.channels, k, k])), Some(f32s(&take(&mut v, &[w]))), conv(1, 0))
            .unwrap();
        let c1_out = h;
        let h = g.batch_norm("bn", h, BatchNorm::default()).unwrap();
        let h = g.tanh(h).unwrap();
        let r = g
            .conv2d("c2", h, f32s(&take(&mut v, &[w, w, 3, 3])), None, conv(1, 1))
            .unwrap();
        let block = g.add(r, h).unwrap(); // the residual block
        let h = block;
        let h = if c.max_pool {
            g.max_pool(h, MaxPool2d::new([2, 2], [1, 1], [0, 0]).unwrap())
        } else {
            g.avg_pool(h, AvgPool2d::new([2, 2], [1, 1], [1, 1]).unwrap())
        }
        .unwrap();
        let h = g.global_avg_pool(h).unwrap();
        let logits = g
            .dense("out", h, f32s(&take(&mut v, &[3, w])), None)
            .unwrap();
        let loss = g.cross_entropy(logits, y).unwrap();
        let labels = ArrayD::from_shape_vec(
            IxDyn(&[c.batch]),
            c.labels.iter().map(|&l| l as f64).collect(),
        )
        .unwrap();
        let mut exec = Executor::<f64>::new(&g);
        exec.set_input(x, x_data.view()).unwrap();
        exec.set_input(y, labels.view()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        // Channels whose batch variance is near zero (shrunk inputs of mostly zeros) are
        // left out: there batch norm varies on the scale √ε ≈ 3e-3 of its input, comparable
        // to the finite differences' step 1e-4, so the stencil's truncation error (about
        // (1e-4/3e-3)⁴ of the slope, a few 1e-5) is no reference. Probed directly (a 1×1
        // conv of a near-constant image into batch norm), the exact gradient matches the
        // finite differences wherever the variance is not that small.
        prop_assume!(smallest_channel_variance(&exec.value(c1_out).unwrap().to_owned()) > 1e-3);
        if c.max_pool {
            // Max pooling has a kink where a window's two largest values meet; finite
            // differences (step 1e-4) across it are no reference, so such cases are skipped.
            prop_assume!(smallest_top_two_gap(&exec.value(block).unwrap().to_owned()) > 1e-2);
        }
        let mut wrt: Vec<NodeId> = g.params().map(|(id, _)| id).collect();
        wrt.push(x);
        // Batch norm over as few as two values per channel divides by a small deviation, so
        // the finite differences' truncation error reaches a few 1e-6 relative: rtol 1e-5.
        let config = GradCheckConfig { mode: Mode::Train, rtol: 1e-5, ..Default::default() };
        let report = gradcheck(&mut exec, loss, &wrt, &config).unwrap();
        prop_assert!(report.passed(), "\n{}", report);
    }
}

/// The smallest gap between the largest and the second largest value of any 2×2 window,
/// stride 1, of `[B, C, H, W]` images (the windows of the max pooling above).
fn smallest_top_two_gap(images: &ArrayD<f64>) -> f64 {
    let (b, c, h, w) = (
        images.shape()[0],
        images.shape()[1],
        images.shape()[2],
        images.shape()[3],
    );
    let mut gap = f64::INFINITY;
    for (n, ch, y, x) in window_corners(b, c, h.saturating_sub(1), w.saturating_sub(1)) {
        let mut window = [0.0; 4];
        for (k, v) in window.iter_mut().enumerate() {
            *v = images[[n, ch, y + k / 2, x + k % 2]];
        }
        window.sort_by(|a, b| b.total_cmp(a));
        gap = gap.min(window[0] - window[1]);
    }
    gap
}

/// Every `(n, c, y, x)` below the given bounds.
fn window_corners(
    b: usize,
    c: usize,
    h: usize,
    w: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..b).flat_map(move |n| {
        (0..c).flat_map(move |ch| (0..h).flat_map(move |y| (0..w).map(move |x| (n, ch, y, x))))
    })
}

/// The smallest variance, over the batch and the plane, of any channel of `[B, C, H, W]`.
fn smallest_channel_variance(images: &ArrayD<f64>) -> f64 {
    (0..images.shape()[1])
        .map(|j| images.index_axis(ndarray::Axis(1), j).var(0.0))
        .fold(f64::INFINITY, f64::min)
}
