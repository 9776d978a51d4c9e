//! Batch normalization over the batch, with running statistics for evaluation.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Mode, Op, StateSpec};
use crate::{Float, Shape, TensorError};

/// Batch normalization of `[B, C]` activations (PyTorch's `BatchNorm1d`).
///
/// Inputs: `x` `[B, C]`, `weight` γ `[C]`, `bias` β `[C]`. State: `running_mean` (starts at
/// 0), `running_var` (starts at 1) and `num_batches_tracked` (a scalar counting the training
/// forward passes, as in PyTorch, so that a checkpoint holds every entry of a
/// `BatchNorm1d`'s `state_dict`; it is exact up to 2²⁴ batches in `f32`).
///
/// Training: `μ = mean_b x`, `σ² = mean_b (x − μ)²` (biased), `x̂ = (x − μ)/√(σ² + ε)`,
/// `y = γ·x̂ + β`; then `running_mean ← (1 − m)·running_mean + m·μ` and
/// `running_var ← (1 − m)·running_var + m·σ²·B/(B − 1)` (unbiased), with momentum `m`.
///
/// Evaluation: the same with the running statistics in place of μ and σ², which stay
/// unchanged.
///
/// Backward (training): `∂β = Σ g`, `∂γ = Σ g·x̂`,
/// `∂x = γ/(B·√(σ²+ε)) · (B·g − Σ g − x̂·Σ g·x̂)`; in evaluation `∂x = g·γ/√(var+ε)`.
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
        if !x.batched || x.dims.len() != 1 {
            return Err(format!("batch norm normalizes [B, C] activations, got {x}"));
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

    fn flops_per_example(&self, _inputs: &[&Shape], output: &Shape) -> u64 {
        6 * output.size() as u64
    }
}

impl<F: Float> Kernel<F> for BatchNorm {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let dims = ctx.inputs.dims(0);
        let (rows, c) = (dims[0], dims[1]);
        let x = ctx.inputs.slice(0);
        let (gamma, beta) = (ctx.inputs.slice(1), ctx.inputs.slice(2));
        let (mean, invstd) = ctx.scratch.split_at_mut(c);
        let eps = F::lit(self.eps);
        match ctx.mode {
            Mode::Train => {
                if rows < 2 {
                    return Err(TensorError::InvalidValue {
                        op: "batch_norm".into(),
                        node: ctx.node.to_string(),
                        message: format!(
                            "training needs more than 1 value per channel, got a batch of {rows}"
                        ),
                    });
                }
                let n = F::lit(rows as f64);
                mean.fill(F::zero());
                for row in x.chunks_exact(c) {
                    mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v);
                }
                mean.iter_mut().for_each(|m| *m /= n);
                invstd.fill(F::zero());
                for row in x.chunks_exact(c) {
                    for ((s, &v), &m) in invstd.iter_mut().zip(row).zip(mean.iter()) {
                        *s += (v - m) * (v - m);
                    }
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
        for (yr, xr) in y.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
            for j in 0..c {
                yr[j] = gamma[j] * (xr[j] - mean[j]) * invstd[j] + beta[j];
            }
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let dims = ctx.inputs.dims(0);
        let (rows, c) = (dims[0], dims[1]);
        let x = ctx.inputs.slice(0);
        let gamma = ctx.inputs.slice(1);
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let (mean, invstd) = ctx.scratch.split_at(c);
        // Per-channel Σg and Σg·x̂, accumulated in the order of the rows.
        let mut sums = [F::zero(); 2];
        let channel_sums = |j: usize, sums: &mut [F; 2]| {
            sums[0] = F::zero();
            sums[1] = F::zero();
            for r in 0..rows {
                let gi = g[r * c + j];
                sums[0] += gi;
                sums[1] += gi * (x[r * c + j] - mean[j]) * invstd[j];
            }
        };
        if let Some(dbeta) = ctx.grad_inputs.slice(2) {
            for (j, d) in dbeta.iter_mut().enumerate() {
                channel_sums(j, &mut sums);
                *d += sums[0];
            }
        }
        if let Some(dgamma) = ctx.grad_inputs.slice(1) {
            for (j, d) in dgamma.iter_mut().enumerate() {
                channel_sums(j, &mut sums);
                *d += sums[1];
            }
        }
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            let n = F::lit(rows as f64);
            for j in 0..c {
                let scale = gamma[j] * invstd[j];
                match ctx.mode {
                    Mode::Train => {
                        channel_sums(j, &mut sums);
                        for r in 0..rows {
                            let xhat = (x[r * c + j] - mean[j]) * invstd[j];
                            dx[r * c + j] +=
                                scale / n * (n * g[r * c + j] - sums[0] - xhat * sums[1]);
                        }
                    }
                    Mode::Eval => {
                        for r in 0..rows {
                            dx[r * c + j] += scale * g[r * c + j];
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
