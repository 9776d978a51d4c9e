//! Sums and means, over everything or along one axis.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// Whether a [`Reduce`] adds or averages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    /// `Σ x`.
    Sum,
    /// `(1/n) Σ x`.
    Mean,
}

/// A sum or mean over all elements (`axis: None`, giving a scalar) or along one axis of the
/// full shape (axis 0 of a batched node is the batch), dropping that axis like PyTorch's
/// `sum(dim)` without `keepdim`.
///
/// Backward: every input element receives the output gradient of its slot (divided by the
/// number of elements reduced, for the mean).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reduce {
    /// Sum or mean.
    pub kind: ReduceKind,
    /// The axis, or `None` for all.
    pub axis: Option<usize>,
}

impl Op for Reduce {
    fn kind(&self) -> &'static str {
        match self.kind {
            ReduceKind::Sum => "sum",
            ReduceKind::Mean => "mean",
        }
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let x = inputs[0];
        let Some(axis) = self.axis else {
            return Ok(Shape::scalar());
        };
        if axis >= x.rank() {
            return Err(format!(
                "axis {axis} is out of range for {x}, which has {} dimensions",
                x.rank()
            ));
        }
        Ok(if x.batched {
            if axis == 0 {
                Shape::fixed(x.dims.clone())
            } else {
                let mut dims = x.dims.clone();
                dims.remove(axis - 1);
                Shape::batched(dims)
            }
        } else {
            let mut dims = x.dims.clone();
            dims.remove(axis);
            Shape::fixed(dims)
        })
    }
}

impl Reduce {
    /// The input viewed as `[outer, n, inner]` with `n` the reduced extent.
    fn split(&self, dims: &[usize]) -> (usize, usize, usize) {
        match self.axis {
            None => (1, dims.iter().product(), 1),
            Some(a) => (
                dims[..a].iter().product(),
                dims[a],
                dims[a + 1..].iter().product(),
            ),
        }
    }

    fn scale<F: Float>(&self, n: usize) -> F {
        match self.kind {
            ReduceKind::Sum => F::one(),
            ReduceKind::Mean => F::one() / F::lit(n.max(1) as f64),
        }
    }
}

impl<F: Float> Kernel<F> for Reduce {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let (outer, n, inner) = self.split(ctx.inputs.dims(0));
        let x = ctx.inputs.slice(0);
        let y = ctx.output.as_slice_mut().expect("contiguous");
        y.fill(F::zero());
        for o in 0..outer {
            let out = &mut y[o * inner..(o + 1) * inner];
            for k in 0..n {
                let row = &x[(o * n + k) * inner..(o * n + k + 1) * inner];
                out.iter_mut().zip(row).for_each(|(a, &b)| *a += b);
            }
        }
        let s = self.scale::<F>(n);
        y.iter_mut().for_each(|v| *v *= s);
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let (outer, n, inner) = self.split(ctx.inputs.dims(0));
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let s = self.scale::<F>(n);
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            for o in 0..outer {
                let go = &g[o * inner..(o + 1) * inner];
                for k in 0..n {
                    let row = &mut dx[(o * n + k) * inner..(o * n + k + 1) * inner];
                    row.iter_mut().zip(go).for_each(|(d, &gi)| *d += s * gi);
                }
            }
        }
        Ok(())
    }
}
