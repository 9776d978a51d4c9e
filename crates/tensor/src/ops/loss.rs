//! Losses, each reduced to the mean over the batch as PyTorch does by default.

use super::pointwise::sigmoid;
use super::softmax::log_softmax_rows;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// Softmax cross-entropy on integer class labels (PyTorch's `CrossEntropyLoss`, mean).
///
/// Inputs: logits `[B, C]` and labels `[B]` holding class indices `0..C` (as floats).
/// `loss = (1/B) Σ_i (ln Σ_j e^(x_ij) − x_i,y_i)`, computed through log-sum-exp with the row
/// maximum subtracted, so logits of ±1e4 give a finite loss.
///
/// Backward: `∂x_ij += g · (softmax(x)_ij − [j = y_i]) / B`; labels get no gradient.
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossEntropy;

impl Op for CrossEntropy {
    fn kind(&self) -> &'static str {
        "cross_entropy"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let (x, y) = (inputs[0], inputs[1]);
        if x.rank() != 2 {
            return Err(format!("logits must be [B, classes], got {x}"));
        }
        if y.batched != x.batched || y.dims[..] != x.dims[..x.dims.len() - 1] {
            return Err(format!(
                "labels must hold one class index per row of the logits {x}, got {y}"
            ));
        }
        Ok(Shape::scalar())
    }

    fn differentiable(&self, input: usize) -> bool {
        input == 0
    }

    fn scratch_len(&self, inputs: &[&[usize]], _output: &[usize]) -> usize {
        inputs[0].iter().product()
    }
}

impl<F: Float> Kernel<F> for CrossEntropy {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let dims = ctx.inputs.dims(0);
        let (rows, classes) = (dims[0], dims[1]);
        let (x, labels) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let logp = &mut ctx.scratch[..rows * classes];
        log_softmax_rows(x, logp, classes);
        let mut total = F::zero();
        for (row, &label) in labels.iter().enumerate() {
            let class = class_index(label, classes).ok_or_else(|| TensorError::InvalidValue {
                op: "cross_entropy".into(),
                node: ctx.node.to_string(),
                message: format!("label {label} in row {row} is not a class index in 0..{classes}"),
            })?;
            total -= logp[row * classes + class];
        }
        ctx.output[[]] = if rows == 0 {
            F::zero()
        } else {
            total / F::lit(rows as f64)
        };
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let dims = ctx.inputs.dims(0);
        let (rows, classes) = (dims[0], dims[1]);
        let labels = ctx.inputs.slice(1);
        let scale = ctx.grad_output[[]] / F::lit(rows.max(1) as f64);
        let logp = &ctx.scratch[..rows * classes];
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            let it = dx
                .chunks_exact_mut(classes)
                .zip(logp.chunks_exact(classes))
                .zip(labels);
            for ((d, lp), &label) in it {
                let class = class_index(label, classes).expect("checked in forward");
                for (di, &l) in d.iter_mut().zip(lp) {
                    *di += scale * l.exp();
                }
                d[class] -= scale;
            }
        }
        Ok(())
    }
}

/// The class index a label stands for, if it is an integer in `0..classes`.
fn class_index<F: Float>(label: F, classes: usize) -> Option<usize> {
    let v = label.as_f64();
    (v >= 0.0 && v.fract() == 0.0 && v < classes as f64).then_some(v as usize)
}

/// Mean squared error `(1/N) Σ (a − b)²` over all N elements (PyTorch's `MSELoss`).
///
/// Backward: `∂a += g · 2(a − b)/N`, `∂b −= g · 2(a − b)/N`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mse;

/// Binary cross-entropy on logits, `(1/N) Σ max(x, 0) − x·t + ln(1 + e^(−|x|))`, the stable
/// form of PyTorch's `BCEWithLogitsLoss` (mean).
///
/// Backward: `∂x += g · (σ(x) − t)/N`, `∂t += g · (−x)/N`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BceWithLogits;

fn same_shape_loss(inputs: &[&Shape]) -> Result<Shape, String> {
    if inputs[0] != inputs[1] {
        return Err(format!(
            "prediction {} and target {} must have the same shape",
            inputs[0], inputs[1]
        ));
    }
    Ok(Shape::scalar())
}

impl Op for Mse {
    fn kind(&self) -> &'static str {
        "mse"
    }
    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }
    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        same_shape_loss(inputs)
    }
}

impl<F: Float> Kernel<F> for Mse {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let (a, b) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let sum: F = a.iter().zip(b).map(|(&x, &y)| (x - y) * (x - y)).sum();
        ctx.output[[]] = sum / F::lit(a.len().max(1) as f64);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let (a, b) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let scale = ctx.grad_output[[]] * F::lit(2.0 / a.len().max(1) as f64);
        for (k, sign) in [(0, F::one()), (1, -F::one())] {
            if let Some(d) = ctx.grad_inputs.slice(k) {
                for ((di, &x), &y) in d.iter_mut().zip(a).zip(b) {
                    *di += sign * scale * (x - y);
                }
            }
        }
        Ok(())
    }
}

impl Op for BceWithLogits {
    fn kind(&self) -> &'static str {
        "bce_with_logits"
    }
    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }
    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        same_shape_loss(inputs)
    }
}

impl<F: Float> Kernel<F> for BceWithLogits {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let (x, t) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let sum: F = x
            .iter()
            .zip(t)
            .map(|(&x, &t)| x.max(F::zero()) - x * t + (-x.abs()).exp().ln_1p())
            .sum();
        ctx.output[[]] = sum / F::lit(x.len().max(1) as f64);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let (x, t) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let scale = ctx.grad_output[[]] / F::lit(x.len().max(1) as f64);
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            for ((d, &xi), &ti) in dx.iter_mut().zip(x).zip(t) {
                *d += scale * (sigmoid(xi) - ti);
            }
        }
        if let Some(dt) = ctx.grad_inputs.slice(1) {
            for (d, &xi) in dt.iter_mut().zip(x) {
                *d -= scale * xi;
            }
        }
        Ok(())
    }
}
