//! Long-term dependencies: a linear recurrent net h_t = W·h_{t−1} over 50 steps. The
//! Jacobian ∂h_t/∂h_0 is the product of t Jacobians, W^t, so backpropagated gradients are
//! multiplied by it: its norm shrinks or grows like ρ^t, with ρ the spectral radius of W.
//!
//! * W = g·Q with Q orthogonal (`knit_init::Orthogonal` with gain g): all singular values of
//!   W^t are exactly g^t. g = 0.9 vanishes (0.9⁵⁰ ≈ 5·10⁻³), g = 1.1 explodes
//!   (1.1⁵⁰ ≈ 117), g = 1 keeps the norm at 1 however long the sequence.
//! * W Gaussian (`knit_init::LeCunNormal`, N(0, 1/n), ρ ≈ 1), and the same matrix rescaled to
//!   ρ = 0.9 and 1.1 (ρ estimated by Gelfand's formula ρ = lim ‖W^k‖^(1/k)): the long-run trend
//!   is still ρ^t, but a non-normal matrix's norms first wander away from it, and a random
//!   matrix's ρ is near 1 only on average: it does not protect the gradient like an orthogonal
//!   one.
//!
//! Printed: ‖∂h_t/∂h_0‖₂ = ‖W^t‖₂ (largest singular value, by power iteration in f64).
//!
//! Run with `cargo run -p knit-optim --example long_term`.

mod common;

use common::print_table;
use knit_init::{initialize, LeCunNormal, Orthogonal};
use ndarray::{Array1, Array2, Ix2};
use std::error::Error;

/// Hidden size.
pub const N: usize = 32;
/// Sequence length.
pub const T: usize = 50;
/// The steps reported.
pub const REPORTED: [usize; 5] = [1, 10, 20, 30, 50];
/// Seed of the weight initializers.
pub const SEED: u64 = 7;

/// `initialize`'s f32 matrix as f64.
fn matrix(init: &dyn knit_init::Initializer) -> Result<Array2<f64>, Box<dyn Error>> {
    let w = initialize(init, &[N, N], SEED, "rnn.weight_hh")?.into_dimensionality::<Ix2>()?;
    Ok(w.mapv(f64::from))
}

/// The largest singular value of `a`, by power iteration on aᵀa.
pub fn spectral_norm(a: &Array2<f64>) -> f64 {
    let mut v = Array1::from_shape_fn(a.ncols(), |i| 1.0 + (i as f64 * 0.618).sin());
    let mut sigma = 0.0;
    for _ in 0..500 {
        let av = a.dot(&v);
        sigma = av.dot(&av).sqrt();
        let w = a.t().dot(&av);
        let norm = w.dot(&w).sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        v = w / norm;
    }
    sigma
}

/// The spectral radius of `w` by Gelfand's formula: the growth rate of ‖W^k x‖ over k = 2000.
pub fn spectral_radius(w: &Array2<f64>) -> f64 {
    const K: usize = 2000;
    let mut x = Array1::from_shape_fn(w.nrows(), |i| 1.0 + (i as f64 * 0.37).cos());
    x /= x.dot(&x).sqrt();
    let mut log_growth = 0.0;
    for _ in 0..K {
        x = w.dot(&x);
        let norm = x.dot(&x).sqrt();
        log_growth += norm.ln();
        x /= norm;
    }
    (log_growth / K as f64).exp()
}

/// ‖W^t‖₂ for t = 0 ..= T.
pub fn jacobian_norms(w: &Array2<f64>) -> Vec<f64> {
    let mut power = Array2::eye(w.nrows());
    let mut norms = vec![1.0];
    for _ in 0..T {
        power = w.dot(&power);
        norms.push(spectral_norm(&power));
    }
    norms
}

/// A named recurrent weight matrix.
pub type Named = (String, Array2<f64>);

/// The recurrent weights compared.
pub fn weights() -> Result<Vec<Named>, Box<dyn Error>> {
    let mut out = vec![];
    for gain in [0.9f32, 1.0, 1.1] {
        let name = if gain == 1.0 {
            "orthogonal".to_string()
        } else {
            format!("{gain} · orthogonal")
        };
        out.push((name, matrix(&Orthogonal::new(gain)?)?));
    }
    let gaussian = matrix(&LeCunNormal)?;
    let rho = spectral_radius(&gaussian);
    for target in [0.9, 1.1] {
        out.push((
            format!("Gaussian rescaled to ρ = {target}"),
            &gaussian * (target / rho),
        ));
    }
    out.push(("Gaussian N(0, 1/n)".to_string(), gaussian));
    Ok(out)
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("‖∂h_t/∂h_0‖₂ = ‖W^t‖₂ for h_t = W·h_(t−1), {N} hidden units:\n");
    let mut header = vec!["ρ(W)".to_string()];
    header.extend(REPORTED.iter().map(|t| format!("t = {t}")));
    let mut rows = vec![];
    for (name, w) in weights()? {
        let norms = jacobian_norms(&w);
        let mut cells = vec![format!("{:.3}", spectral_radius(&w))];
        cells.extend(REPORTED.iter().map(|&t| format!("{:.3e}", norms[t])));
        rows.push((name, cells));
    }
    print_table("W", &header, &rows);
    Ok(())
}
