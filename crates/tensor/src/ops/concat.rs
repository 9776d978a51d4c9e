//! Concatenation along one axis.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// Joins inputs along `axis` of the full shape (for batched inputs, axis 0 is the batch and
/// cannot be joined; axis 1 is the first feature axis). All other dimensions must agree.
///
/// Backward: each input receives its slice of the output gradient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concat {
    /// The axis to join along.
    pub axis: usize,
}

impl Op for Concat {
    fn kind(&self) -> &'static str {
        "concat"
    }

    fn arity(&self) -> Arity {
        Arity::AtLeast(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let first = inputs[0];
        if first.batched && self.axis == 0 {
            return Err("cannot concatenate along the batch dimension".into());
        }
        if self.axis >= first.rank() {
            return Err(format!("axis {} is out of range for {first}", self.axis));
        }
        let local = self.axis - usize::from(first.batched);
        let mut dims = first.dims.clone();
        for s in &inputs[1..] {
            let mismatch = s.batched != first.batched
                || s.dims.len() != first.dims.len()
                || s.dims
                    .iter()
                    .zip(&first.dims)
                    .enumerate()
                    .any(|(k, (a, b))| k != local && a != b);
            if mismatch {
                return Err(format!("{s} and {first} differ outside axis {}", self.axis));
            }
            dims[local] += s.dims[local];
        }
        Ok(Shape {
            batched: first.batched,
            dims,
        })
    }
}

impl Concat {
    /// Number of contiguous blocks (`outer`) and the element count after the axis (`inner`).
    fn split(&self, dims: &[usize]) -> (usize, usize) {
        (
            dims[..self.axis].iter().product(),
            dims[self.axis + 1..].iter().product(),
        )
    }
}

impl<F: Float> Kernel<F> for Concat {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let (outer, inner, row) = {
            let dims = ctx.output.shape();
            let (outer, inner) = self.split(dims);
            (outer, inner, dims[self.axis] * inner)
        };
        let y = ctx.output.as_slice_mut().expect("contiguous");
        let mut offset = 0;
        for k in 0..ctx.inputs.len() {
            let width = ctx.inputs.dims(k)[self.axis] * inner;
            let x = ctx.inputs.slice(k);
            for o in 0..outer {
                y[o * row + offset..o * row + offset + width]
                    .copy_from_slice(&x[o * width..(o + 1) * width]);
            }
            offset += width;
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let out_dims = ctx.grad_output.shape();
        let (outer, inner) = self.split(out_dims);
        let row = out_dims[self.axis] * inner;
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let mut offset = 0;
        for k in 0..ctx.inputs.len() {
            let width = ctx.inputs.dims(k)[self.axis] * inner;
            if let Some(dx) = ctx.grad_inputs.slice(k) {
                for o in 0..outer {
                    let src = &g[o * row + offset..o * row + offset + width];
                    dx[o * width..(o + 1) * width]
                        .iter_mut()
                        .zip(src)
                        .for_each(|(d, &v)| *d += v);
                }
            }
            offset += width;
        }
        Ok(())
    }
}
