//! The LSTM cell of `nn.LSTM` (Hochreiter & Schmidhuber 1997, with a forget gate), gates in
//! PyTorch's row order i, f, g, o of `weight_ih`/`weight_hh`:
//!
//! ```text
//! [i f g o] = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh     (4H pre-activations)
//! i, f, o = σ(·),  g = tanh(·)
//! c_t = f ⊙ c_{t−1} + i ⊙ g
//! h_t = o ⊙ tanh(c_t)
//! ```
//!
//! Backward, with `dh` the gradient reaching `h_t` and `dc` the one reaching `c_t` from the
//! next step: `dc ← dc + dh ⊙ o ⊙ (1 − tanh²c_t)`; `do = dh ⊙ tanh c_t`, `di = dc ⊙ g`,
//! `dg = dc ⊙ i`, `df = dc ⊙ c_{t−1}`, then through the gate nonlinearities; `c_{t−1}`
//! receives `dc ⊙ f`.

use super::{blocks, blocks_mut};
use crate::Float;

/// One example's step. `gates` (4H) holds the pre-activations and is overwritten by the
/// activated gates; `c_prev` is `c_{t−1}` (zeros at the first step); writes `c`, `tanh_c`
/// and `h` (each H).
#[inline(always)]
pub(super) fn forward_row<F: Float>(
    gates: &mut [F],
    c_prev: &[F],
    c: &mut [F],
    tanh_c: &mut [F],
    h: &mut [F],
) {
    let n = h.len();
    let [i, f, g, o] = blocks_mut(gates, n);
    let (c_prev, c, tanh_c) = (&c_prev[..n], &mut c[..n], &mut tanh_c[..n]);
    for j in 0..n {
        let (ij, fj, gj, oj) = (
            i[j].logistic(),
            f[j].logistic(),
            g[j].tanh_vectorizable(),
            o[j].logistic(),
        );
        let cj = fj * c_prev[j] + ij * gj;
        let tj = cj.tanh_vectorizable();
        (i[j], f[j], g[j], o[j]) = (ij, fj, gj, oj);
        c[j] = cj;
        tanh_c[j] = tj;
        h[j] = oj * tj;
    }
}

/// One example's step backward. `gates` are the activated gates of the forward step, `dh`
/// the gradient reaching `h_t`; `dc` holds the gradient reaching `c_t` from step t+1 and leaves
/// with the one reaching `c_{t−1}`; the 4H pre-activation gradients go to `dgates`.
#[inline(always)]
pub(super) fn backward_row<F: Float>(
    gates: &[F],
    c_prev: &[F],
    tanh_c: &[F],
    dh: &[F],
    dc: &mut [F],
    dgates: &mut [F],
) {
    let n = dc.len();
    let one = F::one();
    let [di, df, dg, d_o] = blocks_mut(dgates, n);
    let [i, f, g, o] = blocks(gates, n);
    let (c_prev, tanh_c, dh) = (&c_prev[..n], &tanh_c[..n], &dh[..n]);
    for j in 0..n {
        let (i, f, g, o) = (i[j], f[j], g[j], o[j]);
        let t = tanh_c[j];
        let dh = dh[j];
        let dct = dh * o * (one - t * t) + dc[j];
        d_o[j] = dh * t * o * (one - o);
        di[j] = dct * g * i * (one - i);
        dg[j] = dct * i * (one - g * g);
        df[j] = dct * c_prev[j] * f * (one - f);
        dc[j] = dct * f;
    }
}
