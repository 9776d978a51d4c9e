//! Reading one step out of a sequence: `[B, T, ...]` → `[B, ...]` (the last step of a
//! recurrent layer feeding a classifier). The mean over steps is [`Reduce`](super::Reduce)
//! along axis 1.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// Step `index` of every sequence, PyTorch's `x[:, index]`.
///
/// Backward: the output gradient goes to that step's slot; the other steps receive nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectStep {
    /// The step, 0-based.
    pub index: usize,
}

impl Op for SelectStep {
    fn kind(&self) -> &'static str {
        "step"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let x = inputs[0];
        if !x.batched || x.dims.len() < 2 {
            return Err(format!(
                "the input must be a batch of sequences [B, steps, ...], got {x}"
            ));
        }
        if self.index >= x.dims[0] {
            return Err(format!(
                "step {} is out of range for {x}, whose steps are 0 to {}",
                self.index,
                x.dims[0] - 1
            ));
        }
        Ok(Shape::batched(x.dims[1..].to_vec()))
    }
}

impl<F: Float> Kernel<F> for SelectStep {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let steps = ctx.inputs.dims(0)[1];
        let x = ctx.inputs.slice(0);
        let out = ctx.output.as_slice_mut().expect("contiguous");
        let n = out.len() / ctx.inputs.dims(0)[0].max(1);
        for (b, o) in out.chunks_exact_mut(n.max(1)).enumerate() {
            let at = (b * steps + self.index) * n;
            o.copy_from_slice(&x[at..at + n]);
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let steps = ctx.inputs.dims(0)[1];
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let batch = ctx.inputs.dims(0)[0];
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            let n = g.len() / batch.max(1);
            for (b, gb) in g.chunks_exact(n.max(1)).enumerate() {
                let at = (b * steps + self.index) * n;
                dx[at..at + n]
                    .iter_mut()
                    .zip(gb)
                    .for_each(|(d, &v)| *d += v);
            }
        }
        Ok(())
    }
}
