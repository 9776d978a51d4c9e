//! Matrix products: `linear` (x·Wᵀ + b, PyTorch's layout) and plain `matmul` (a·B).

use crate::linalg::matmul_into;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};
use ndarray::{ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, Ix2};

/// How the second operand of a [`Linear`] op is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WeightLayout {
    /// `[out, in]`, PyTorch's `Linear.weight`: `y = x · Wᵀ`.
    #[default]
    OutIn,
    /// `[in, out]`, a plain matrix: `y = x · B` (the `matmul` op).
    InOut,
}

/// A fully connected layer or a matrix product: `y = x · M + b`, where `M` is `Wᵀ` for a
/// PyTorch-layout weight `W` `[out, in]` ([`WeightLayout::OutIn`], the op `linear`) or the
/// matrix `B` `[in, out]` itself ([`WeightLayout::InOut`], the op `matmul`).
///
/// Inputs: `x` `[B, in]` (or an unbatched `[m, in]`), the weight, and optionally a bias `b`
/// `[out]`. Output `[B, out]`. A batch of sequences `[B, T, in]` gives `[B, T, out]`: the
/// layer acts on every step alike (as `nn.Linear` on the last dimension).
///
/// Backward: `∂x += g · Mᵀ`, `∂M += xᵀ · g` (written into `W` through a transposed view for
/// the PyTorch layout), `∂b += Σ_rows g`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Linear {
    /// The weight's layout.
    pub layout: WeightLayout,
}

impl Linear {
    /// The `[in, out]` matrix `M` of the product, as a view of the weight.
    fn matrix<'a, F>(&self, w: ArrayView2<'a, F>) -> ArrayView2<'a, F> {
        match self.layout {
            WeightLayout::OutIn => w.reversed_axes(),
            WeightLayout::InOut => w,
        }
    }
}

impl Op for Linear {
    fn kind(&self) -> &'static str {
        match self.layout {
            WeightLayout::OutIn => "linear",
            WeightLayout::InOut => "matmul",
        }
    }

    fn arity(&self) -> Arity {
        Arity::Between(2, 3)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let (x, w) = (inputs[0], inputs[1]);
        if x.rank() < 2 || (!x.batched && x.rank() != 2) {
            return Err(format!(
                "the input must be a batch of feature vectors [B, ..., features] or an unbatched matrix, got {x}"
            ));
        }
        if w.batched || w.dims.len() != 2 {
            return Err(format!("the weight must be an unbatched matrix, got {w}"));
        }
        let features = *x.dims.last().expect("rank ≥ 2");
        let (fan_in, out) = match self.layout {
            WeightLayout::OutIn => (w.dims[1], w.dims[0]),
            WeightLayout::InOut => (w.dims[0], w.dims[1]),
        };
        if features != fan_in {
            return Err(match self.layout {
                WeightLayout::OutIn => format!(
                    "the weight expects {fan_in} input features, but the input has {features}"
                ),
                WeightLayout::InOut => format!(
                    "inner dimensions differ: {x} has {features} columns but {w} has {fan_in} rows"
                ),
            });
        }
        if let Some(b) = inputs.get(2) {
            if b.batched || b.dims != [out] {
                return Err(format!("the bias must have shape [{out}], got {b}"));
            }
        }
        let mut dims = x.dims.clone();
        *dims.last_mut().expect("rank ≥ 2") = out;
        Ok(Shape {
            batched: x.batched,
            dims,
        })
    }

    /// `2 · in · out` per row (the bias is not counted).
    fn flops_per_example(&self, inputs: &[&Shape], output: &Shape) -> u64 {
        // Every row of the last dimension is one product: one per example, T per sequence.
        let rows = output.dims[..output.dims.len() - 1]
            .iter()
            .product::<usize>() as u64;
        2 * inputs[1].size() as u64 * rows
    }
}

impl<F: Float> Kernel<F> for Linear {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let x = rows(ctx.inputs.get(0));
        let w = ctx
            .inputs
            .get(1)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let mut y = rows_mut(ctx.output);
        let accumulate = if ctx.inputs.len() == 3 {
            let b = ctx.inputs.slice(2);
            for mut row in y.rows_mut() {
                row.as_slice_mut().expect("contiguous").copy_from_slice(b);
            }
            true
        } else {
            false
        };
        matmul_into(&mut y, &x, &self.matrix(w), accumulate, ctx.threads);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let g = rows(ctx.grad_output);
        let x = rows(ctx.inputs.get(0));
        let m = self.matrix(
            ctx.inputs
                .get(1)
                .into_dimensionality::<Ix2>()
                .expect("rank checked"),
        );
        if let Some((dx, fresh)) = ctx.grad_inputs.get_or_fresh(0) {
            let mut dx = rows_mut(dx);
            matmul_into(&mut dx, &g, &m.t(), !fresh, ctx.threads);
        }
        if let Some((dw, fresh)) = ctx.grad_inputs.get_or_fresh(1) {
            let dw = dw.into_dimensionality::<Ix2>().expect("rank checked");
            let mut dm = match self.layout {
                WeightLayout::OutIn => dw.reversed_axes(),
                WeightLayout::InOut => dw,
            };
            matmul_into(&mut dm, &x.t(), &g, !fresh, ctx.threads);
        }
        if ctx.inputs.len() == 3 {
            if let Some(db) = ctx.grad_inputs.slice(2) {
                for row in g.axis_iter(Axis(0)) {
                    let row = row.to_slice().expect("contiguous");
                    db.iter_mut().zip(row).for_each(|(d, &r)| *d += r);
                }
            }
        }
        Ok(())
    }
}

/// A contiguous array `[..., n]` as the matrix of its rows `[∏..., n]`.
fn rows<F>(a: ArrayViewD<'_, F>) -> ArrayView2<'_, F> {
    let n = *a.shape().last().expect("rank ≥ 2");
    let m = a.len() / n.max(1);
    a.into_shape_with_order((m, n))
        .expect("executor buffers are contiguous")
}

/// A writable contiguous array `[..., n]` as the matrix of its rows.
fn rows_mut<F>(a: ArrayViewMutD<'_, F>) -> ArrayViewMut2<'_, F> {
    let n = *a.shape().last().expect("rank ≥ 2");
    let m = a.len() / n.max(1);
    a.into_shape_with_order((m, n))
        .expect("executor buffers are contiguous")
}
