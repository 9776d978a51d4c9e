//! Recurrent layers (`rnn`, `lstm`, `gru`) against two references: a direct, step-by-step
//! evaluation of PyTorch's formulas in f64 (the forward values), and fourth-order finite
//! differences (every gradient: the input, every weight and bias, through stacked layers
//! and each way of reading the output).
//!
//! ReLU's kink is avoided as in `composite.rs`: a case whose pre-activations come within
//! 1e-3 of 0 (the stencil reaches 2e-4) is skipped.

mod common;

use common::*;
use knit_tensor::ops::{Cell, RnnActivation};
use knit_tensor::{gradcheck, Executor, GradCheckConfig, Graph, Mode, NodeId, RecurrentWeights};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

/// How the loss reads the last layer's `[B, T, H]` output.
#[derive(Clone, Copy, Debug)]
enum Readout {
    /// Every step, weighted.
    All,
    /// The last step.
    Last,
    /// The mean over steps.
    Mean,
    /// One step by index (taken modulo T).
    Step(usize),
    /// A dense layer on every step (a sequence-to-sequence head).
    PerStepDense,
}

#[derive(Clone, Debug)]
struct Case {
    cell: Cell,
    batch: usize,
    steps: usize,
    input: usize,
    hidden: usize,
    layers: usize,
    bias: bool,
    readout: Readout,
    values: Vec<f64>,
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Rnn(RnnActivation::Tanh)),
        Just(Cell::Rnn(RnnActivation::Relu)),
        Just(Cell::Lstm),
        Just(Cell::Gru),
    ]
}

fn readout() -> impl Strategy<Value = Readout> {
    prop_oneof![
        Just(Readout::All),
        Just(Readout::Last),
        Just(Readout::Mean),
        (0usize..8).prop_map(Readout::Step),
        Just(Readout::PerStepDense),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        cell(),
        1usize..4,
        1usize..9,
        1usize..4,
        1usize..5,
        1usize..3,
        any::<bool>(),
        readout(),
    )
        .prop_flat_map(
            |(cell, batch, steps, input, hidden, layers, bias, readout)| {
                prop::collection::vec(-1.0..1.0f64, 2048).prop_map(move |values| Case {
                    cell,
                    batch,
                    steps,
                    input,
                    hidden,
                    layers,
                    bias,
                    readout,
                    values,
                })
            },
        )
}

/// Takes the next `dims`-shaped block of values, scaled.
fn take(values: &mut impl Iterator<Item = f64>, dims: &[usize], scale: f64) -> ArrayD<f64> {
    let n = dims.iter().product();
    let v: Vec<f64> = values.take(n).map(|v| v * scale).collect();
    ArrayD::from_shape_vec(IxDyn(dims), v).expect("enough values")
}

/// One layer's parameters in f64: weight_ih, weight_hh, and the two biases (zeros without bias).
struct Layer {
    ih: ArrayD<f64>,
    hh: ArrayD<f64>,
    b_ih: ArrayD<f64>,
    b_hh: ArrayD<f64>,
}

struct Built {
    graph: Graph,
    loss: NodeId,
    output: NodeId,
    x: ArrayD<f64>,
    r: Option<ArrayD<f64>>,
    layers: Vec<Layer>,
}

fn build(c: &Case) -> Built {
    let mut v = c.values.iter().copied().cycle();
    let g_rows = c.cell.gates() * c.hidden;
    let x_data = take(&mut v, &[c.batch, c.steps, c.input], 2.0);
    let mut g = Graph::new();
    let x = g.input("x", &[c.steps, c.input]).unwrap();
    let mut h = x;
    let mut layers = Vec::new();
    for k in 0..c.layers {
        let fan = if k == 0 { c.input } else { c.hidden };
        // Rounded to f32 first: the graph stores parameters in f32.
        let round = |a: ArrayD<f64>| a.mapv(|v| f64::from(v as f32));
        let layer = Layer {
            ih: round(take(&mut v, &[g_rows, fan], 0.8)),
            hh: round(take(&mut v, &[g_rows, c.hidden], 0.8)),
            b_ih: round(take(&mut v, &[g_rows], if c.bias { 0.5 } else { 0.0 })),
            b_hh: round(take(&mut v, &[g_rows], if c.bias { 0.5 } else { 0.0 })),
        };
        let weights = RecurrentWeights {
            ih: f32s(&layer.ih),
            hh: f32s(&layer.hh),
            biases: c.bias.then(|| (f32s(&layer.b_ih), f32s(&layer.b_hh))),
        };
        h = g.recurrent("rec", k, h, c.cell, weights).unwrap();
        layers.push(layer);
    }
    let output = h;
    let (loss, r) = match c.readout {
        Readout::All => {
            let r = take(&mut v, &[c.batch, c.steps, c.hidden], 1.0);
            (weighted_sum(&mut g, h), Some(r))
        }
        Readout::Last | Readout::Mean | Readout::Step(_) => {
            let y = match c.readout {
                Readout::Last => g.last_step(h).unwrap(),
                Readout::Mean => g.mean(h, Some(1)).unwrap(),
                Readout::Step(k) => g.step(h, k % c.steps).unwrap(),
                _ => unreachable!(),
            };
            let r = take(&mut v, &[c.batch, c.hidden], 1.0);
            (weighted_sum(&mut g, y), Some(r))
        }
        Readout::PerStepDense => {
            let w = f32s(&take(&mut v, &[2, c.hidden], 1.0));
            let y = g.dense("head", h, w, None).unwrap();
            let r = take(&mut v, &[c.batch, c.steps, 2], 1.0);
            (weighted_sum(&mut g, y), Some(r))
        }
    };
    Built {
        graph: g,
        loss,
        output,
        x: x_data,
        r,
        layers,
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// PyTorch's formulas, one step at a time: the stack's output `[B, T, H]` and the smallest
/// |pre-activation| of a ReLU cell (infinite for the others).
fn reference(c: &Case, x: &ArrayD<f64>, layers: &[Layer]) -> (ArrayD<f64>, f64) {
    reference_nudged(c, x, layers, None)
}

/// [`reference`] with `delta` added to element `j` of example `b`'s hidden state right after
/// step `t` of the last layer: `(b, t, j, delta)`.
fn reference_nudged(
    c: &Case,
    x: &ArrayD<f64>,
    layers: &[Layer],
    nudge: Option<(usize, usize, usize, f64)>,
) -> (ArrayD<f64>, f64) {
    let (b_n, t_n, hd) = (c.batch, c.steps, c.hidden);
    let mut input = x.clone();
    let mut closest = f64::INFINITY;
    for (k, l) in layers.iter().enumerate() {
        let last = k + 1 == layers.len();
        let fan = input.shape()[2];
        let mut out = ArrayD::zeros(IxDyn(&[b_n, t_n, hd]));
        for b in 0..b_n {
            let mut h = vec![0.0; hd];
            let mut cs = vec![0.0; hd];
            for t in 0..t_n {
                // a = x·W_ihᵀ + b_ih, u = h·W_hhᵀ + b_hh, per gate row.
                let rows = c.cell.gates() * hd;
                let a: Vec<f64> = (0..rows)
                    .map(|j| {
                        l.b_ih[j]
                            + (0..fan)
                                .map(|i| input[[b, t, i]] * l.ih[[j, i]])
                                .sum::<f64>()
                    })
                    .collect();
                let u: Vec<f64> = (0..rows)
                    .map(|j| l.b_hh[j] + (0..hd).map(|i| h[i] * l.hh[[j, i]]).sum::<f64>())
                    .collect();
                let next: Vec<f64> = match c.cell {
                    Cell::Rnn(act) => (0..hd)
                        .map(|j| {
                            let pre = a[j] + u[j];
                            match act {
                                RnnActivation::Tanh => pre.tanh(),
                                RnnActivation::Relu => {
                                    closest = closest.min(pre.abs());
                                    pre.max(0.0)
                                }
                            }
                        })
                        .collect(),
                    Cell::Lstm => (0..hd)
                        .map(|j| {
                            let i = sigmoid(a[j] + u[j]);
                            let f = sigmoid(a[hd + j] + u[hd + j]);
                            let g = (a[2 * hd + j] + u[2 * hd + j]).tanh();
                            let o = sigmoid(a[3 * hd + j] + u[3 * hd + j]);
                            cs[j] = f * cs[j] + i * g;
                            o * cs[j].tanh()
                        })
                        .collect(),
                    Cell::Gru => (0..hd)
                        .map(|j| {
                            let r = sigmoid(a[j] + u[j]);
                            let z = sigmoid(a[hd + j] + u[hd + j]);
                            let n = (a[2 * hd + j] + r * u[2 * hd + j]).tanh();
                            (1.0 - z) * n + z * h[j]
                        })
                        .collect(),
                };
                h = next;
                if let (true, Some((nb, nt, nj, delta))) = (last, nudge) {
                    if (nb, nt) == (b, t) {
                        h[nj] += delta;
                    }
                }
                for j in 0..hd {
                    out[[b, t, j]] = h[j];
                }
            }
        }
        input = out;
    }
    (input, closest)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn recurrent_stacks_match_pytorchs_formulas_and_finite_differences(c in case()) {
        let Built { graph: g, loss, output, x, r, layers } = build(&c);
        let (expected, closest) = reference(&c, &x, &layers);
        prop_assume!(closest > 1e-3);
        let mut exec = Executor::<f64>::new(&g);
        exec.set_input(g.id("x").unwrap(), x.view()).unwrap();
        if let Some(r) = &r {
            exec.set_input(g.id("r").unwrap(), r.view()).unwrap();
        }
        exec.run(loss, Mode::Train).unwrap();
        let got = exec.value(output).unwrap();
        for (a, e) in got.iter().zip(expected.iter()) {
            prop_assert!((a - e).abs() <= 1e-12 * (1.0 + e.abs()), "forward {a} against the reference {e}");
        }
        let mut wrt: Vec<NodeId> = g.params().map(|(id, _)| id).collect();
        wrt.push(g.id("x").unwrap());
        let report = gradcheck(&mut exec, loss, &wrt, &GradCheckConfig::default()).unwrap();
        prop_assert!(report.passed(), "\n{}", report);
    }
}

/// A fixed case: `cell` with the given sizes, biases on, values from a fixed pattern.
fn fixed(
    cell: Cell,
    (batch, steps, input, hidden, layers): (usize, usize, usize, usize, usize),
    readout: Readout,
) -> Case {
    Case {
        cell,
        batch,
        steps,
        input,
        hidden,
        layers,
        bias: true,
        readout,
        values: (0..4096)
            .map(|i| ((i * 7919) % 2001) as f64 / 1000.0 - 1.0)
            .collect(),
    }
}

/// The same sequences give the same outputs whatever batch they arrive in: the scratch the
/// executor reuses across batch sizes must not leak into a step (h_0 is zero every time).
#[test]
fn outputs_do_not_depend_on_the_batch_size_seen_before() {
    for cell in [
        Cell::Rnn(RnnActivation::Tanh),
        Cell::Rnn(RnnActivation::Relu),
        Cell::Lstm,
        Cell::Gru,
    ] {
        let c = fixed(cell, (1, 6, 3, 4, 2), Readout::All);
        let Built {
            graph: g, output, ..
        } = build(&c);
        let x = g.id("x").unwrap();
        let data = |n: usize| {
            ArrayD::from_shape_fn(IxDyn(&[n, 6, 3]), |i| {
                ((i[0] * 31 + i[1] * 7 + i[2] * 3) % 17) as f64 / 8.0 - 1.0
            })
        };
        let mut fresh = Executor::<f64>::new(&g);
        fresh.set_input(x, data(3).view()).unwrap();
        fresh.run(output, Mode::Eval).unwrap();
        let expected = fresh.value(output).unwrap().to_owned();
        let mut reused = Executor::<f64>::new(&g);
        for n in [9, 3, 5, 3] {
            reused.set_input(x, data(n).view()).unwrap();
            reused.run(output, Mode::Eval).unwrap();
        }
        assert_eq!(reused.value(output).unwrap(), expected, "{cell:?}");
    }
}

/// `Recurrent::hidden_gradients` is the total ∂L/∂h_t (through the output and every later
/// step): against central differences of the reference with h_t nudged, for every cell.
#[test]
fn hidden_gradients_are_the_total_derivative_through_time() {
    for cell in [
        Cell::Rnn(RnnActivation::Tanh),
        Cell::Rnn(RnnActivation::Relu),
        Cell::Lstm,
        Cell::Gru,
    ] {
        let c = fixed(cell, (2, 5, 3, 4, 1), Readout::Last);
        let Built {
            graph: g,
            loss,
            output,
            x,
            r,
            layers,
        } = build(&c);
        let r = r.unwrap();
        let mut exec = Executor::<f64>::new(&g);
        exec.set_input(g.id("x").unwrap(), x.view()).unwrap();
        exec.set_input(g.id("r").unwrap(), r.view()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        exec.backward(loss).unwrap();
        let got = knit_tensor::ops::Recurrent::hidden_gradients(
            exec.workspace(output).unwrap(),
            c.batch,
            c.steps,
            c.hidden,
        )
        .to_vec();
        // The loss reads the last step: Σ_b Σ_j r[b, j] · h_{T−1}[b, j].
        let loss_of = |out: &ArrayD<f64>| -> f64 {
            (0..c.batch)
                .flat_map(|b| (0..c.hidden).map(move |j| (b, j)))
                .map(|(b, j)| r[[b, j]] * out[[b, c.steps - 1, j]])
                .sum()
        };
        let eps = 1e-6;
        for b in 0..c.batch {
            for t in 0..c.steps {
                for j in 0..c.hidden {
                    let up = loss_of(&reference_nudged(&c, &x, &layers, Some((b, t, j, eps))).0);
                    let down = loss_of(&reference_nudged(&c, &x, &layers, Some((b, t, j, -eps))).0);
                    let numeric = (up - down) / (2.0 * eps);
                    let analytic = got[(b * c.steps + t) * c.hidden + j];
                    assert!(
                        (numeric - analytic).abs() <= 1e-7 * (1.0 + numeric.abs()),
                        "{cell:?} b {b} t {t} j {j}: {analytic} against {numeric}"
                    );
                }
            }
        }
        // The step that feeds the loss directly is r; the earliest has passed through every
        // step's Jacobian.
        assert_eq!(got[(c.steps - 1) * c.hidden], r[[0, 0]], "{cell:?}");
    }
}

/// Two threads split the batch of the time loop between them; every value and gradient is
/// the same bits as with one thread.
#[test]
fn threads_give_the_same_bits() {
    for cell in [Cell::Rnn(RnnActivation::Tanh), Cell::Lstm, Cell::Gru] {
        let c = fixed(cell, (40, 7, 5, 24, 2), Readout::All);
        let Built {
            graph: g,
            loss,
            x,
            r,
            ..
        } = build(&c);
        let r = r.unwrap();
        let run = |threads: usize| {
            knit_tensor::with_thread_pool(threads, || {
                let mut exec = Executor::<f32>::new(&g);
                exec.set_threads(threads);
                exec.set_input(g.id("x").unwrap(), f32s(&x).view()).unwrap();
                exec.set_input(g.id("r").unwrap(), f32s(&r).view()).unwrap();
                exec.run(loss, Mode::Train).unwrap();
                exec.backward(loss).unwrap();
                let grads: Vec<Vec<f32>> = exec
                    .trainable_params()
                    .map(|(_, _, _, g)| g.iter().copied().collect())
                    .collect();
                (exec.scalar(loss).unwrap(), grads)
            })
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.0.to_bits(), two.0.to_bits(), "{cell:?} loss");
        assert_eq!(one.1, two.1, "{cell:?} gradients");
    }
}
