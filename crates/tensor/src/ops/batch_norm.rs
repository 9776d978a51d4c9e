//! Batch normalization over the batch, with running statistics for evaluation.

use super::parallel::for_rows;
use super::reduce::lane_sum_of;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Mode, Op, StateSpec};
use crate::{Float, Shape, TensorError};

/// Batch normalization of `[B, C]` activations (PyTorch's `BatchNorm1d`) or `[B, C, H, W]`
/// images (`BatchNorm2d`): one mean and variance per channel, over the batch and, for
/// images, every position of the channel's plane.
///
/// Inputs: `x` `[B, C]` or `[B, C, H, W]`, `weight` γ `[C]`, `bias` β `[C]`. State:
/// `running_mean` (starts at 0), `running_var` (starts at 1) and `num_batches_tracked` (a
/// scalar counting the training forward passes, as in PyTorch, so that a checkpoint holds
/// every entry of a `BatchNorm1d`/`BatchNorm2d` `state_dict`; it is exact up to 2²⁴ batches
/// in `f32`).
///
/// With `n = B·H·W` values per channel (`n = B` for `[B, C]`), training:
/// `μ = mean x`, `σ² = mean (x − μ)²` (biased), `x̂ = (x − μ)/√(σ² + ε)`,
/// `y = γ·x̂ + β`; then `running_mean ← (1 − m)·running_mean + m·μ` and
/// `running_var ← (1 − m)·running_var + m·σ²·n/(n − 1)` (unbiased), with momentum `m`.
///
/// Evaluation: the same with the running statistics in place of μ and σ², which stay
/// unchanged.
///
/// Backward (training): `∂β = Σ g`, `∂γ = Σ g·x̂`,
/// `∂x = γ/(n·√(σ²+ε)) · (n·g − Σ g − x̂·Σ g·x̂)`, sums over a channel's `n` values; in
/// evaluation `∂x = g·γ/√(var+ε)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm {
    /// Weight of the newest batch in the running statistics (PyTorch's default 0.1).
    pub momentum: f64,
    /// Added to the variance before the square root (PyTorch's default 1e-5).
    pub eps: f64,
}

impl Default for BatchNorm {
    fn default() -> Self {
        BatchNorm {
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}

impl BatchNorm {
    /// Batch norm with the given momentum and epsilon, validated.
    pub fn new(momentum: f64, eps: f64) -> Result<Self, TensorError> {
        let bad = |message: String| TensorError::InvalidHyperparameter {
            op: "batch_norm".into(),
            message,
        };
        if !(0.0..=1.0).contains(&momentum) {
            return Err(bad(format!("momentum must be in [0, 1], got {momentum}")));
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(bad(format!("eps must be positive, got {eps}")));
        }
        Ok(BatchNorm { momentum, eps })
    }
}

impl Op for BatchNorm {
    fn kind(&self) -> &'static str {
        "batch_norm"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(3)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let x = inputs[0];
        if !x.batched || !matches!(x.dims.len(), 1 | 3) {
            return Err(format!(
                "batch norm normalizes [B, C] activations or [B, C, H, W] images, got {x}"
            ));
        }
        let c = x.dims[0];
        for (what, s) in [("weight", inputs[1]), ("bias", inputs[2])] {
            if s.batched || s.dims != [c] {
                return Err(format!("the {what} must have shape [{c}], got {s}"));
            }
        }
        Ok(x.clone())
    }

    fn scratch_len(&self, inputs: &[&[usize]], _output: &[usize]) -> usize {
        2 * inputs[0][1]
    }

    /// Each channel's `Σg` and `Σg·x̂` in the backward pass.
    fn workspace_len(&self, inputs: &[&[usize]], _output: &[usize]) -> usize {
        2 * inputs[0][1]
    }

    fn state(&self, inputs: &[&Shape]) -> Vec<StateSpec> {
        let c = inputs[0].dims[0];
        vec![
            StateSpec {
                name: "running_mean",
                dims: vec![c],
                fill: 0.0,
            },
            StateSpec {
                name: "running_var",
                dims: vec![c],
                fill: 1.0,
            },
            StateSpec {
                name: "num_batches_tracked",
                dims: vec![],
                fill: 0.0,
            },
        ]
    }
}

/// The layout of a batch norm input: `B` examples of `C` channels of `S` values each
/// (`S = H·W` for images, 1 for `[B, C]`).
#[derive(Clone, Copy)]
struct Planes {
    batch: usize,
    channels: usize,
    size: usize,
}

impl Planes {
    fn of(dims: &[usize]) -> Planes {
        Planes {
            batch: dims[0],
            channels: dims[1],
            size: dims[2..].iter().product(),
        }
    }

    /// The values per channel, `B·S`.
    fn per_channel(self) -> usize {
        self.batch * self.size
    }

    /// The `S` values of channel `j` in each example, in example order.
    fn channel<F>(self, data: &[F], j: usize) -> impl Iterator<Item = &[F]> {
        let (c, s) = (self.channels, self.size);
        data.chunks_exact(c * s)
            .map(move |e| &e[j * s..(j + 1) * s])
    }

    /// `Σ f(a, b)` over channel `j`'s values of `a` and `b` (the same layout), plane by
    /// plane in example order; a plane of 16 values or more is summed in lanes
    /// ([`lane_sum_of`]), so the sums do not wait on one chain of additions.
    fn channel_sum<F: Float>(self, a: &[F], b: &[F], j: usize, f: impl Fn(F, F) -> F + Copy) -> F {
        let planes = self.channel(a, j).zip(self.channel(b, j));
        if self.size >= 16 {
            planes.fold(F::zero(), |acc, (pa, pb)| acc + lane_sum_of(pa, pb, f))
        } else {
            planes
                .flat_map(|(pa, pb)| pa.iter().zip(pb))
                .fold(F::zero(), |acc, (&x, &y)| acc + f(x, y))
        }
    }
}

impl<F: Float> Kernel<F> for BatchNorm {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let pl = Planes::of(ctx.inputs.dims(0));
        let c = pl.channels;
        let x = ctx.inputs.slice(0);
        let (gamma, beta) = (ctx.inputs.slice(1), ctx.inputs.slice(2));
        let (mean, invstd) = ctx.scratch.split_at_mut(c);
        let eps = F::lit(self.eps);
        match ctx.mode {
            Mode::Train => {
                let count = pl.per_channel();
                if count < 2 {
                    return Err(TensorError::InvalidValue {
                        op: "batch_norm".into(),
                        node: ctx.node.to_string(),
                        // B·H·W < 2 only with one example of one value per channel.
                        message: format!(
                            "training needs more than 1 value per channel, got a batch of {}",
                            pl.batch
                        ),
                    });
                }
                let n = F::lit(count as f64);
                for j in 0..c {
                    mean[j] = pl.channel_sum(x, x, j, |v, _| v) / n;
                    let m = mean[j];
                    invstd[j] = pl.channel_sum(x, x, j, |v, _| (v - m) * (v - m));
                }
                let momentum = F::lit(self.momentum);
                let keep = F::one() - momentum;
                let unbias = n / (n - F::one());
                let [running_mean, running_var, tracked] = ctx.state else {
                    unreachable!("batch norm declares three state buffers")
                };
                tracked.iter_mut().for_each(|t| *t += F::one());
                let rm = running_mean.as_slice_mut().expect("contiguous");
                let rv = running_var.as_slice_mut().expect("contiguous");
                for j in 0..c {
                    let var = invstd[j] / n;
                    rm[j] = keep * rm[j] + momentum * mean[j];
                    rv[j] = keep * rv[j] + momentum * var * unbias;
                    invstd[j] = F::one() / (var + eps).sqrt();
                }
            }
            Mode::Eval => {
                let rm = ctx.state[0].as_slice().expect("contiguous");
                let rv = ctx.state[1].as_slice().expect("contiguous");
                mean.copy_from_slice(rm);
                for (s, &v) in invstd.iter_mut().zip(rv) {
                    *s = F::one() / (v + eps).sqrt();
                }
            }
        }
        let y = ctx.output.as_slice_mut().expect("contiguous");
        let (mean, invstd) = (&*mean, &*invstd);
        // Example by example over the threads: y = γ·(x − μ)·σ⁻¹ + β.
        for_rows(y, c * pl.size, ctx.threads, &|first, ys| {
            let examples = ys
                .chunks_exact_mut(c * pl.size)
                .zip(x[first * c * pl.size..].chunks_exact(c * pl.size));
            for (ye, xe) in examples {
                let planes = ye.chunks_exact_mut(pl.size).zip(xe.chunks_exact(pl.size));
                for (j, (yp, xp)) in planes.enumerate() {
                    let (m, gam, inv, shift) = (mean[j], gamma[j], invstd[j], beta[j]);
                    for (y, &x) in yp.iter_mut().zip(xp) {
                        *y = gam * (x - m) * inv + shift;
                    }
                }
            }
        });
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let pl = Planes::of(ctx.inputs.dims(0));
        let x = ctx.inputs.slice(0);
        let gamma = ctx.inputs.slice(1);
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let (mean, invstd) = ctx.scratch.split_at(pl.channels);
        // Channel j's Σg and Σg·x̂, computed once into the workspace.
        let (sum_g, sum_gx) = ctx.workspace[..2 * pl.channels].split_at_mut(pl.channels);
        for j in 0..pl.channels {
            let (m, inv) = (mean[j], invstd[j]);
            sum_g[j] = pl.channel_sum(g, g, j, |gi, _| gi);
            sum_gx[j] = pl.channel_sum(g, x, j, |gi, xi| gi * (xi - m) * inv);
        }
        if let Some(dbeta) = ctx.grad_inputs.slice(2) {
            dbeta.iter_mut().zip(&*sum_g).for_each(|(d, &s)| *d += s);
        }
        if let Some(dgamma) = ctx.grad_inputs.slice(1) {
            dgamma.iter_mut().zip(&*sum_gx).for_each(|(d, &s)| *d += s);
        }
        let (sum_g, sum_gx) = (&*sum_g, &*sum_gx);
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            let n = F::lit(pl.per_channel() as f64);
            let train = ctx.mode == Mode::Train;
            let len = pl.channels * pl.size;
            // Example by example over the threads.
            for_rows(dx, len, ctx.threads, &|first, dxs| {
                let examples = dxs.chunks_exact_mut(len).zip(
                    g[first * len..]
                        .chunks_exact(len)
                        .zip(x[first * len..].chunks_exact(len)),
                );
                for (de, (ge, xe)) in examples {
                    let planes = de
                        .chunks_exact_mut(pl.size)
                        .zip(ge.chunks_exact(pl.size).zip(xe.chunks_exact(pl.size)));
                    for (j, (dp, (gp, xp))) in planes.enumerate() {
                        let (m, inv) = (mean[j], invstd[j]);
                        let scale = gamma[j] * inv;
                        let (s, sx) = (sum_g[j], sum_gx[j]);
                        for ((d, &gi), &xi) in dp.iter_mut().zip(gp).zip(xp) {
                            *d += if train {
                                let xhat = (xi - m) * inv;
                                scale / n * (n * gi - s - xhat * sx)
                            } else {
                                scale * gi
                            };
                        }
                    }
                }
            });
        }
        Ok(())
    }
}
