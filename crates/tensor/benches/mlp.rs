//! Training throughput of the MLP 784-256-128-10 (relu, softmax cross-entropy, Adam with
//! lr 1e-3), measured the way `shared/bench/PEERS.md` measures PyTorch, JAX, burn, candle and
//! a hand-written ndarray loop on this machine, so the figures compare directly: one epoch of
//! 60,000 synthetic samples (x ~ U[0,1), y ~ U{0..9}, SplitMix64 seed 0) in order with the
//! last partial batch, 30 warm-up steps, median of 3 epochs, denormals flushed.
//! GFLOP/s counts 6 × 235,146 parameters per sample.
//!
//! `cargo bench -p knit-tensor --bench mlp` (optionally `-- --epochs 5`).

use knit_optim::{Adam, AdamConfig, Optimizer, ParamSpec, Slot};
use knit_tensor::{with_thread_pool, Executor, Graph, Mode, NodeId};
use ndarray::{ArrayD, ArrayView2, ArrayViewD, IxDyn};
use std::time::Instant;

const SAMPLES: usize = 60_000;
const WARMUP_STEPS: usize = 30;

/// SplitMix64, as in the peers' programs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

fn layer(rng: &mut SplitMix, fan_in: usize, fan_out: usize) -> (ArrayD<f32>, ArrayD<f32>) {
    let bound = 1.0 / (fan_in as f32).sqrt();
    let mut draw = || (rng.unit() * 2.0 - 1.0) * bound;
    let w = ArrayD::from_shape_simple_fn(IxDyn(&[fan_out, fan_in]), &mut draw);
    let b = ArrayD::from_shape_simple_fn(IxDyn(&[fan_out]), &mut draw);
    (w, b)
}

fn mlp() -> (Graph, NodeId, NodeId, NodeId) {
    let mut rng = SplitMix(42);
    let mut g = Graph::new();
    let x = g.input("x", &[784]).expect("fresh graph");
    let y = g.labels("y").expect("fresh graph");
    let (w, b) = layer(&mut rng, 784, 256);
    let h = g.dense("h1", x, w, Some(b)).expect("shapes fit");
    let h = g.relu(h).expect("shapes fit");
    let (w, b) = layer(&mut rng, 256, 128);
    let h = g.dense("h2", h, w, Some(b)).expect("shapes fit");
    let h = g.relu(h).expect("shapes fit");
    let (w, b) = layer(&mut rng, 128, 10);
    let out = g.dense("out", h, w, Some(b)).expect("shapes fit");
    let loss = g.cross_entropy(out, y).expect("shapes fit");
    (g, x, y, loss)
}

struct Run {
    exec: Executor<f32>,
    adam: Adam<f32>,
    x: NodeId,
    y: NodeId,
    loss: NodeId,
}

impl Run {
    fn new(threads: usize) -> Self {
        let (g, x, y, loss) = mlp();
        let specs: Vec<ParamSpec> = g
            .params()
            .map(|(_, n)| ParamSpec::new(n.name.clone(), &n.shape.dims))
            .collect();
        let adam = Adam::new(&specs, &[], AdamConfig::default()).expect("valid config");
        let mut exec = Executor::new(&g);
        exec.set_threads(threads);
        Run {
            exec,
            adam,
            x,
            y,
            loss,
        }
    }

    fn step(&mut self, xb: ArrayView2<f32>, yb: ArrayViewD<f32>) -> f32 {
        self.exec
            .set_input(self.x, xb.into_dyn())
            .expect("shape fits");
        self.exec.set_input(self.y, yb).expect("shape fits");
        self.exec.run(self.loss, Mode::Train).expect("valid labels");
        let loss = self.exec.scalar(self.loss).expect("scalar");
        self.exec.backward(self.loss).expect("trainable");
        let mut slots: Vec<Slot<f32>> = self
            .exec
            .trainable_params()
            .map(|(_, _, p, g)| Slot::new(p, g))
            .collect();
        self.adam.step(&mut slots).expect("matching slots");
        loss
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let epochs = args
        .iter()
        .position(|a| a == "--epochs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize);

    let mut rng = SplitMix(0);
    let xs = ndarray::Array2::from_shape_simple_fn((SAMPLES, 784), || rng.unit());
    let ys = ndarray::Array1::from_shape_simple_fn(SAMPLES, || (rng.next() % 10) as f32);
    let flop_per_sample = 6.0 * 235_146.0;

    println!("MLP 784-256-128-10, Adam, {SAMPLES} samples/epoch, median of {epochs} epochs");
    println!("| threads | batch | s/epoch | samples/s | GFLOP/s (6P) | last loss |");
    println!("|---|---|---|---|---|---|");
    for threads in [1, 2] {
        for batch in [64, 256] {
            let (times, loss) = with_thread_pool(threads, || {
                let mut run = Run::new(threads);
                for i in 0..WARMUP_STEPS {
                    let s = (i * batch) % (SAMPLES - batch);
                    run.step(
                        xs.slice(ndarray::s![s..s + batch, ..]),
                        ys.slice(ndarray::s![s..s + batch]).into_dyn(),
                    );
                }
                let mut times = Vec::new();
                let mut loss = 0.0;
                for _ in 0..epochs {
                    let t0 = Instant::now();
                    let mut s = 0;
                    while s < SAMPLES {
                        let e = (s + batch).min(SAMPLES);
                        loss = run.step(
                            xs.slice(ndarray::s![s..e, ..]),
                            ys.slice(ndarray::s![s..e]).into_dyn(),
                        );
                        s = e;
                    }
                    times.push(t0.elapsed().as_secs_f64());
                }
                (times, loss)
            });
            let mut times = times;
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let rate = SAMPLES as f64 / median;
            println!(
                "| {threads} | {batch} | {median:.3} | {rate:.0} | {:.1} | {loss:.4} |",
                rate * flop_per_sample / 1e9
            );
        }
    }
}
