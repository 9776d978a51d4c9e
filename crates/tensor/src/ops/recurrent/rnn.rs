//! The Elman cell of `nn.RNN`: `h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`, with
//! `act` tanh (PyTorch's default) or relu (the IRNN of Le et al. 2015, with identity
//! recurrent weights).

use crate::Float;

/// The nonlinearity of an Elman RNN (`nn.RNN(nonlinearity=...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RnnActivation {
    /// `tanh`, derivative `1 − h²`.
    #[default]
    Tanh,
    /// `max(a, 0)`, derivative 1 where `h > 0`.
    Relu,
}

/// One example's step: `gate` holds the pre-activation `a` and is overwritten by `h = act(a)`,
/// which is also written to `h`.
#[inline(always)]
pub(super) fn forward_row<F: Float>(act: RnnActivation, gate: &mut [F], h: &mut [F]) {
    match act {
        RnnActivation::Tanh => gate.iter_mut().for_each(|a| *a = a.tanh_vectorizable()),
        RnnActivation::Relu => gate.iter_mut().for_each(|a| *a = a.max(F::zero())),
    }
    h.copy_from_slice(gate);
}

/// One example's step backward: with `dh` the gradient reaching `h_t`, the pre-activation
/// gradient `da = dh ⊙ act'(h)` goes to `da`.
#[inline(always)]
pub(super) fn backward_row<F: Float>(act: RnnActivation, h: &[F], dh: &[F], da: &mut [F]) {
    let one = F::one();
    for ((d, &h), &dh) in da.iter_mut().zip(h).zip(dh) {
        *d = match act {
            RnnActivation::Tanh => dh * (one - h * h),
            RnnActivation::Relu if h > F::zero() => dh,
            RnnActivation::Relu => F::zero(),
        };
    }
}
