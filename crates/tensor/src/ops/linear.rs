//! Matrix products: `linear` (x·Wᵀ + b, PyTorch's layout) and plain `matmul`.

use crate::linalg::matmul_into;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};
use ndarray::{Axis, Ix2};

/// A fully connected layer: `y = x · Wᵀ + b`.
///
/// Inputs: `x` of shape `[B, in]`, `W` of shape `[out, in]` (PyTorch's `Linear.weight`
/// layout) and optionally `b` of shape `[out]`. Output `[B, out]`.
///
/// Backward: `∂x += g · W`, `∂W += gᵀ · x`, `∂b += Σ_rows g`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Linear;

impl Op for Linear {
    fn kind(&self) -> &'static str {
        "linear"
    }

    fn arity(&self) -> Arity {
        Arity::Between(2, 3)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let (x, w) = (inputs[0], inputs[1]);
        if x.rank() != 2 {
            return Err(format!(
                "the input must be a matrix of rows, got rank {}",
                x.rank()
            ));
        }
        if w.batched || w.dims.len() != 2 {
            return Err(format!(
                "the weight must be an unbatched [out, in] matrix, got {w}"
            ));
        }
        let features = *x.dims.last().expect("rank 2");
        let (out, fan_in) = (w.dims[0], w.dims[1]);
        if features != fan_in {
            return Err(format!(
                "the weight expects {fan_in} input features, but the input has {features}"
            ));
        }
        if let Some(b) = inputs.get(2) {
            if b.batched || b.dims != [out] {
                return Err(format!("the bias must have shape [{out}], got {b}"));
            }
        }
        let mut dims = x.dims.clone();
        *dims.last_mut().expect("rank 2") = out;
        Ok(Shape {
            batched: x.batched,
            dims,
        })
    }

    fn flops_per_example(&self, inputs: &[&Shape], output: &Shape) -> u64 {
        2 * inputs[1].size() as u64
            * if output.batched {
                1
            } else {
                output.dims[0] as u64
            }
    }
}

impl<F: Float> Kernel<F> for Linear {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let x = ctx
            .inputs
            .get(0)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let w = ctx
            .inputs
            .get(1)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let mut y = ctx
            .output
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let accumulate = if ctx.inputs.len() == 3 {
            let b = ctx.inputs.slice(2);
            for mut row in y.rows_mut() {
                row.as_slice_mut().expect("contiguous").copy_from_slice(b);
            }
            true
        } else {
            false
        };
        matmul_into(&mut y, &x, &w.t(), accumulate, ctx.threads);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let g = ctx
            .grad_output
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let x = ctx
            .inputs
            .get(0)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let w = ctx
            .inputs
            .get(1)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        if let Some((dx, fresh)) = ctx.grad_inputs.get_or_fresh(0) {
            let mut dx = dx.into_dimensionality::<Ix2>().expect("rank checked");
            matmul_into(&mut dx, &g, &w, !fresh, ctx.threads);
        }
        if let Some((dw, fresh)) = ctx.grad_inputs.get_or_fresh(1) {
            let mut dw = dw.into_dimensionality::<Ix2>().expect("rank checked");
            matmul_into(&mut dw, &g.t(), &x, !fresh, ctx.threads);
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

/// A matrix product `y = a · b` of a matrix `a` (`[B, k]` or `[m, k]`) and an unbatched
/// matrix `b` (`[k, n]`).
///
/// Backward: `∂a += g · bᵀ`, `∂b += aᵀ · g`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MatMul;

impl Op for MatMul {
    fn kind(&self) -> &'static str {
        "matmul"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let (a, b) = (inputs[0], inputs[1]);
        if a.rank() != 2 {
            return Err(format!(
                "the left operand must be a matrix, got rank {}",
                a.rank()
            ));
        }
        if b.batched || b.dims.len() != 2 {
            return Err(format!(
                "the right operand must be an unbatched matrix, got {b}"
            ));
        }
        let k = *a.dims.last().expect("rank 2");
        if k != b.dims[0] {
            return Err(format!(
                "inner dimensions differ: {a} has {k} columns but {b} has {} rows",
                b.dims[0]
            ));
        }
        let mut dims = a.dims.clone();
        *dims.last_mut().expect("rank 2") = b.dims[1];
        Ok(Shape {
            batched: a.batched,
            dims,
        })
    }

    fn flops_per_example(&self, inputs: &[&Shape], output: &Shape) -> u64 {
        2 * inputs[1].size() as u64
            * if output.batched {
                1
            } else {
                output.dims[0] as u64
            }
    }
}

impl<F: Float> Kernel<F> for MatMul {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let a = ctx
            .inputs
            .get(0)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let b = ctx
            .inputs
            .get(1)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let mut y = ctx
            .output
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        matmul_into(&mut y, &a, &b, false, ctx.threads);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let g = ctx
            .grad_output
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let a = ctx
            .inputs
            .get(0)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        let b = ctx
            .inputs
            .get(1)
            .into_dimensionality::<Ix2>()
            .expect("rank checked");
        if let Some((da, fresh)) = ctx.grad_inputs.get_or_fresh(0) {
            let mut da = da.into_dimensionality::<Ix2>().expect("rank checked");
            matmul_into(&mut da, &g, &b.t(), !fresh, ctx.threads);
        }
        if let Some((db, fresh)) = ctx.grad_inputs.get_or_fresh(1) {
            let mut db = db.into_dimensionality::<Ix2>().expect("rank checked");
            matmul_into(&mut db, &a.t(), &g, !fresh, ctx.threads);
        }
        Ok(())
    }
}
