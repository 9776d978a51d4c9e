//! The experiments of the study: one row per file of `dsl-examples/techniques`, the row it is
//! compared with, and the procedures (pruning, adversarial training, bagging) with their
//! settings.

use knit_train::Attack;

/// The measurement a row adds to accuracy, gap and best epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// Nothing more.
    None,
    /// The share of weights with |w| < 1e-3.
    NearZero,
    /// The summed squared distance between tied parameters.
    TieDistance,
    /// The parameter count.
    Params,
}

/// One row of the main table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The name `--only` selects it by (the file's stem).
    pub name: &'static str,
    /// What the table calls it.
    pub label: &'static str,
    /// The row it is compared with in the findings, if any.
    pub baseline: Option<&'static str>,
    /// Its extra measurement.
    pub extra: Extra,
}

impl Row {
    /// The experiment's file name in `dsl-examples/techniques`.
    pub fn file(&self) -> String {
        format!("{}.net", self.name)
    }
}

/// The main table's rows, in order; every baseline comes before the rows compared with it.
pub const ROWS: &[Row] = &[
    Row {
        name: "none",
        label: "no regularization",
        baseline: None,
        extra: Extra::NearZero,
    },
    Row {
        name: "l2",
        label: "L2 1e-3",
        baseline: Some("none"),
        extra: Extra::NearZero,
    },
    Row {
        name: "l1",
        label: "L1 1e-4",
        baseline: Some("none"),
        extra: Extra::NearZero,
    },
    Row {
        name: "dropout02",
        label: "dropout 0.2",
        baseline: Some("none"),
        extra: Extra::None,
    },
    Row {
        name: "dropout05",
        label: "dropout 0.5",
        baseline: Some("none"),
        extra: Extra::None,
    },
    Row {
        name: "early_stopping",
        label: "early stopping (patience 10)",
        baseline: Some("none"),
        extra: Extra::None,
    },
    Row {
        name: "deep_sigmoid",
        label: "8 sigmoid layers",
        baseline: None,
        extra: Extra::None,
    },
    Row {
        name: "deep_sigmoid_bn",
        label: "8 sigmoid layers + batch norm",
        baseline: Some("deep_sigmoid"),
        extra: Extra::None,
    },
    Row {
        name: "tying_independent",
        label: "two independent models",
        baseline: None,
        extra: Extra::TieDistance,
    },
    Row {
        name: "tying",
        label: "two models tied (l2 0.01)",
        baseline: Some("tying_independent"),
        extra: Extra::TieDistance,
    },
    Row {
        name: "sharing_unshared",
        label: "3 hidden layers, own weights",
        baseline: None,
        extra: Extra::Params,
    },
    Row {
        name: "sharing",
        label: "3 hidden layers, last two share a weight",
        baseline: Some("sharing_unshared"),
        extra: Extra::Params,
    },
];

/// The convolutional rows, a table of their own on MNIST-10k: sharing weights across space (a
/// CNN against an MLP of about its parameter count), batch norm on the convolutions, and
/// augmentation on a training set small enough to over-fit.
pub const CNN_ROWS: &[Row] = &[
    Row {
        name: "cnn_mlp",
        label: "MLP 784-512-10",
        baseline: None,
        extra: Extra::Params,
    },
    Row {
        name: "cnn",
        label: "CNN, two 3×3 convolutions",
        baseline: Some("cnn_mlp"),
        extra: Extra::Params,
    },
    Row {
        name: "cnn_bn",
        label: "CNN + batch norm after each convolution",
        baseline: Some("cnn"),
        extra: Extra::Params,
    },
    Row {
        name: "cnn_small",
        label: "CNN on 1,000 images",
        baseline: None,
        extra: Extra::None,
    },
    Row {
        name: "cnn_small_crop",
        label: "CNN on 1,000 images + crop(padding: 2)",
        baseline: Some("cnn_small"),
        extra: Extra::None,
    },
];

/// The CNN whose convolutions' parameters are counted with and without sharing across space.
pub const SPACE: &str = "cnn.net";

/// The pruning experiment's file.
pub const PRUNING: &str = "pruning.net";

/// The model trained on clean examples and the adversarially trained one: file and label.
pub const ADVERSARIAL: [(&str, &str); 2] = [
    ("adversarial_plain.net", "clean training"),
    ("adversarial.net", "FGSM training (ε 0.1)"),
];

/// The attacks both models face (FGSM at the training ε 0.1 and others, and PGD).
pub const ATTACKS: &[Attack] = &[
    Attack::Fgsm { eps: 0.05 },
    Attack::Fgsm { eps: 0.1 },
    Attack::Fgsm { eps: 0.2 },
    Attack::Pgd {
        eps: 0.1,
        alpha: 0.02,
        steps: 10,
    },
];

/// The valid input range attacks clip to (the digits' pixels scaled by 1/16).
pub const ATTACK_RANGE: Option<(f64, f64)> = Some((0.0, 1.0));

/// The bagging experiment's file.
pub const BAGGING: &str = "bagging.net";

/// The names `--only` accepts for the procedures, transfer learning and the recurrent
/// experiments.
pub const PROCEDURES: [&str; 7] = [
    "pruning",
    "adversarial",
    "bagging",
    "transfer",
    "adding",
    "sharing_time",
    "cliffs",
];

/// Every name `--only` accepts.
pub fn names() -> Vec<&'static str> {
    ROWS.iter()
        .chain(CNN_ROWS)
        .map(|r| r.name)
        .chain(PROCEDURES)
        .collect()
}
