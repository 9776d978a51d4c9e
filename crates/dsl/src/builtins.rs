//! The signatures of every built-in call: layers, initializers, schedules, optimizers, data
//! sources, penalties, clipping, attacks and early stopping.
//!
//! One table serves the checker (which keys exist, which are required, did-you-mean) and
//! `knit explain` (which defaults to fill in), so the two cannot disagree.

/// The type an argument must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    /// A number.
    Num,
    /// A whole number ≥ 0.
    Int,
    /// `true` or `false`.
    Bool,
    /// A string.
    Str,
    /// One of these names.
    Word(&'static [&'static str]),
    /// An initializer: a name (`he_normal`) or a call (`normal(std: 0.01)`).
    Init,
    /// A dense layer's bias: `true`, `false`, an initializer or a parameter.
    Bias,
    /// A parameter declared with `param`.
    Param,
    /// A number or a schedule call (`step(1e-3, every: 10)`).
    Sched,
    /// A list of whole numbers.
    IntList,
    /// A list of two numbers `[low, high]`.
    Range,
    /// A CSV label column: `last`, `first`, a position or a header name.
    Label,
    /// A nonlinearity for He initialization: a name or `leaky_relu(0.2)`.
    Nonlinearity,
    /// A window side: a whole number (square) or `[height, width]`.
    Sides,
    /// A convolution's padding: a whole number, `[height, width]` or `same`.
    Padding,
}

/// The default of a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Fallback {
    /// The argument must be given.
    Required,
    /// Optional without a value (its absence means something, e.g. no shared weight).
    Absent,
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A name (or an initializer / schedule name expanded with its own defaults).
    Word(&'static str),
    /// A string.
    Str(&'static str),
}

/// One parameter of a call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct P {
    /// Its key.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Its default.
    pub default: Fallback,
}

const fn p(name: &'static str, ty: Ty, default: Fallback) -> P {
    P { name, ty, default }
}

const fn req(name: &'static str, ty: Ty) -> P {
    P {
        name,
        ty,
        default: Fallback::Required,
    }
}

/// A call's signature: positional arguments bind to `params` in order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sig {
    /// The call's name.
    pub name: &'static str,
    /// Its parameters.
    pub params: &'static [P],
}

use Fallback::{Absent, Bool as B, Num as N, Str as S, Word as W};
use Ty::*;

/// Names a He initializer's `mode` accepts.
pub(crate) const FAN_MODES: &[&str] = &["fan_in", "fan_out"];
/// Names a CSV `header` accepts.
pub(crate) const HEADERS: &[&str] = &["auto", "yes", "no"];
/// Metrics early stopping and plateau schedules can watch.
pub(crate) const METRICS: &[&str] = &["val_loss", "val_accuracy"];
/// Plateau modes.
pub(crate) const MODES: &[&str] = &["min", "max"];
/// The nonlinearities of `rnn`.
pub(crate) const RNN_NONLINEARITIES: &[&str] = &["tanh", "relu"];
/// Synthetic data generators.
pub(crate) const SYNTHETIC: &[&str] = &[
    "xor",
    "spirals",
    "moons",
    "blobs",
    "uniform",
    "adding",
    "temporal_order",
];

/// A pooling window; the stride defaults to the kernel (PyTorch's `stride=None`).
const POOL: &[P] = &[
    req("kernel", Sides),
    p("stride", Sides, Absent),
    p("padding", Sides, N(0.0)),
];

/// Layers, applied with `|>`; their input is not listed.
pub(crate) const LAYERS: &[Sig] = &[
    Sig {
        name: "dense",
        params: &[
            p("units", Int, Absent),
            p("init", Init, W("fan_in_uniform")),
            p("bias", Bias, W("fan_in_uniform")),
            p("weight", Param, Absent),
        ],
    },
    Sig {
        name: "rnn",
        params: &[
            req("hidden", Int),
            p("layers", Int, N(1.0)),
            p("nonlinearity", Word(RNN_NONLINEARITIES), W("tanh")),
            p("dropout", Num, N(0.0)),
            p("bias", Bool, B(true)),
            p("init_ih", Init, Absent),
            p("init_hh", Init, Absent),
        ],
    },
    Sig {
        name: "lstm",
        params: &[
            req("hidden", Int),
            p("layers", Int, N(1.0)),
            p("dropout", Num, N(0.0)),
            p("bias", Bool, B(true)),
            p("init_ih", Init, Absent),
            p("init_hh", Init, Absent),
            p("forget_bias", Num, Absent),
        ],
    },
    Sig {
        name: "gru",
        params: &[
            req("hidden", Int),
            p("layers", Int, N(1.0)),
            p("dropout", Num, N(0.0)),
            p("bias", Bool, B(true)),
            p("init_ih", Init, Absent),
            p("init_hh", Init, Absent),
        ],
    },
    Sig {
        name: "conv2d",
        params: &[
            req("out", Int),
            req("kernel", Sides),
            p("stride", Sides, N(1.0)),
            p("padding", Padding, N(0.0)),
            p("dilation", Sides, N(1.0)),
            p("groups", Int, N(1.0)),
            p("bias", Bool, B(true)),
            p("init", Init, W("fan_in_uniform")),
            p("bias_init", Init, W("fan_in_uniform")),
        ],
    },
    Sig {
        name: "max_pool",
        params: POOL,
    },
    Sig {
        name: "avg_pool",
        params: POOL,
    },
    Sig {
        name: "global_avg_pool",
        params: &[],
    },
    Sig {
        name: "last_step",
        params: &[],
    },
    Sig {
        name: "step_at",
        params: &[req("index", Int)],
    },
    Sig {
        name: "mean_steps",
        params: &[],
    },
    Sig {
        name: "batchnorm",
        params: &[p("momentum", Num, N(0.1)), p("eps", Num, N(1e-5))],
    },
    Sig {
        name: "dropout",
        params: &[req("p", Sched)],
    },
    Sig {
        name: "flatten",
        params: &[],
    },
    Sig {
        name: "reshape",
        params: &[req("shape", IntList)],
    },
    Sig {
        name: "relu",
        params: &[],
    },
    Sig {
        name: "leaky_relu",
        params: &[p("slope", Num, N(0.01))],
    },
    Sig {
        name: "elu",
        params: &[p("alpha", Num, N(1.0))],
    },
    Sig {
        name: "sigmoid",
        params: &[],
    },
    Sig {
        name: "tanh",
        params: &[],
    },
    Sig {
        name: "softplus",
        params: &[p("beta", Num, N(1.0)), p("threshold", Num, N(20.0))],
    },
    Sig {
        name: "gelu",
        params: &[],
    },
    Sig {
        name: "softmax",
        params: &[],
    },
    Sig {
        name: "log_softmax",
        params: &[],
    },
];

/// `concat`, the one layer with any number of tensor arguments (checked on its own).
pub(crate) const CONCAT: &str = "concat";

const GAIN: &[P] = &[p("gain", Num, N(1.0))];
const HE: &[P] = &[
    p("mode", Word(FAN_MODES), W("fan_in")),
    p("nonlinearity", Nonlinearity, W("relu")),
];

/// Initializers.
pub(crate) const INITS: &[Sig] = &[
    Sig {
        name: "zeros",
        params: &[],
    },
    Sig {
        name: "ones",
        params: &[],
    },
    Sig {
        name: "constant",
        params: &[req("value", Num)],
    },
    Sig {
        name: "uniform",
        params: &[p("a", Num, N(0.0)), p("b", Num, N(1.0))],
    },
    Sig {
        name: "normal",
        params: &[p("mean", Num, N(0.0)), p("std", Num, N(1.0))],
    },
    Sig {
        name: "truncated_normal",
        params: &[
            p("mean", Num, N(0.0)),
            p("std", Num, N(1.0)),
            p("a", Num, N(-2.0)),
            p("b", Num, N(2.0)),
        ],
    },
    Sig {
        name: "fan_in_uniform",
        params: &[],
    },
    Sig {
        name: "glorot_uniform",
        params: GAIN,
    },
    Sig {
        name: "identity",
        params: GAIN,
    },
    Sig {
        name: "glorot_normal",
        params: GAIN,
    },
    Sig {
        name: "he_uniform",
        params: HE,
    },
    Sig {
        name: "he_normal",
        params: HE,
    },
    Sig {
        name: "lecun_uniform",
        params: &[],
    },
    Sig {
        name: "lecun_normal",
        params: &[],
    },
    Sig {
        name: "orthogonal",
        params: GAIN,
    },
];

/// Schedules: a value that changes over training.
pub(crate) const SCHEDULES: &[Sig] = &[
    Sig {
        name: "step",
        params: &[
            req("initial", Num),
            req("every", Int),
            p("gamma", Num, N(0.1)),
        ],
    },
    Sig {
        name: "multistep",
        params: &[
            req("initial", Num),
            req("milestones", IntList),
            p("gamma", Num, N(0.1)),
        ],
    },
    Sig {
        name: "exponential",
        params: &[req("initial", Num), req("gamma", Num)],
    },
    Sig {
        name: "inverse_time",
        params: &[req("initial", Num), req("k", Num)],
    },
    Sig {
        name: "inv",
        params: &[req("initial", Num), req("gamma", Num), req("power", Num)],
    },
    Sig {
        name: "polynomial",
        params: &[
            req("initial", Num),
            req("total", Int),
            p("end", Num, N(0.0)),
            p("power", Num, N(1.0)),
        ],
    },
    Sig {
        name: "cosine",
        params: &[
            req("initial", Num),
            req("t_max", Int),
            p("min", Num, N(0.0)),
        ],
    },
    Sig {
        name: "cosine_restarts",
        params: &[
            req("initial", Num),
            req("t_0", Int),
            p("t_mult", Int, N(1.0)),
            p("min", Num, N(0.0)),
        ],
    },
    Sig {
        name: "warmup",
        params: &[
            req("steps", Int),
            req("then", Sched),
            p("start_factor", Num, N(0.1)),
        ],
    },
    Sig {
        name: "plateau",
        params: &[
            req("initial", Num),
            p("factor", Num, N(0.1)),
            p("patience", Int, N(10.0)),
            p("threshold", Num, N(1e-4)),
            p("cooldown", Int, N(0.0)),
            p("min", Num, N(0.0)),
            p("mode", Word(MODES), W("min")),
        ],
    },
];

const ADAM: &[P] = &[
    req("lr", Sched),
    p("beta1", Num, N(0.9)),
    p("beta2", Num, N(0.999)),
    p("eps", Num, N(1e-8)),
    p("weight_decay", Num, N(0.0)),
    p("amsgrad", Bool, B(false)),
];
const ADAMW: &[P] = &[
    req("lr", Sched),
    p("beta1", Num, N(0.9)),
    p("beta2", Num, N(0.999)),
    p("eps", Num, N(1e-8)),
    p("weight_decay", Num, N(0.01)),
    p("amsgrad", Bool, B(false)),
];

/// Optimizers; their defaults are PyTorch's.
pub(crate) const OPTIMIZERS: &[Sig] = &[
    Sig {
        name: "sgd",
        params: &[
            req("lr", Sched),
            p("momentum", Num, N(0.0)),
            p("dampening", Num, N(0.0)),
            p("weight_decay", Num, N(0.0)),
            p("nesterov", Bool, B(false)),
        ],
    },
    Sig {
        name: "adagrad",
        params: &[
            req("lr", Sched),
            p("lr_decay", Num, N(0.0)),
            p("weight_decay", Num, N(0.0)),
            p("initial_accumulator_value", Num, N(0.0)),
            p("eps", Num, N(1e-10)),
        ],
    },
    Sig {
        name: "rmsprop",
        params: &[
            req("lr", Sched),
            p("alpha", Num, N(0.99)),
            p("eps", Num, N(1e-8)),
            p("weight_decay", Num, N(0.0)),
            p("momentum", Num, N(0.0)),
            p("centered", Bool, B(false)),
        ],
    },
    Sig {
        name: "adam",
        params: ADAM,
    },
    Sig {
        name: "adamw",
        params: ADAMW,
    },
];

/// Data sources.
pub(crate) const SOURCES: &[Sig] = &[
    Sig {
        name: "csv",
        params: &[
            req("path", Str),
            p("label", Label, W("last")),
            p("header", Word(HEADERS), W("auto")),
        ],
    },
    Sig {
        name: "idx",
        params: &[req("images", Str), req("labels", Str)],
    },
    Sig {
        name: "npy",
        params: &[req("features", Str), req("labels", Str)],
    },
    Sig {
        name: "npz",
        params: &[
            req("path", Str),
            p("features", Str, S("x")),
            p("labels", Str, S("y")),
        ],
    },
    Sig {
        name: "synthetic",
        params: &[req("kind", Word(SYNTHETIC))],
    },
];

/// `split indices(...)`: rows listed by key in a JSON file.
pub(crate) const SPLITS: &[Sig] = &[Sig {
    name: "indices",
    params: &[
        req("path", Str),
        p("train", Str, S("train")),
        p("validation", Str, Absent),
        p("test", Str, Absent),
    ],
}];

/// The axes a flip mirrors.
pub(crate) const FLIP_AXES: &[&str] = &["horizontal", "vertical"];

/// The transforms of a data block's `augment` line; their defaults are torchvision's
/// (`RandomHorizontalFlip(p = 0.5)`). `translate` takes `pixels` or `fraction`.
pub(crate) const AUGMENTS: &[Sig] = &[
    Sig {
        name: "crop",
        params: &[req("padding", Int)],
    },
    Sig {
        name: "flip",
        params: &[
            p("axis", Word(FLIP_AXES), W("horizontal")),
            p("p", Num, N(0.5)),
        ],
    },
    Sig {
        name: "translate",
        params: &[p("pixels", Int, Absent), p("fraction", Num, Absent)],
    },
];

/// The synthetic generators, each with its own keys after the kind.
pub(crate) const SYNTHETIC_KINDS: &[Sig] = &[
    Sig {
        name: "xor",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
        ],
    },
    Sig {
        name: "spirals",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
            p("turns", Num, N(1.5)),
        ],
    },
    Sig {
        name: "moons",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
        ],
    },
    Sig {
        name: "blobs",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
            p("centers", Int, N(3.0)),
            p("std", Num, N(1.0)),
        ],
    },
    Sig {
        name: "uniform",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
            req("features", Int),
            req("classes", Int),
        ],
    },
    Sig {
        name: "adding",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
            req("steps", Int),
        ],
    },
    Sig {
        name: "temporal_order",
        params: &[
            req("kind", Word(SYNTHETIC)),
            req("samples", Int),
            p("noise", Num, N(0.0)),
            req("steps", Int),
        ],
    },
];

/// Penalties (`penalty ... on`) and tie norms (`tie ... ~ ...`).
pub(crate) const PENALTIES: &[Sig] = &[
    Sig {
        name: "l1",
        params: &[req("strength", Num)],
    },
    Sig {
        name: "l2",
        params: &[req("strength", Num)],
    },
    Sig {
        name: "elastic",
        params: &[req("l1", Num), req("l2", Num)],
    },
];

/// Gradient clipping.
pub(crate) const CLIPS: &[Sig] = &[
    Sig {
        name: "norm",
        params: &[req("max", Num)],
    },
    Sig {
        name: "value",
        params: &[req("max", Num)],
    },
];

/// Adversarial attacks.
pub(crate) const ATTACKS: &[Sig] = &[
    Sig {
        name: "fgsm",
        params: &[
            req("eps", Num),
            p("mix", Num, N(0.5)),
            p("warmup", Int, N(0.0)),
            p("range", Range, Absent),
        ],
    },
    Sig {
        name: "pgd",
        params: &[
            req("eps", Num),
            req("alpha", Num),
            req("steps", Int),
            p("mix", Num, N(0.5)),
            p("warmup", Int, N(0.0)),
            p("range", Range, Absent),
        ],
    },
];

/// Early stopping.
pub(crate) const EARLY_STOP: &[Sig] = &[Sig {
    name: "early_stop",
    params: &[
        req("patience", Int),
        p("metric", Word(METRICS), W("val_loss")),
        p("min_delta", Num, N(0.0)),
        p("restore_best", Bool, B(false)),
    ],
}];

/// The signature named `name` in `table`.
pub(crate) fn find(table: &'static [Sig], name: &str) -> Option<&'static Sig> {
    table.iter().find(|s| s.name == name)
}
