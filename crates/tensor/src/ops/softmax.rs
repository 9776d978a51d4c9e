//! Softmax and log-softmax over the last dimension.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// Softmax or log-softmax over the last dimension.
///
/// Softmax: `y_i = e^(x_i − m) / Σ_j e^(x_j − m)`, with `m` the row maximum (which cancels,
/// and keeps the exponentials finite); backward `∂x_i += y_i · (g_i − Σ_j g_j y_j)`.
///
/// Log-softmax (`log: true`): `y_i = x_i − m − ln Σ_j e^(x_j − m)`; backward
/// `∂x_i += g_i − e^(y_i) · Σ_j g_j`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax {
    /// Whether to return the logarithm of the probabilities.
    pub log: bool,
}

/// Writes the log-softmax of `x` into `out`, one row at a time.
pub(crate) fn log_softmax_rows<F: Float>(x: &[F], out: &mut [F], classes: usize) {
    for (row, o) in x.chunks_exact(classes).zip(out.chunks_exact_mut(classes)) {
        let max = row.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
        let sum: F = row.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        for (oi, &v) in o.iter_mut().zip(row) {
            *oi = v - lse;
        }
    }
}

impl Op for Softmax {
    fn kind(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let x = inputs[0];
        match x.dims.last() {
            Some(&c) if c > 0 => Ok(x.clone()),
            _ => Err(format!(
                "needs a non-empty last dimension to normalize over, got {x}"
            )),
        }
    }
}

impl<F: Float> Kernel<F> for Softmax {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let classes = *ctx.inputs.dims(0).last().expect("checked");
        let out = ctx.output.as_slice_mut().expect("contiguous");
        log_softmax_rows(ctx.inputs.slice(0), out, classes);
        if !self.log {
            out.iter_mut().for_each(|v| *v = v.exp());
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let classes = *ctx.inputs.dims(0).last().expect("checked");
        let y = ctx.output.as_slice().expect("contiguous");
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let Some(dx) = ctx.grad_inputs.slice(0) else {
            return Ok(());
        };
        let rows = dx
            .chunks_exact_mut(classes)
            .zip(y.chunks_exact(classes))
            .zip(g.chunks_exact(classes));
        for ((d, yr), gr) in rows {
            if self.log {
                let total: F = gr.iter().copied().sum();
                for ((di, &yi), &gi) in d.iter_mut().zip(yr).zip(gr) {
                    *di += gi - yi.exp() * total;
                }
            } else {
                let dot: F = yr.iter().zip(gr).map(|(&a, &b)| a * b).sum();
                for ((di, &yi), &gi) in d.iter_mut().zip(yr).zip(gr) {
                    *di += yi * (gi - dot);
                }
            }
        }
        Ok(())
    }
}
