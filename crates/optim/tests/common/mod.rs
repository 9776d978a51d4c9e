//! Helpers shared by the integration tests: a fixed two-parameter problem with deterministic
//! pseudo-random gradients, the list of optimizer configurations under test, and drivers.
#![allow(dead_code)]

use knit_optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, OptimError, Optimizer,
    ParamGroup, ParamSpec, Real, Rmsprop, RmspropConfig, Sgd, SgdConfig, Slot,
};
use ndarray::{ArrayD, IxDyn};

/// The parameters of the test problem: a 3×4 weight and a 5-element bias.
pub fn specs() -> Vec<ParamSpec> {
    vec![
        ParamSpec::new("a.weight", &[3, 4]),
        ParamSpec::new("a.bias", &[5]),
    ]
}

/// SplitMix64: a deterministic hash of `x`.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic pseudo-random number in [-1, 1) for `(stream, index)`.
pub fn uniform(stream: u64, index: u64) -> f64 {
    let bits = splitmix(stream.wrapping_mul(0x1_0000_0001).wrapping_add(index)) >> 11;
    bits as f64 / (1u64 << 52) as f64 - 1.0
}

/// Initial value of element `k` of parameter `i`.
pub fn init(i: usize, k: usize) -> f64 {
    uniform(1000 + i as u64, k as u64)
}

/// The gradient of element `k` of parameter `i` at step `t` (0-based) where the element is
/// `p`: a per-element curvature times `p` plus deterministic noise, so the trajectory depends
/// on the parameters as well as on the step.
pub fn grad(t: usize, i: usize, k: usize, p: f64) -> f64 {
    let curvature = 0.5 + (k % 3) as f64;
    curvature * p + 0.5 * uniform(t as u64 * 7 + i as u64, k as u64)
}

/// The initial parameters, as `F` arrays.
pub fn init_params<F: Real>() -> Vec<ArrayD<F>> {
    specs()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n: usize = s.shape.iter().product();
            let data = (0..n).map(|k| F::from(init(i, k)).unwrap()).collect();
            ArrayD::from_shape_vec(IxDyn(&s.shape), data).unwrap()
        })
        .collect()
}

/// The gradients at step `t` for the current parameters.
pub fn grads<F: Real>(t: usize, params: &[ArrayD<F>]) -> Vec<ArrayD<F>> {
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut k = 0;
            p.mapv(|x| {
                let g = grad(t, i, k, x.to_f64().unwrap());
                k += 1;
                F::from(g).unwrap()
            })
        })
        .collect()
}

/// One optimizer step at step index `t` on `params`, with the test problem's gradients.
pub fn step<F: Real>(
    opt: &mut dyn Optimizer<F>,
    params: &mut [ArrayD<F>],
    t: usize,
) -> Result<(), OptimError> {
    let g = grads(t, params);
    let mut slots: Vec<Slot<'_, F>> = params
        .iter_mut()
        .zip(&g)
        .map(|(p, g)| Slot::new(p.view_mut(), g.view()))
        .collect();
    opt.step(&mut slots)
}

/// Runs steps `range` and returns nothing; panics on error.
pub fn run<F: Real>(
    opt: &mut dyn Optimizer<F>,
    params: &mut [ArrayD<F>],
    range: std::ops::Range<usize>,
) {
    for t in range {
        step(opt, params, t).unwrap();
    }
}

/// Every optimizer configuration under test, by name.
#[derive(Debug, Clone, Copy)]
pub enum Case {
    Sgd(SgdConfig),
    Adagrad(AdagradConfig),
    Rmsprop(RmspropConfig),
    Adam(AdamConfig),
    AdamW(AdamWConfig),
}

impl Case {
    /// Builds the optimizer for `specs`/`groups`.
    pub fn build<F: Real>(
        self,
        specs: &[ParamSpec],
        groups: &[ParamGroup],
    ) -> Result<Box<dyn Optimizer<F>>, OptimError> {
        Ok(match self {
            Case::Sgd(c) => Box::new(Sgd::new(specs, groups, c)?),
            Case::Adagrad(c) => Box::new(Adagrad::new(specs, groups, c)?),
            Case::Rmsprop(c) => Box::new(Rmsprop::new(specs, groups, c)?),
            Case::Adam(c) => Box::new(Adam::new(specs, groups, c)?),
            Case::AdamW(c) => Box::new(AdamW::new(specs, groups, c)?),
        })
    }

    /// Builds the optimizer for the test problem with one default group.
    pub fn make<F: Real>(self) -> Box<dyn Optimizer<F>> {
        self.build(&specs(), &[]).unwrap()
    }

    /// The same configuration with learning rate `lr`.
    pub fn with_lr(self, lr: f64) -> Case {
        match self {
            Case::Sgd(c) => Case::Sgd(SgdConfig { lr, ..c }),
            Case::Adagrad(c) => Case::Adagrad(AdagradConfig { lr, ..c }),
            Case::Rmsprop(c) => Case::Rmsprop(RmspropConfig { lr, ..c }),
            Case::Adam(c) => Case::Adam(AdamConfig { lr, ..c }),
            Case::AdamW(c) => Case::AdamW(AdamWConfig { lr, ..c }),
        }
    }
}

/// Every configuration the brief asks for, with a label.
pub fn cases() -> Vec<(&'static str, Case)> {
    let sgd = SgdConfig {
        lr: 0.05,
        ..SgdConfig::default()
    };
    let adagrad = AdagradConfig {
        lr: 0.1,
        ..AdagradConfig::default()
    };
    let rms = RmspropConfig {
        lr: 0.01,
        ..RmspropConfig::default()
    };
    let adam = AdamConfig {
        lr: 0.02,
        ..AdamConfig::default()
    };
    let adamw = AdamWConfig {
        lr: 0.02,
        weight_decay: 0.1,
        ..AdamWConfig::default()
    };
    vec![
        ("sgd", Case::Sgd(sgd)),
        (
            "sgd momentum",
            Case::Sgd(SgdConfig {
                momentum: 0.9,
                ..sgd
            }),
        ),
        (
            "sgd dampening",
            Case::Sgd(SgdConfig {
                momentum: 0.9,
                dampening: 0.3,
                ..sgd
            }),
        ),
        (
            "sgd nesterov",
            Case::Sgd(SgdConfig {
                momentum: 0.9,
                nesterov: true,
                ..sgd
            }),
        ),
        (
            "sgd weight decay",
            Case::Sgd(SgdConfig {
                weight_decay: 0.1,
                ..sgd
            }),
        ),
        (
            "sgd momentum weight decay",
            Case::Sgd(SgdConfig {
                momentum: 0.8,
                weight_decay: 0.05,
                ..sgd
            }),
        ),
        ("adagrad", Case::Adagrad(adagrad)),
        (
            "adagrad lr_decay init",
            Case::Adagrad(AdagradConfig {
                lr_decay: 0.05,
                initial_accumulator_value: 0.1,
                ..adagrad
            }),
        ),
        (
            "adagrad weight decay",
            Case::Adagrad(AdagradConfig {
                weight_decay: 0.1,
                eps: 1e-6,
                ..adagrad
            }),
        ),
        ("rmsprop", Case::Rmsprop(rms)),
        (
            "rmsprop momentum",
            Case::Rmsprop(RmspropConfig {
                momentum: 0.5,
                ..rms
            }),
        ),
        (
            "rmsprop centered",
            Case::Rmsprop(RmspropConfig {
                centered: true,
                ..rms
            }),
        ),
        (
            "rmsprop centered momentum weight decay",
            Case::Rmsprop(RmspropConfig {
                centered: true,
                momentum: 0.7,
                weight_decay: 0.05,
                alpha: 0.9,
                ..rms
            }),
        ),
        ("adam", Case::Adam(adam)),
        (
            "adam weight decay",
            Case::Adam(AdamConfig {
                weight_decay: 0.1,
                ..adam
            }),
        ),
        (
            "amsgrad",
            Case::Adam(AdamConfig {
                amsgrad: true,
                betas: (0.8, 0.99),
                ..adam
            }),
        ),
        ("adamw", Case::AdamW(adamw)),
        (
            "adamw amsgrad",
            Case::AdamW(AdamWConfig {
                amsgrad: true,
                ..adamw
            }),
        ),
    ]
}
