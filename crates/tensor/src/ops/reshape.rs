//! Reshape and flatten: the same elements in row-major order under other dimensions.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// Gives a node new per-example dimensions with the same number of elements; the batch
/// dimension is kept. `flatten` is `Reshape { dims: vec![size] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reshape {
    /// The new dimensions (after the batch dimension, when batched).
    pub dims: Vec<usize>,
}

impl Op for Reshape {
    fn kind(&self) -> &'static str {
        "reshape"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let x = inputs[0];
        let out = Shape {
            batched: x.batched,
            dims: self.dims.clone(),
        };
        if out.size() != x.size() {
            return Err(format!(
                "cannot reshape {x} ({} elements per example) to {out} ({} elements)",
                x.size(),
                out.size()
            ));
        }
        Ok(out)
    }
}

impl<F: Float> Kernel<F> for Reshape {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        ctx.output
            .as_slice_mut()
            .expect("contiguous")
            .copy_from_slice(ctx.inputs.slice(0));
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let g = ctx.grad_output.as_slice().expect("contiguous");
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            dx.iter_mut().zip(g).for_each(|(d, &v)| *d += v);
        }
        Ok(())
    }
}
