//! Saddle points: f(x, y) = x² − y², a saddle at the origin, started at (1, 10⁻⁶), barely off
//! the ridge. The gradient along y is 2y, tiny near the saddle, so plain SGD multiplies y by
//! only (1 + 2·lr) per step and lingers. Momentum accumulates the consistent push; RMSProp and
//! Adam divide by the gradient's own recent scale, so a tiny but consistent gradient still
//! gives a full-sized step, and how close to the ridge they start hardly matters. AdaGrad
//! divides by the scale of *all* past gradients: its accumulator only grows, so its steps
//! keep shrinking and it is the slowest to leave. Started exactly on the ridge (y = 0) no first-order method
//! ever leaves: the gradient along y is exactly zero (noise breaks the symmetry in practice).
//!
//! Counted: steps until |y| > 1, capped at 10 000, every optimizer at lr = 0.01.
//!
//! Run with `cargo run -p knit-optim --example saddle`.

mod common;

use common::{count, first_step, print_table, Config};
use knit_optim::{AdagradConfig, AdamConfig, OptimError, RmspropConfig, SgdConfig};
use ndarray::{arr1, Array1};

/// Step cap.
pub const MAX_STEPS: usize = 10_000;
/// Learning rate of every optimizer.
pub const LR: f64 = 0.01;
/// The starting offsets from the ridge compared.
pub const STARTS: [f64; 3] = [1e-6, 1e-3, 0.0];

/// The optimizers compared, by name.
pub fn configs() -> Vec<(&'static str, Config)> {
    let sgd = SgdConfig {
        lr: LR,
        ..SgdConfig::default()
    };
    vec![
        ("SGD", Config::Sgd(sgd)),
        (
            "momentum 0.9",
            Config::Sgd(SgdConfig {
                momentum: 0.9,
                ..sgd
            }),
        ),
        (
            "Nesterov 0.9",
            Config::Sgd(SgdConfig {
                momentum: 0.9,
                nesterov: true,
                ..sgd
            }),
        ),
        (
            "AdaGrad",
            Config::Adagrad(AdagradConfig {
                lr: LR,
                ..AdagradConfig::default()
            }),
        ),
        (
            "RMSProp",
            Config::Rmsprop(RmspropConfig {
                lr: LR,
                ..RmspropConfig::default()
            }),
        ),
        (
            "Adam",
            Config::Adam(AdamConfig {
                lr: LR,
                ..AdamConfig::default()
            }),
        ),
    ]
}

/// ∇f = (2x, −2y).
fn grad(p: &Array1<f64>, g: &mut Array1<f64>) {
    g[0] = 2.0 * p[0];
    g[1] = -2.0 * p[1];
}

/// Steps for `config` to reach |y| > 1 from (1, y0) (`None`: still on the saddle at the cap).
pub fn escape(config: Config, y0: f64) -> Result<Option<usize>, OptimError> {
    first_step(
        config,
        &arr1(&[1.0, y0]),
        grad,
        |p| p[1].abs() > 1.0,
        MAX_STEPS,
    )
}

fn main() -> Result<(), OptimError> {
    println!("Steps to leave the saddle of x² − y² (|y| > 1) from (1, y0), lr = {LR} (cap {MAX_STEPS}):\n");
    let header: Vec<String> = STARTS
        .iter()
        .map(|&y| {
            if y == 0.0 {
                "y0 = 0".into()
            } else {
                format!("y0 = {y:e}")
            }
        })
        .collect();
    let mut rows = vec![];
    for (name, config) in configs() {
        let cells = STARTS
            .iter()
            .map(|&y| escape(config, y).map(|s| count(s, MAX_STEPS)))
            .collect::<Result<_, _>>()?;
        rows.push((name.to_string(), cells));
    }
    print_table("optimizer", &header, &rows);
    Ok(())
}
