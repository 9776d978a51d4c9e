//! Functions applied to each element on its own: activations, scaling, negation, |x|.

use super::parallel::for_spans;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// An elementwise function `y = f(x)` with its derivative, in PyTorch's definitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pointwise {
    /// `max(x, 0)`; derivative 1 for x > 0, else 0.
    Relu,
    /// `x` for x > 0, else `slope·x`.
    LeakyRelu {
        /// The negative slope (PyTorch's default 0.01).
        slope: f64,
    },
    /// `x` for x > 0, else `α(eˣ − 1)`; derivative for x ≤ 0 is `y + α`.
    Elu {
        /// α (PyTorch's default 1).
        alpha: f64,
    },
    /// `1 / (1 + e⁻ˣ)`; derivative `y(1 − y)`.
    Sigmoid,
    /// `tanh x`; derivative `1 − y²`.
    Tanh,
    /// `ln(1 + e^(βx)) / β`, or `x` where `βx > threshold`; derivative `σ(βx)`.
    Softplus {
        /// β (PyTorch's default 1).
        beta: f64,
        /// Above this value of βx the function is treated as linear (PyTorch's default 20).
        threshold: f64,
    },
    /// The exact GELU `x·Φ(x) = x/2 · (1 + erf(x/√2))`; derivative `Φ(x) + x·φ(x)`.
    Gelu,
    /// `|x|`; derivative `sign(x)` (0 at 0).
    Abs,
    /// `c·x`.
    Scale(f64),
    /// `−x`.
    Neg,
}

impl Pointwise {
    #[inline(always)]
    fn value<F: Float>(self, x: F) -> F {
        let one = F::one();
        match self {
            Pointwise::Relu => x.max(F::zero()),
            Pointwise::LeakyRelu { slope } => {
                if x > F::zero() {
                    x
                } else {
                    F::lit(slope) * x
                }
            }
            Pointwise::Elu { alpha } => {
                if x > F::zero() {
                    x
                } else {
                    F::lit(alpha) * x.exp_m1()
                }
            }
            Pointwise::Sigmoid => sigmoid(x),
            Pointwise::Tanh => x.tanh(),
            Pointwise::Softplus { beta, threshold } => {
                let bx = F::lit(beta) * x;
                if bx > F::lit(threshold) {
                    x
                } else {
                    bx.exp().ln_1p() / F::lit(beta)
                }
            }
            Pointwise::Gelu => {
                F::lit(0.5) * x * (one + (x * F::lit(std::f64::consts::FRAC_1_SQRT_2)).erf())
            }
            Pointwise::Abs => x.abs(),
            Pointwise::Scale(c) => F::lit(c) * x,
            Pointwise::Neg => -x,
        }
    }

    /// dy/dx from the input `x` and the output `y`.
    #[inline(always)]
    fn derivative<F: Float>(self, x: F, y: F) -> F {
        let (zero, one) = (F::zero(), F::one());
        match self {
            Pointwise::Relu => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            Pointwise::LeakyRelu { slope } => {
                if x > zero {
                    one
                } else {
                    F::lit(slope)
                }
            }
            Pointwise::Elu { alpha } => {
                if x > zero {
                    one
                } else {
                    y + F::lit(alpha)
                }
            }
            Pointwise::Sigmoid => y * (one - y),
            Pointwise::Tanh => one - y * y,
            Pointwise::Softplus { beta, threshold } => {
                let bx = F::lit(beta) * x;
                if bx > F::lit(threshold) {
                    one
                } else {
                    sigmoid(bx)
                }
            }
            Pointwise::Gelu => {
                let cdf = F::lit(0.5) * (one + (x * F::lit(std::f64::consts::FRAC_1_SQRT_2)).erf());
                let pdf = (-F::lit(0.5) * x * x).exp() * F::lit(0.398_942_280_401_432_7);
                cdf + x * pdf
            }
            Pointwise::Abs => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    zero
                }
            }
            Pointwise::Scale(c) => F::lit(c),
            Pointwise::Neg => -one,
        }
    }
}

/// The logistic function, computed without overflow for large |x|.
#[inline]
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

impl Op for Pointwise {
    fn kind(&self) -> &'static str {
        match self {
            Pointwise::Relu => "relu",
            Pointwise::LeakyRelu { .. } => "leaky_relu",
            Pointwise::Elu { .. } => "elu",
            Pointwise::Sigmoid => "sigmoid",
            Pointwise::Tanh => "tanh",
            Pointwise::Softplus { .. } => "softplus",
            Pointwise::Gelu => "gelu",
            Pointwise::Abs => "abs",
            Pointwise::Scale(_) => "scale",
            Pointwise::Neg => "neg",
        }
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        Ok(inputs[0].clone())
    }
}

impl<F: Float> Kernel<F> for Pointwise {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let x = ctx.inputs.slice(0);
        let y = ctx.output.as_slice_mut().expect("contiguous");
        // One loop per variant, so that each compiles to a tight, vectorizable body (relu's a
        // branch-free select); large arrays are split over the threads.
        macro_rules! map {
            ($variant:expr) => {
                for_spans(y, ctx.threads, &|first, y: &mut [F]| {
                    // Compiled for AVX-512 / AVX2 where the CPU has them.
                    knit_simd::vectorized(
                        #[inline(always)]
                        || {
                            for (o, &v) in y.iter_mut().zip(&x[first..]) {
                                *o = $variant.value(v);
                            }
                        },
                    )
                })
            };
        }
        match *self {
            Pointwise::Relu => map!(Pointwise::Relu),
            other => map!(other),
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let x = ctx.inputs.slice(0);
        let y = ctx.output.as_slice().expect("contiguous");
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let Some((dx, fresh)) = ctx.grad_inputs.slice_or_fresh(0) else {
            return Ok(());
        };
        // As in `forward`: one loop per variant (and per write mode), so that relu's, the
        // common case, is a branch-free select the compiler vectorizes.
        macro_rules! chain {
            ($variant:expr) => {
                for_spans(dx, ctx.threads, &|first, dx: &mut [F]| {
                    knit_simd::vectorized(
                        #[inline(always)]
                        || {
                            let (x, y, g) = (&x[first..], &y[first..], &g[first..]);
                            let terms = dx.iter_mut().zip(x).zip(y).zip(g);
                            if fresh {
                                for (((d, &xi), &yi), &gi) in terms {
                                    *d = gi * $variant.derivative(xi, yi);
                                }
                            } else {
                                for (((d, &xi), &yi), &gi) in terms {
                                    *d += gi * $variant.derivative(xi, yi);
                                }
                            }
                        },
                    )
                })
            };
        }
        match *self {
            Pointwise::Relu => chain!(Pointwise::Relu),
            other => chain!(other),
        }
        Ok(())
    }
}
