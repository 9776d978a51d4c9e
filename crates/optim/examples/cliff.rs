//! Cliffs and exploding gradients: a loss with a wide, gentle valley next to a steep wall,
//!
//! ```text
//! f(w) = 1 − exp(−½ (w − 3)²) + 1000 · max(0, 1 − w)²
//! ```
//!
//! The valley (minimum f = 0 at w = 3) flattens out to a plateau f ≈ 1 far away; left of
//! w = 1 a cliff rises with slope up to 2000. Started at w = 0 on the cliff face, one
//! unclipped SGD step (lr 0.5) multiplies that slope by the learning rate and throws w about
//! 1000 units away, onto the plateau where the gradient is exactly zero: it never comes back.
//! Clipping the gradient's norm (or each element) to 1 bounds the first steps to lr·1, so SGD
//! climbs off the wall and converges.
//!
//! Adam is never thrown: its normalized step is about lr whatever the gradient's size. But
//! the wall's huge gradients stay in its second-moment estimate v for ~1/(1 − β₂) = 1000
//! steps, so in the gentle valley its steps are tiny and it is still short of the minimum
//! after 1000 steps. Clipping first keeps v at the valley's scale and Adam converges quickly.
//!
//! Run with `cargo run -p knit-optim --example cliff`.

mod common;

use common::{print_table, step, Config};
use knit_optim::{clip_grad_norm, clip_grad_value, AdamConfig, OptimError, SgdConfig};
use ndarray::{arr1, Array1};

/// Steps run.
pub const STEPS: usize = 1000;
/// Where every run starts: on the cliff face.
pub const W0: f64 = 0.0;
/// Height factor of the wall.
pub const WALL: f64 = 1000.0;

/// The loss.
pub fn loss(w: f64) -> f64 {
    1.0 - (-0.5 * (w - 3.0).powi(2)).exp() + WALL * (1.0 - w).max(0.0).powi(2)
}

/// Its derivative.
pub fn slope(w: f64) -> f64 {
    (w - 3.0) * (-0.5 * (w - 3.0).powi(2)).exp() - 2.0 * WALL * (1.0 - w).max(0.0)
}

/// What is done to the gradient before each step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clip {
    /// Nothing.
    None,
    /// [`clip_grad_norm`] to this norm.
    Norm(f64),
    /// [`clip_grad_value`] to this bound.
    Value(f64),
}

/// One run's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// w after the first step.
    pub first: f64,
    /// w after [`STEPS`] steps.
    pub last: f64,
    /// f(w) after [`STEPS`] steps.
    pub loss: f64,
    /// The first step with |w − 3| < 0.01, if any.
    pub reached: Option<usize>,
}

/// The runs compared.
pub fn runs() -> Vec<(&'static str, Config, Clip)> {
    let sgd = Config::Sgd(SgdConfig {
        lr: 0.5,
        ..SgdConfig::default()
    });
    let adam = Config::Adam(AdamConfig {
        lr: 0.1,
        ..AdamConfig::default()
    });
    vec![
        ("SGD lr 0.5, unclipped", sgd, Clip::None),
        ("SGD lr 0.5, clip_grad_norm 1", sgd, Clip::Norm(1.0)),
        ("SGD lr 0.5, clip_grad_value 1", sgd, Clip::Value(1.0)),
        ("Adam lr 0.1, unclipped", adam, Clip::None),
        ("Adam lr 0.1, clip_grad_norm 1", adam, Clip::Norm(1.0)),
    ]
}

/// Runs `config` from [`W0`] for [`STEPS`] steps, clipping as `clip` says.
pub fn descend(config: Config, clip: Clip) -> Result<Outcome, OptimError> {
    let mut opt = config.build(1)?;
    let mut w = arr1(&[W0]);
    let mut g = Array1::zeros(1);
    let (mut first, mut reached) = (W0, None);
    for t in 1..=STEPS {
        g[0] = slope(w[0]);
        match clip {
            Clip::None => {}
            Clip::Norm(max) => {
                clip_grad_norm(&mut [g.view_mut().into_dyn()], max)?;
            }
            Clip::Value(max) => clip_grad_value(&mut [g.view_mut().into_dyn()], max)?,
        }
        step(opt.as_mut(), &mut w, &g)?;
        if t == 1 {
            first = w[0];
        }
        if reached.is_none() && (w[0] - 3.0).abs() < 0.01 {
            reached = Some(t);
        }
    }
    Ok(Outcome {
        first,
        last: w[0],
        loss: loss(w[0]),
        reached,
    })
}

fn main() -> Result<(), OptimError> {
    println!(
        "f(w) = 1 − exp(−(w − 3)²/2) + {WALL}·max(0, 1 − w)², from w0 = {W0} (f = {:.1}, f' = {:.1}), {STEPS} steps:\n",
        loss(W0),
        slope(W0)
    );
    let header = [
        "w after step 1",
        "w at the end",
        "f at the end",
        "steps to w = 3 ± 0.01",
    ]
    .map(String::from);
    let mut rows = vec![];
    for (name, config, clip) in runs() {
        let o = descend(config, clip)?;
        let reached = o.reached.map_or("never".to_string(), |t| t.to_string());
        rows.push((
            name.to_string(),
            vec![
                format!("{:.2}", o.first),
                format!("{:.4}", o.last),
                format!("{:.2e}", o.loss),
                reached,
            ],
        ));
    }
    print_table("run", &header, &rows);
    Ok(())
}
