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

/// Uniform images `[1, 6, 6]` in 3 classes: nothing to learn.
pub fn images(samples: usize) -> DataSpec {
    let mut spec = blobs(samples);
    spec.name = "images".into();
    spec.source = Source::Synthetic {
        kind: Synthetic::Uniform {
            features: 36,
            classes: 3,
        },
        samples,
        noise: 0.0,
    };
    spec.scaling = Scaling::None;
    spec
}

/// `samples` bar images `[1, 8, 8]` ([`knit_testkit::bar_images_csv`]) written to
/// `dir/bars.csv`, in 3 learnable classes.
pub fn bars(dir: &std::path::Path, samples: usize) -> DataSpec {
    let path = dir.join("bars.csv");
    std::fs::write(&path, knit_testkit::bar_images_csv(samples, 7)).unwrap();
    let mut spec = blobs(samples);
    spec.name = "bars".into();
    spec.source = Source::Csv {
        path,
        label: knit_data::LabelColumn::Last,
        header: knit_data::Header::No,
    };
    spec.scaling = Scaling::None;
    spec
}

/// A CNN on `[1, 6, 6]` uniform images: see [`cnn_on`].
pub fn cnn_plan(seed: u64, kernel: usize) -> Plan {
    cnn_on(seed, kernel, images(90), 6)
}

/// A CNN on `data`, images `[1, side, side]`: `c1` = conv2d(4, `kernel`) with bias, ReLU,
/// flatten, `out` = dense 3 without bias; one epoch.
pub fn cnn_on(seed: u64, kernel: usize, data: DataSpec, side: usize) -> Plan {
    use knit_tensor::ops::Conv2d;
    let mut g = Graph::new();
    let x = g.input("x", &[1, side, side]).unwrap();
    let y = g.labels("y").unwrap();
    let w1 = initialize(
        &HeNormal::default(),
        &[4, 1, kernel, kernel],
        seed,
        "c1.weight",
    )
    .unwrap();
    let b1 = initialize(&Zeros, &[4], seed, "c1.bias").unwrap();
    let h = g.conv2d("c1", x, w1, Some(b1), Conv2d::default()).unwrap();
    let h = g.relu(h).unwrap();
    let h = g.flatten(h).unwrap();
    let out_side = side - kernel + 1;
    let w2 = initialize(
        &HeNormal::default(),
        &[3, 4 * out_side * out_side],
        seed,
        "out.weight",
    )
    .unwrap();
    let out = g.dense("out", h, w2, None).unwrap();
    let loss = g.cross_entropy(out, y).unwrap();
    let model = ModelNodes {
        name: "cnn".into(),
        input: x,
        output: out,
        data_loss: loss,
    };
    let mut plan = Plan::new(g, model, y, data, Task::Classification { classes: 3 });
    plan.seed = seed;
    plan.epochs = 1;
    plan
}
