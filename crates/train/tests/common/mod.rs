//! A small classification plan on synthetic blobs, built in plain Rust.
#![allow(dead_code)]

use knit_data::{DataSpec, Scaling, Source, Split, Synthetic};
use knit_init::{initialize, HeNormal, Zeros};
use knit_tensor::Graph;
use knit_train::{EarlyStop, Metric, ModelNodes, Plan, Task};

pub fn blobs(samples: usize) -> DataSpec {
    DataSpec {
        name: "blobs".into(),
        source: Source::Synthetic {
            kind: Synthetic::Blobs {
                centers: 3,
                std: 1.0,
            },
            samples,
            noise: 0.0,
        },
        validation: None,
        test: None,
        split: Split {
            train: 0.6,
            validation: 0.2,
            test: 0.2,
            stratified: true,
        },
        indices: None,
        limit: None,
        scaling: Scaling::Standardize,
        seed: 5,
    }
}

/// An MLP 2-16-3 with batch norm and tanh, cross-entropy.
pub fn plan(seed: u64) -> Plan {
    let mut g = Graph::new();
    let x = g.input("x", &[2]).unwrap();
    let y = g.labels("y").unwrap();
    let w1 = initialize(&HeNormal::default(), &[16, 2], seed, "h1.weight").unwrap();
    let b1 = initialize(&Zeros, &[16], seed, "h1.bias").unwrap();
    let h = g.dense("h1", x, w1, Some(b1)).unwrap();
    let h = g.batch_norm("bn1", h, Default::default()).unwrap();
    let h = g.tanh(h).unwrap();
    let w2 = initialize(&HeNormal::default(), &[3, 16], seed, "out.weight").unwrap();
    let out = g.dense("out", h, w2, None).unwrap();
    let loss = g.cross_entropy(out, y).unwrap();
    let model = ModelNodes {
        name: "mlp".into(),
        input: x,
        output: out,
        data_loss: loss,
    };
    let mut plan = Plan::new(g, model, y, blobs(600), Task::Classification { classes: 3 });
    plan.seed = seed;
    plan.epochs = 8;
    plan
}

/// [`plan`] for `epochs` epochs with early stopping that restores the best weights, so its
/// checkpoints hold every kind of entry (a `_knit.best.` snapshot among them).
pub fn plan_restoring_best(seed: u64, epochs: usize) -> Plan {
    let mut plan = plan(seed);
    plan.epochs = epochs;
    plan.early_stop = Some(EarlyStop {
        metric: Metric::ValLoss,
        patience: 10,
        min_delta: 0.0,
        restore_best: true,
    });
    plan
}
