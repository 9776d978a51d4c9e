//! The GRU cell of `nn.GRU` (Cho et al. 2014), gates in PyTorch's row order r, z, n, with the
//! reset gate applied after the recurrent product, as PyTorch (and cuDNN) do:
//!
//! ```text
//! [a_r a_z a_n] = x_t·W_ihᵀ + b_ih          [u_r u_z u_n] = h_{t−1}·W_hhᵀ + b_hh
//! r = σ(a_r + u_r),  z = σ(a_z + u_z),  n = tanh(a_n + r ⊙ u_n)
//! h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
//! ```
//!
//! Backward, with `dh` the gradient reaching `h_t`: `dn = dh ⊙ (1 − z)`, `dz = dh ⊙ (h_{t−1} − n)`,
//! `dâ_n = dn ⊙ (1 − n²)`, `dr = dâ_n ⊙ u_n`; the input side gets `[dâ_r, dâ_z, dâ_n]` and the
//! recurrent side `[dâ_r, dâ_z, dâ_n ⊙ r]` (the two differ only in the n block), and
//! `h_{t−1}` also receives `dh ⊙ z` directly.

use crate::Float;

/// One example's step. `gates` (3H) holds `a` (input side, with `b_ih`) and is overwritten
/// by `[r, z, n]`; `u` (3H) is the recurrent side with `b_hh`; keeps `u_n` in `un` and writes
/// `h`.
#[inline(always)]
pub(super) fn forward_row<F: Float>(
    gates: &mut [F],
    u: &[F],
    h_prev: &[F],
    un: &mut [F],
    h: &mut [F],
) {
    let n = h.len();
    let one = F::one();
    for j in 0..n {
        let r = (gates[j] + u[j]).logistic();
        let z = (gates[n + j] + u[n + j]).logistic();
        let u_n = u[2 * n + j];
        let cand = (gates[2 * n + j] + r * u_n).tanh_vectorizable();
        (gates[j], gates[n + j], gates[2 * n + j]) = (r, z, cand);
        un[j] = u_n;
        h[j] = (one - z) * cand + z * h_prev[j];
    }
}

/// One example's step backward. `gates` are `[r, z, n]` of the forward step, `dh` the
/// gradient reaching `h_t`; the direct part for `h_{t−1}` (`dh ⊙ z`) goes to `dh_prev`; the
/// input-side and recurrent-side pre-activation gradients go to `dgx` and
/// `dgh`.
#[inline(always)]
pub(super) fn backward_row<F: Float>(
    gates: &[F],
    un: &[F],
    h_prev: &[F],
    dh: &[F],
    dh_prev: &mut [F],
    dgx: &mut [F],
    dgh: &mut [F],
) {
    let n = un.len();
    let one = F::one();
    for j in 0..n {
        let (r, z, cand) = (gates[j], gates[n + j], gates[2 * n + j]);
        let dh = dh[j];
        let dn = dh * (one - z);
        let dz = dh * (h_prev[j] - cand);
        let dan = dn * (one - cand * cand);
        let dr = dan * un[j];
        let dar = dr * r * (one - r);
        let daz = dz * z * (one - z);
        dgx[j] = dar;
        dgx[n + j] = daz;
        dgx[2 * n + j] = dan;
        dgh[j] = dar;
        dgh[n + j] = daz;
        dgh[2 * n + j] = dan * r;
        dh_prev[j] = dh * z;
    }
}
