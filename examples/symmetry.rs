//! Why a constant start fails: an MLP whose weights all start equal keeps every hidden unit
//! identical through training (the rows of `h.weight` stay equal to the last bit), so it has
//! the power of a single unit and cannot learn XOR. The same network started with Glorot or
//! He initialization learns it.
//!
//! `cargo run --release --example symmetry`

use knit::init::{initialize, Constant, GlorotUniform, HeNormal, Initializer, Zeros};
use knit::optim::{Optimizer, ParamSpec, Sgd, SgdConfig, Slot};
use knit::tensor::{Executor, Graph, Mode};
use ndarray::{array, ArrayD, Axis};

/// What training XOR from one initializer gave.
#[derive(Debug)]
pub struct Outcome {
    /// Cross-entropy after training.
    pub loss: f32,
    /// Fraction of the four XOR cases classified correctly.
    pub accuracy: f64,
    /// Whether every row of the hidden weight is bit-identical to the first.
    pub hidden_rows_identical: bool,
}

/// Trains a 2-8-2 tanh MLP on XOR with full-batch SGD (lr 0.5, momentum 0.9).
pub fn train_xor(init: &dyn Initializer, steps: usize, seed: u64) -> Outcome {
    const HIDDEN: usize = 8;
    let mut g = Graph::new();
    let x = g.input("x", &[2]).expect("fresh graph");
    let y = g.labels("y").expect("fresh graph");
    let w1 = initialize(init, &[HIDDEN, 2], seed, "h.weight").expect("2-D weight");
    let b1 = initialize(&Zeros, &[HIDDEN], seed, "h.bias").expect("bias");
    let h = g.dense("h", x, w1, Some(b1)).expect("shapes fit");
    let h = g.tanh(h).expect("shapes fit");
    let w2 = initialize(init, &[2, HIDDEN], seed, "out.weight").expect("2-D weight");
    let logits = g.dense("out", h, w2, None).expect("shapes fit");
    let loss = g.cross_entropy(logits, y).expect("shapes fit");

    let specs: Vec<ParamSpec> = g
        .params()
        .map(|(_, n)| ParamSpec::new(n.name.clone(), &n.shape.dims))
        .collect();
    let config = SgdConfig {
        lr: 0.5,
        momentum: 0.9,
        ..SgdConfig::default()
    };
    let mut sgd = Sgd::<f32>::new(&specs, &[], config).expect("valid config");
    let mut exec = Executor::<f32>::new(&g);
    exec.set_input(
        x,
        array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
            .view()
            .into_dyn(),
    )
    .expect("[4, 2]");
    exec.set_input(y, array![0.0f32, 1.0, 1.0, 0.0].view().into_dyn())
        .expect("[4]");
    for _ in 0..steps {
        exec.run(loss, Mode::Train).expect("valid labels");
        exec.backward(loss).expect("trainable");
        let mut slots: Vec<Slot<f32>> = exec
            .trainable_params()
            .map(|(_, _, p, g)| Slot::new(p, g))
            .collect();
        sgd.step(&mut slots).expect("matching slots");
    }
    exec.run(logits, Mode::Eval).expect("inputs fed");
    let predictions: Vec<usize> = exec
        .value(logits)
        .expect("computed")
        .axis_iter(Axis(0))
        .map(|row| if row[1] > row[0] { 1 } else { 0 })
        .collect();
    let correct = predictions
        .iter()
        .zip([0, 1, 1, 0])
        .filter(|(p, t)| **p == *t)
        .count();
    exec.run(loss, Mode::Eval).expect("inputs fed");
    let w: ArrayD<f32> = exec.param("h.weight").expect("exists").to_owned();
    let first = w.index_axis(Axis(0), 0).to_owned();
    Outcome {
        loss: exec.scalar(loss).expect("scalar"),
        accuracy: correct as f64 / 4.0,
        hidden_rows_identical: w.axis_iter(Axis(0)).all(|row| row == first.view()),
    }
}

#[allow(dead_code)]
fn main() {
    let constant = Constant::new(0.5).expect("finite");
    let glorot = GlorotUniform::default();
    let he = HeNormal::default();
    let inits: [(&str, &dyn Initializer); 3] = [
        ("constant(0.5)", &constant),
        ("glorot_uniform", &glorot),
        ("he_normal", &he),
    ];
    println!("XOR with a 2-8-2 tanh MLP, 500 steps of SGD (lr 0.5, momentum 0.9)");
    println!("| initializer | final loss | accuracy | hidden rows identical |");
    println!("|---|---|---|---|");
    for (name, init) in inits {
        let o = train_xor(init, 500, 1);
        println!(
            "| {name} | {:.4} | {:.0} % | {} |",
            o.loss,
            o.accuracy * 100.0,
            o.hidden_rows_identical
        );
    }
}
