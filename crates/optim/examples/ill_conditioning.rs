//! Ill conditioning: gradient descent on the quadratic f(x) = ½ Σᵢ λᵢ xᵢ² in 10 dimensions,
//! with curvatures λᵢ log-spaced from 1 to κ, so the condition number is κ.
//!
//! Plain SGD must use lr ≤ 2/L to stay stable (here lr = 1/L = 1/κ), so the flattest
//! direction shrinks by only (1 − 1/κ) per step: the step count grows like κ. Heavy-ball
//! momentum with its optimal tuning (lr = 4/(√L + √μ)², μ_m = ((√κ − 1)/(√κ + 1))²) grows like
//! √κ. AdaGrad, RMSProp and Adam divide each coordinate by its own gradient scale; on a
//! diagonal quadratic that undoes the conditioning, so with one fixed learning rate their step
//! counts barely depend on κ.
//!
//! Counted: the first step from which f(x) < 10⁻⁶·f(x₀) holds for 50 consecutive steps (so a
//! lucky pass through the minimum while oscillating does not count), from x₀ = (1, …, 1),
//! capped at 20 000.
//!
//! A caveat the table does not show: with a constant learning rate the adaptive methods do
//! not converge for good on a noiseless problem. Once |g| falls to the order of `eps`, the
//! step lr·g/(√v + eps) ≈ (lr/eps)·g is far past the stability limit and the iterate is
//! thrown back out, to hover at a distance set by lr. Decay the learning rate to go further.
//!
//! Run with `cargo run -p knit-optim --example ill_conditioning`.

mod common;

use common::{count, held_step, print_table, Config};
use knit_optim::{AdagradConfig, AdamConfig, OptimError, RmspropConfig, SgdConfig};
use ndarray::Array1;

/// The condition numbers compared.
pub const KAPPAS: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
/// Dimension of the quadratic.
pub const DIM: usize = 10;
/// Step cap.
pub const MAX_STEPS: usize = 20_000;
/// Success: f(x) < TOL·f(x₀) …
pub const TOL: f64 = 1e-6;
/// … for this many steps in a row.
pub const HOLD: usize = 50;
/// The optimizers compared, in table order.
pub const NAMES: [&str; 5] = [
    "SGD (lr = 1/L)",
    "momentum (heavy ball, tuned)",
    "AdaGrad (lr 0.5)",
    "RMSProp (lr 0.01)",
    "Adam (lr 0.05)",
];

/// λᵢ = κ^(i/(d−1)), i = 0 … d−1.
pub fn curvatures(kappa: f64) -> Array1<f64> {
    Array1::from_shape_fn(DIM, |i| kappa.powf(i as f64 / (DIM - 1) as f64))
}

/// The configurations of [`NAMES`] for condition number `kappa`.
pub fn configs(kappa: f64) -> [Config; 5] {
    let (mu, l) = (1.0f64, kappa);
    let heavy_lr = 4.0 / (l.sqrt() + mu.sqrt()).powi(2);
    let heavy_momentum = ((kappa.sqrt() - 1.0) / (kappa.sqrt() + 1.0)).powi(2);
    [
        Config::Sgd(SgdConfig {
            lr: 1.0 / l,
            ..SgdConfig::default()
        }),
        Config::Sgd(SgdConfig {
            lr: heavy_lr,
            momentum: heavy_momentum,
            ..SgdConfig::default()
        }),
        Config::Adagrad(AdagradConfig {
            lr: 0.5,
            ..AdagradConfig::default()
        }),
        Config::Rmsprop(RmspropConfig {
            lr: 0.01,
            ..RmspropConfig::default()
        }),
        Config::Adam(AdamConfig {
            lr: 0.05,
            ..AdamConfig::default()
        }),
    ]
}

/// Steps after which `config` holds f < TOL·f(x₀) for [`HOLD`] steps at condition number `kappa` (`None`: cap hit).
pub fn steps(config: Config, kappa: f64) -> Result<Option<usize>, OptimError> {
    let lambda = curvatures(kappa);
    let f = |x: &Array1<f64>| 0.5 * (&lambda * x * x).sum();
    let x0 = Array1::ones(DIM);
    let f0 = f(&x0);
    held_step(
        config,
        &x0,
        |x, g| g.assign(&(&lambda * x)),
        |x| f(x) < TOL * f0,
        HOLD,
        MAX_STEPS,
    )
}

/// `table[optimizer][kappa]`: steps, in [`NAMES`] × [`KAPPAS`] order.
pub fn table() -> Result<Vec<Vec<Option<usize>>>, OptimError> {
    (0..NAMES.len())
        .map(|o| KAPPAS.iter().map(|&k| steps(configs(k)[o], k)).collect())
        .collect()
}

fn main() -> Result<(), OptimError> {
    let table = table()?;
    println!("Steps until f(x) < 1e-6·f(x0) holds for {HOLD} steps, on ½ Σ λᵢ xᵢ², 10-D, λ log-spaced in [1, κ] (cap {MAX_STEPS}):\n");
    let header: Vec<String> = KAPPAS.iter().map(|k| format!("κ = {k}")).collect();
    let rows: Vec<(String, Vec<String>)> = NAMES
        .iter()
        .zip(&table)
        .map(|(n, r)| {
            (
                n.to_string(),
                r.iter().map(|&s| count(s, MAX_STEPS)).collect(),
            )
        })
        .collect();
    print_table("optimizer", &header, &rows);
    Ok(())
}
