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

/// Lanes of [`lane_sum`]: one AVX-512 vector of `f32`.
const LANES: usize = 16;

/// `Σ values`, accumulated in 16 interleaved partial sums (element `i` into lane
/// `i mod 16`) that are then added pairwise: a fixed order, so always the same bits, and no
/// chain of dependent additions (a plain fold waits one addition's latency per element,
/// which made a convolution's bias gradient cost as much as its patch copies).
pub(crate) fn lane_sum<F: Float>(values: &[F]) -> F {
    lane_sum_of(values, values, |v, _| v)
}

/// `Σ_i f(a[i], b[i])` in the fixed lane order of [`lane_sum`] (`b` at least as long as `a`).
#[inline(always)]
pub(crate) fn lane_sum_of<F: Float>(a: &[F], b: &[F], f: impl Fn(F, F) -> F) -> F {
    knit_simd::vectorized(
        #[inline(always)]
        || {
            let mut lanes = [F::zero(); LANES];
            let (mut ca, mut cb) = (a.chunks_exact(LANES), b[..a.len()].chunks_exact(LANES));
            for (xa, xb) in (&mut ca).zip(&mut cb) {
                for ((l, &u), &v) in lanes.iter_mut().zip(xa).zip(xb) {
                    *l += f(u, v);
                }
            }
            let rest = ca.remainder().iter().zip(cb.remainder());
            lanes
                .iter_mut()
                .zip(rest)
                .for_each(|(l, (&u, &v))| *l += f(u, v));
            let mut width = LANES;
            while width > 1 {
                width /= 2;
                for i in 0..width {
                    let upper = lanes[i + width];
                    lanes[i] += upper;
                }
            }
            lanes[0]
        },
    )
}

#[cfg(test)]
mod lane_sum_tests {
    use super::lane_sum;

    #[test]
    fn lane_sum_adds_every_element_in_its_fixed_order() {
        for n in [0usize, 1, 15, 16, 17, 100] {
            let v: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
            assert_eq!(lane_sum(&v), v.iter().sum::<f64>(), "n = {n}");
        }
        // Lane 0 adds 1.0 to 1e16 and lane 1 adds 1.0 to -1e16, both lost to rounding, so
        // the lanes cancel to 0; a left fold cancels first and keeps both ones (2).
        let mut v = vec![0.0f64; 18];
        (v[0], v[1], v[16], v[17]) = (1e16, -1e16, 1.0, 1.0);
        assert_eq!(v.iter().fold(0.0, |s, &x| s + x), 2.0);
        assert_eq!(lane_sum(&v), 0.0);
    }
}
