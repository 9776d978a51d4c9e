//! The convolutions of `dsl-examples/bench_cnn.net` one at a time: forward and backward of
//! `conv1` (1 → 32 channels, 28 × 28, no input gradient, as for the first layer of a network)
//! and `conv2` (32 → 64 channels, 14 × 14, with the input gradient), 3 × 3 kernels with
//! padding 1, at batch 64 and 256. It times the op alone, away from the rest of a training
//! step, so that a change to the convolution can be judged on a noisy host: every cell is
//! the best of `--repeats` passes, the passes of the configurations interleaved.
//!
//! `cargo bench -p knit-tensor --bench conv [-- --threads 2 --repeats 30 --layer conv2]`.
//! GFLOP/s counts `2 · out · OH · OW · C · 9` per example for each product (forward, ∂W,
//! ∂x); compare it with the FMA peak of the same machine (`shared/bench/peak/fma_peak.c`).

use knit_tensor::ops::Conv2d;
use knit_tensor::{with_thread_pool, Executor, Graph, Mode, NodeId};
use ndarray::{ArrayD, IxDyn};
use std::time::Instant;

/// One layer of the benchmark CNN.
struct Layer {
    name: &'static str,
    channels: usize,
    out: usize,
    side: usize,
    /// Whether the input gradient is computed (every layer but the first).
    input_gradient: bool,
}

const LAYERS: [Layer; 2] = [
    Layer {
        name: "conv1",
        channels: 1,
        out: 32,
        side: 28,
        input_gradient: false,
    },
    Layer {
        name: "conv2",
        channels: 32,
        out: 64,
        side: 14,
        input_gradient: true,
    },
];

/// Deterministic values in [-0.5, 0.5).
fn values(dims: &[usize], seed: u64) -> ArrayD<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    })
}

/// A graph `y = conv(x [+ shift])`, the shift a parameter so that the input gradient is
/// wanted (back-propagated from `y` seeded with ones); returns the graph, `y` and the feeds.
fn graph(layer: &Layer, batch: usize) -> (Graph, NodeId, Vec<(NodeId, ArrayD<f32>)>) {
    let (c, s) = (layer.channels, layer.side);
    let mut g = Graph::new();
    let x = g.input("x", &[c, s, s]).expect("fresh graph");
    let input = if layer.input_gradient {
        let shift = g.param("shift", values(&[c, s, s], 3)).expect("fresh");
        g.add(x, shift).expect("shapes fit")
    } else {
        x
    };
    let weight = values(&[layer.out, c, 3, 3], 1);
    let bias = values(&[layer.out], 2);
    let conv = Conv2d::new([1, 1], [1, 1], [1, 1], 1).expect("valid");
    let y = g
        .conv2d("c", input, weight, Some(bias), conv)
        .expect("shapes fit");
    let feeds = vec![(x, values(&[batch, c, s, s], 4))];
    (g, y, feeds)
}

/// The value after the command-line flag `name`, if given.
fn flag(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

/// The number after the flag `name`, or `default`.
fn arg(name: &str, default: usize) -> usize {
    flag(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} takes a number, got `{v}`"))
    })
}

fn main() {
    let threads = arg("--threads", 1);
    let repeats = arg("--repeats", 20);
    with_thread_pool(threads, || {
        let layers = flag("--layer");
        if let Some(name) = &layers {
            let known: Vec<_> = LAYERS.iter().map(|layer| layer.name).collect();
            assert!(
                known.contains(&name.as_str()),
                "--layer must be one of {known:?}, got `{name}`"
            );
        }
        let mut runs: Vec<_> = [64, 256]
            .into_iter()
            .flat_map(|batch| LAYERS.iter().map(move |layer| (layer, batch)))
            .filter(|(layer, _)| layers.as_ref().is_none_or(|name| name == layer.name))
            .map(|(layer, batch)| {
                let (g, y, feeds) = graph(layer, batch);
                let mut exec = Executor::<f32>::new(&g);
                exec.set_threads(threads);
                for (id, value) in &feeds {
                    exec.set_input(*id, value.view()).expect("fed");
                }
                (layer, batch, exec, y, [f64::INFINITY; 2])
            })
            .collect();
        for _ in 0..repeats {
            for (_, _, exec, y, best) in &mut runs {
                let start = Instant::now();
                exec.run(*y, Mode::Train).expect("runs");
                let forward = start.elapsed().as_secs_f64();
                let start = Instant::now();
                exec.backward(*y).expect("runs");
                let backward = start.elapsed().as_secs_f64();
                best[0] = best[0].min(forward);
                best[1] = best[1].min(backward);
            }
        }
        println!("{threads} thread(s), best of {repeats}; the backward pass from ∂y = 1");
        println!("layer  batch  forward ms  GFLOP/s  backward ms  GFLOP/s");
        for (layer, batch, _, _, best) in &runs {
            let product = 2.0
                * (layer.out * layer.side * layer.side * layer.channels * 9) as f64
                * *batch as f64;
            let backward_products = if layer.input_gradient { 2.0 } else { 1.0 };
            println!(
                "{:<6} {batch:>5}  {:>10.3}  {:>7.1}  {:>11.3}  {:>7.1}",
                layer.name,
                best[0] * 1e3,
                product / best[0] / 1e9,
                best[1] * 1e3,
                backward_products * product / best[1] / 1e9,
            );
        }
    });
}
