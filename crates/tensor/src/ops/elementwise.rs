//! Broadcasting binary arithmetic: add, sub, mul, div.

use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::shape::broadcast_shapes;
use crate::{Float, Shape, TensorError};

/// The largest rank broadcasting supports.
const MAX_RANK: usize = 8;

/// Which arithmetic a [`Binary`] op does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryKind {
    /// `a + b`; ∂a = g, ∂b = g.
    Add,
    /// `a − b`; ∂a = g, ∂b = −g.
    Sub,
    /// `a · b`; ∂a = g·b, ∂b = g·a.
    Mul,
    /// `a / b`; ∂a = g/b, ∂b = −g·a/b².
    Div,
}

/// Elementwise arithmetic with NumPy broadcasting (see [`broadcast_shapes`]).
///
/// Gradients of a broadcast operand are summed over the dimensions it was broadcast along,
/// so a bias `[10]` added to `[B, 10]` receives the column sums.
#[derive(Clone, Copy, Debug)]
pub struct Binary(pub BinaryKind);

impl Op for Binary {
    fn kind(&self) -> &'static str {
        match self.0 {
            BinaryKind::Add => "add",
            BinaryKind::Sub => "sub",
            BinaryKind::Mul => "mul",
            BinaryKind::Div => "div",
        }
    }

    fn arity(&self) -> Arity {
        Arity::Exact(2)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let out = broadcast_shapes(inputs[0], inputs[1])?;
        if out.rank() > MAX_RANK {
            return Err(format!(
                "broadcasting supports at most {MAX_RANK} dimensions"
            ));
        }
        Ok(out)
    }
}

impl<F: Float> Kernel<F> for Binary {
    fn forward(&self, mut ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let (a, b) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let out = ctx.output.as_slice_mut().expect("contiguous");
        let f = |x: F, y: F| match self.0 {
            BinaryKind::Add => x + y,
            BinaryKind::Sub => x - y,
            BinaryKind::Mul => x * y,
            BinaryKind::Div => x / y,
        };
        if a.len() == out.len() && b.len() == out.len() {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        } else {
            let plan = Broadcast::new(ctx.inputs.dims(0), ctx.inputs.dims(1), out.len());
            plan.for_each(|o, i, j| out[o] = f(a[i], b[j]));
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let (a, b) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let plan = Broadcast::new(ctx.inputs.dims(0), ctx.inputs.dims(1), g.len());
        let kind = self.0;
        if let Some(da) = ctx.grad_inputs.slice(0) {
            let term = |gi: F, _x: F, y: F| match kind {
                BinaryKind::Add | BinaryKind::Sub => gi,
                BinaryKind::Mul => gi * y,
                BinaryKind::Div => gi / y,
            };
            plan.for_each(|o, i, j| da[i] += term(g[o], a[i], b[j]));
        }
        if let Some(db) = ctx.grad_inputs.slice(1) {
            let term = |gi: F, x: F, y: F| match kind {
                BinaryKind::Add => gi,
                BinaryKind::Sub => -gi,
                BinaryKind::Mul => gi * x,
                BinaryKind::Div => -gi * x / (y * y),
            };
            plan.for_each(|o, i, j| db[j] += term(g[o], a[i], b[j]));
        }
        Ok(())
    }
}

/// Iteration over the elements of a broadcast result, yielding for each output element the
/// flat offsets of the two operand elements it comes from. Allocation-free.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Broadcast {
    rank: usize,
    dims: [usize; MAX_RANK],
    stride_a: [usize; MAX_RANK],
    stride_b: [usize; MAX_RANK],
    same: bool,
    len: usize,
}

impl Broadcast {
    /// The plan for operands of concrete dimensions `a` and `b` (right-aligned).
    pub(crate) fn new(a: &[usize], b: &[usize], len: usize) -> Self {
        let rank = a.len().max(b.len());
        let mut plan = Broadcast {
            rank,
            dims: [1; MAX_RANK],
            stride_a: [0; MAX_RANK],
            stride_b: [0; MAX_RANK],
            same: a == b,
            len,
        };
        for k in 0..rank {
            let da = right(a, rank - 1 - k);
            let db = right(b, rank - 1 - k);
            plan.dims[k] = da.max(db);
        }
        fill_strides(a, rank, &plan.dims, &mut plan.stride_a);
        fill_strides(b, rank, &plan.dims, &mut plan.stride_b);
        plan
    }

    /// Calls `f(out, a, b)` for every output element in row-major order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, usize, usize)) {
        if self.same {
            (0..self.len).for_each(|o| f(o, o, o));
            return;
        }
        if self.len == 0 {
            return;
        }
        let r = self.rank;
        if r == 0 {
            f(0, 0, 0);
            return;
        }
        let last = self.dims[r - 1];
        let (sa, sb) = (self.stride_a[r - 1], self.stride_b[r - 1]);
        let mut index = [0usize; MAX_RANK];
        let (mut ia, mut ib, mut o) = (0usize, 0usize, 0usize);
        loop {
            for k in 0..last {
                f(o + k, ia + k * sa, ib + k * sb);
            }
            o += last;
            // Advance the odometer over the outer dimensions.
            let mut d = r - 1;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                index[d] += 1;
                ia += self.stride_a[d];
                ib += self.stride_b[d];
                if index[d] < self.dims[d] {
                    break;
                }
                ia -= self.stride_a[d] * self.dims[d];
                ib -= self.stride_b[d] * self.dims[d];
                index[d] = 0;
            }
        }
    }
}

fn right(dims: &[usize], k: usize) -> usize {
    if k < dims.len() {
        dims[dims.len() - 1 - k]
    } else {
        1
    }
}

/// Row-major strides of `operand` aligned right against `out`, with 0 along broadcast dims.
fn fill_strides(
    operand: &[usize],
    rank: usize,
    out: &[usize; MAX_RANK],
    strides: &mut [usize; MAX_RANK],
) {
    let mut stride = 1;
    for k in (0..rank).rev() {
        let d = right(operand, rank - 1 - k);
        strides[k] = if d == 1 && out[k] != 1 { 0 } else { stride };
        stride *= d;
    }
}

#[cfg(test)]
mod tests {
    use super::Broadcast;

    #[test]
    fn broadcast_offsets_follow_numpy() {
        // a: [2, 3], b: [3] -> b repeats per row.
        let plan = Broadcast::new(&[2, 3], &[3], 6);
        let mut seen = Vec::new();
        plan.for_each(|o, i, j| seen.push((o, i, j)));
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (1, 1, 1),
                (2, 2, 2),
                (3, 3, 0),
                (4, 4, 1),
                (5, 5, 2)
            ]
        );
        // a: [2, 1], b: [1, 3] -> outer product layout.
        let plan = Broadcast::new(&[2, 1], &[1, 3], 6);
        let mut seen = Vec::new();
        plan.for_each(|_, i, j| seen.push((i, j)));
        assert_eq!(seen, vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
    }
}
