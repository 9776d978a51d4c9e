//! Orthogonal initializer: Saxe et al. 2013, "Exact solutions to the nonlinear dynamics of
//! learning in deep linear neural networks".

use ndarray::{s, Array1, Array2, ArrayViewMut2, ArrayViewMutD};
use rand::RngCore;

use crate::error::positive;
use crate::sample::standard_normal;
use crate::{Fans, InitError, Initializer};

/// A (semi-)orthogonal matrix times `gain` (PyTorch's `orthogonal_`).
///
/// The tensor is viewed as a matrix W of shape [rows, cols] with rows = shape\[0\] and
/// cols = the product of the other dimensions. Afterwards Wᵀ·W = gain²·I if rows ≥ cols and
/// W·Wᵀ = gain²·I if rows < cols, so every value has mean 0 and standard deviation
/// gain / √max(rows, cols).
///
/// The algorithm is PyTorch's: draw a [rows, cols] matrix of N(0, 1) values (row-major), take
/// its transpose if rows < cols, compute the thin QR decomposition A = Q·R, multiply each
/// column of Q by the sign of the matching diagonal element of R (which makes the
/// decomposition unique and Q Haar-distributed), transpose back and scale by gain.
///
/// The QR decomposition is a small Householder implementation in `f64` (no LAPACK); it costs
/// about 2·m·n² flops for an m × n matrix (m ≥ n). One deviation from PyTorch: a zero
/// diagonal element of R (probability 0) counts as positive instead of zeroing its column.
/// The tensor needs at least two dimensions; the fans are not used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orthogonal {
    gain: f32,
}

impl Orthogonal {
    /// Orthogonal with the given gain (finite, `> 0`).
    ///
    /// ```
    /// use knit_init::{initialize, Orthogonal};
    /// use ndarray::{Array2, Ix2};
    /// let w = initialize(&Orthogonal::new(2.0)?, &[5, 3], 0, "rnn.weight_hh")?;
    /// let w = w.into_dimensionality::<Ix2>().unwrap();
    /// let gram = w.t().dot(&w); // 3 x 3, = gain² · I
    /// assert!((gram - 4.0 * Array2::<f32>::eye(3)).iter().all(|e| e.abs() < 1e-5));
    /// # Ok::<(), knit_init::InitError>(())
    /// ```
    pub fn new(gain: f32) -> Result<Self, InitError> {
        Ok(Orthogonal {
            gain: positive("orthogonal", "gain", gain)?,
        })
    }

    /// The gain.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

impl Default for Orthogonal {
    /// Gain 1, PyTorch's default.
    fn default() -> Self {
        Orthogonal { gain: 1.0 }
    }
}

impl Initializer for Orthogonal {
    fn fill(
        &self,
        out: ArrayViewMutD<'_, f32>,
        _fans: Fans,
        rng: &mut dyn RngCore,
    ) -> Result<(), InitError> {
        if out.ndim() < 2 {
            return Err(InitError::TooFewDimensions {
                shape: out.shape().to_vec(),
            });
        }
        if out.is_empty() {
            return Ok(());
        }
        let rows = out.shape()[0];
        let cols = out.len() / rows;
        let w = random_orthogonal(rows, cols, rng);
        let gain = f64::from(self.gain);
        for (x, &q) in out.into_iter().zip(&w) {
            *x = (gain * q) as f32;
        }
        Ok(())
    }
}

/// A Haar-random [rows, cols] matrix with orthonormal columns (rows ≥ cols) or rows.
fn random_orthogonal(rows: usize, cols: usize, rng: &mut dyn RngCore) -> Array2<f64> {
    let normal = Array2::from_shape_simple_fn((rows, cols), || standard_normal(rng));
    if rows < cols {
        thin_q(normal.reversed_axes().as_standard_layout().into_owned()).reversed_axes()
    } else {
        thin_q(normal)
    }
}

/// The Q of the thin QR decomposition `a = Q·R` (a is m × n, m ≥ n), normalized so that R
/// has a non-negative diagonal: Q is m × n with orthonormal columns.
///
/// Householder: for each column k, the reflector H = I − 2·v·vᵀ maps a[k.., k] onto
/// α·e₁ with α = −sign(a[k,k])·‖a[k.., k]‖ (the sign that avoids cancellation), so R's
/// diagonal is (α₀, α₁, …). Then Q = H₀·H₁·…·Hₙ₋₁ applied to the first n columns of the
/// identity, and column k of Q is multiplied by sign(αₖ).
fn thin_q(mut a: Array2<f64>) -> Array2<f64> {
    let (m, n) = a.dim();
    debug_assert!(m >= n);
    let mut reflectors: Vec<Option<Array1<f64>>> = Vec::with_capacity(n);
    let mut signs = Vec::with_capacity(n);
    for k in 0..n {
        let x = a.slice(s![k.., k]);
        let norm = x.dot(&x).sqrt();
        if norm == 0.0 {
            // Nothing to annihilate: H = I and R[k, k] = 0, counted as positive.
            reflectors.push(None);
            signs.push(1.0);
            continue;
        }
        let alpha = if x[0] >= 0.0 { -norm } else { norm };
        let mut v = x.to_owned();
        // |v[0]| = |x[0]| + norm ≥ norm > 0, so v is never zero.
        v[0] -= alpha;
        v /= v.dot(&v).sqrt();
        reflect(&v, a.slice_mut(s![k.., k..]));
        reflectors.push(Some(v));
        signs.push(alpha.signum());
    }
    let mut q = Array2::zeros((m, n));
    q.diag_mut().fill(1.0);
    // Columns < k of q are still unit vectors e_j that H_k leaves alone.
    for (k, v) in reflectors.iter().enumerate().rev() {
        if let Some(v) = v {
            reflect(v, q.slice_mut(s![k.., k..]));
        }
    }
    for (mut column, sign) in q.columns_mut().into_iter().zip(signs) {
        column *= sign;
    }
    q
}

/// `block ← (I − 2·v·vᵀ)·block` for a unit vector `v`.
fn reflect(v: &Array1<f64>, mut block: ArrayViewMut2<'_, f64>) {
    let projection = v.dot(&block);
    for (mut row, &vi) in block.rows_mut().into_iter().zip(v) {
        row.scaled_add(-2.0 * vi, &projection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    #[test]
    fn thin_q_reproduces_the_matrix_with_positive_upper_triangular_r() {
        let mut rng = crate::stream(1, "qr");
        for (m, n) in [(1, 1), (5, 3), (7, 7), (40, 13)] {
            let a = Array2::from_shape_simple_fn((m, n), || standard_normal(&mut rng));
            let q = thin_q(a.clone());
            let r = q.t().dot(&a);
            assert!(max_abs(&(q.t().dot(&q) - Array2::<f64>::eye(n))) < 1e-12);
            assert!(max_abs(&(q.dot(&r) - &a)) < 1e-12, "A != QR for {m}x{n}");
            for i in 0..n {
                assert!(r[[i, i]] > 0.0);
                for j in 0..i {
                    assert!(r[[i, j]].abs() < 1e-12, "R[{i},{j}] = {}", r[[i, j]]);
                }
            }
        }
    }

    #[test]
    fn thin_q_handles_a_zero_column() {
        let mut a = Array2::<f64>::zeros((4, 2));
        a[[0, 1]] = 2.0;
        a[[3, 1]] = -1.0;
        let q = thin_q(a);
        assert!(max_abs(&(q.t().dot(&q) - Array2::<f64>::eye(2))) < 1e-12);
    }
}
