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

use super::{blocks, blocks_mut};
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
    let [ar, az, an] = blocks_mut(gates, n);
    let [ur, uz, un_all] = blocks(u, n);
    let (h_prev, un) = (&h_prev[..n], &mut un[..n]);
    for j in 0..n {
        let r = (ar[j] + ur[j]).logistic();
        let z = (az[j] + uz[j]).logistic();
        let u_n = un_all[j];
        let cand = (an[j] + r * u_n).tanh_vectorizable();
        (ar[j], az[j], an[j]) = (r, z, cand);
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
    let [r, z, cand] = blocks(gates, n);
    let [dxr, dxz, dxn] = blocks_mut(dgx, n);
    let [dhr, dhz, dhn] = blocks_mut(dgh, n);
    let (h_prev, dh, dh_prev) = (&h_prev[..n], &dh[..n], &mut dh_prev[..n]);
    for j in 0..n {
        let (r, z, cand) = (r[j], z[j], cand[j]);
        let dh = dh[j];
        let dn = dh * (one - z);
        let dz = dh * (h_prev[j] - cand);
        let dan = dn * (one - cand * cand);
        let dr = dan * un[j];
        let dar = dr * r * (one - r);
        let daz = dz * z * (one - z);
        (dxr[j], dxz[j], dxn[j]) = (dar, daz, dan);
        (dhr[j], dhz[j], dhn[j]) = (dar, daz, dan * r);
        dh_prev[j] = dh * z;
    }
}
