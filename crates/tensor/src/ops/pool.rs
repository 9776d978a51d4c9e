//! Spatial pooling of `[B, C, H, W]` images: max, average and global average (PyTorch's
//! `MaxPool2d`, `AvgPool2d` and `AdaptiveAvgPool2d(1)` followed by a flatten).

use super::conv::{out_size, pair};
use super::max_pool2;
use super::max_taps::max_taps;
use super::parallel::{for_row_pairs, for_rows};
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};

/// The window geometry shared by [`MaxPool2d`] and [`AvgPool2d`].
#[derive(Clone, Copy, Debug)]
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

/// The sizes of one pooling call: planes (`B·C`), input and output sides.
#[derive(Clone, Copy, Debug)]
struct Planes {
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Window {
    /// Why the hyperparameters are unusable, if they are (PyTorch's rules: positive kernel
    /// and stride, padding at most half the kernel).
    fn validate(&self) -> Result<(), String> {
        if self.kernel.contains(&0) {
            return Err(format!("kernel must be positive, got {:?}", self.kernel));
        }
        if self.stride.contains(&0) {
            return Err(format!("stride must be positive, got {:?}", self.stride));
        }
        if self.padding[0] > self.kernel[0] / 2 || self.padding[1] > self.kernel[1] / 2 {
            return Err(format!(
                "padding {} must be at most half the {}×{} kernel",
                pair(self.padding),
                self.kernel[0],
                self.kernel[1]
            ));
        }
        Ok(())
    }

    /// The output shape `[B, C, OH, OW]` with `OH = ⌊(H + 2·padding − kernel)/stride⌋ + 1`.
    fn output_shape(&self, x: &Shape) -> Result<Shape, String> {
        self.validate()?;
        if !x.batched || x.dims.len() != 3 {
            return Err(format!(
                "the input must be a batch of images [B, C, H, W], got {x}"
            ));
        }
        if x.dims.contains(&0) {
            return Err(format!("cannot pool an empty image batch {x}"));
        }
        let [c, h, w] = [x.dims[0], x.dims[1], x.dims[2]];
        let [kh, kw] = self.kernel;
        match (
            out_size(h, kh, self.padding[0], 1, self.stride[0]),
            out_size(w, kw, self.padding[1], 1, self.stride[1]),
        ) {
            (Ok(oh), Ok(ow)) => Ok(Shape::batched([c, oh, ow])),
            (Err(arith), _) | (_, Err(arith)) => Err(format!(
                "a {kh}×{kw} window does not fit a {h}×{w} input with padding {} ({arith})",
                pair(self.padding)
            )),
        }
    }

    /// The sizes for the concrete input dims `[B, C, H, W]`.
    fn planes(&self, x: &[usize]) -> Planes {
        let size = |len: usize, axis: usize| {
            (len + 2 * self.padding[axis] - self.kernel[axis]) / self.stride[axis] + 1
        };
        Planes {
            planes: x[0] * x[1],
            h: x[2],
            w: x[3],
            oh: size(x[2], 0),
            ow: size(x[3], 1),
        }
    }

    /// The input rows (or columns) `start..end` covered by output position `o` along
    /// `axis`, clipped to the input (the padding contributes nothing).
    #[inline]
    fn span(&self, axis: usize, o: usize, len: usize) -> (usize, usize) {
        let start = o * self.stride[axis];
        let end = (start + self.kernel[axis]).saturating_sub(self.padding[axis]);
        (start.saturating_sub(self.padding[axis]), end.min(len))
    }

    /// The output columns `lo..hi` whose window tap `j` (0-based, along the row) lands inside
    /// the `w` input columns, and the input column that `lo` reads; outside that range the
    /// tap is in the padding.
    #[inline]
    fn columns(&self, j: usize, ow: usize, w: usize) -> (usize, usize, usize) {
        let (s, pad) = (self.stride[1], self.padding[1]);
        // ix = ox·s + j − pad must satisfy 0 ≤ ix < w.
        let lo = pad.saturating_sub(j).div_ceil(s).min(ow);
        let hi = (w + pad).saturating_sub(j).div_ceil(s).clamp(lo, ow);
        (lo, hi, (lo * s + j).saturating_sub(pad).min(w))
    }

    /// Max pooling of one plane `img` `[H, W]` into `y` `[OH, OW]`, with the position of
    /// each window's maximum in `arg`, as its tap `ti·kw + tj` in the (padded) window. Taps
    /// are visited in the window's row-major order, each for all the outputs of a row at
    /// once (a branch-free select per output rather than a branch per pixel); the first
    /// maximum wins, or the last NaN, as in PyTorch.
    fn max_plane<F: Float>(&self, pl: &Planes, img: &[F], y: &mut [F], arg: &mut [F]) {
        let ([s0, s1], [p0, p1], kw, w) = (self.stride, self.padding, self.kernel[1], pl.w);
        let rows = y.chunks_exact_mut(pl.ow).zip(arg.chunks_exact_mut(pl.ow));
        for (oy, (best, at)) in rows.enumerate() {
            let (y0, y1) = self.span(0, oy, pl.h);
            // Each output starts from its first tap inside the image.
            let ti = y0 + p0 - oy * s0;
            best.fill(F::neg_infinity());
            if p1 == 0 {
                at.fill(F::lit((ti * kw) as f64));
            } else {
                for (ox, a) in at.iter_mut().enumerate() {
                    let tj = self.span(1, ox, w).0 + p1 - ox * s1;
                    *a = F::lit((ti * kw + tj) as f64);
                }
            }
            for iy in y0..y1 {
                for j in 0..kw {
                    let (lo, hi, ix) = self.columns(j, pl.ow, w);
                    if lo == hi {
                        continue;
                    }
                    let tap = F::lit(((iy + p0 - oy * s0) * kw + j) as f64);
                    let row = &img[iy * w + ix..][..(hi - lo - 1) * s1 + 1];
                    max_taps(row, s1, tap, &mut best[lo..hi], &mut at[lo..hi]);
                }
            }
        }
    }

    /// The input index of the maximum of output `(oy, ox)` from its tap `t` (see
    /// [`max_plane`](Self::max_plane)).
    #[inline]
    fn tap_index(&self, w: usize, oy: usize, ox: usize, t: usize) -> usize {
        let (ti, tj) = (t / self.kernel[1], t % self.kernel[1]);
        let iy = oy * self.stride[0] + ti - self.padding[0];
        iy * w + ox * self.stride[1] + tj - self.padding[1]
    }

    /// Calls `f(n, out, rows, cols)` for every window: plane `n`, the index `out` of its
    /// output in the plane's `OH·OW`, and the input rows and columns it covers.
    #[inline]
    fn each_window(
        &self,
        pl: &Planes,
        mut f: impl FnMut(usize, usize, (usize, usize), (usize, usize)),
    ) {
        for n in 0..pl.planes {
            for oy in 0..pl.oh {
                let rows = self.span(0, oy, pl.h);
                for ox in 0..pl.ow {
                    f(n, oy * pl.ow + ox, rows, self.span(1, ox, pl.w));
                }
            }
        }
    }
}

/// Max pooling (PyTorch's `nn.MaxPool2d` without dilation, floor mode).
///
/// `[B, C, H, W]` → `[B, C, OH, OW]`, `OH = ⌊(H + 2·padding − kernel)/stride⌋ + 1`,
/// `y[b, c, p, q] = max_{i, j} x[b, c, p·s − pad + i, q·s − pad + j]` with the padding
/// counting as −∞ (so it is never chosen); padding must be at most half the kernel. A NaN
/// in a window is propagated, as in PyTorch.
///
/// The position of each maximum is kept in scratch memory, as its tap `i·kw + j` in the
/// window (a small integer, exact in any float type); on ties the first maximum in
/// row-major window order is taken and receives the whole gradient: `∂x[argmax] += g`.
/// Planes are split over threads. The common 2×2 window with stride 2 and no padding has
/// its own path for `f32` on AVX-512 or AVX2 (`max_pool2`), with the same results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Step between windows (PyTorch's default: the kernel size).
    pub stride: [usize; 2],
    /// −∞ added on each side, at most half the kernel (PyTorch's default 0).
    pub padding: [usize; 2],
}

/// Average pooling (PyTorch's `nn.AvgPool2d` with `count_include_pad=True`, floor mode).
///
/// `[B, C, H, W]` → `[B, C, OH, OW]`, `OH = ⌊(H + 2·padding − kernel)/stride⌋ + 1`,
/// `y[b, c, p, q] = (1/(kh·kw)) Σ_{i, j} x[b, c, p·s − pad + i, q·s − pad + j]` with the zero
/// padding counted in the divisor (in floor mode every window lies inside the padded
/// input, so the divisor is always `kh·kw`); padding must be at most half the kernel.
/// Backward: every input pixel of a window receives `g/(kh·kw)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    /// Window size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Step between windows (PyTorch's default: the kernel size).
    pub stride: [usize; 2],
    /// Zeros added on each side, at most half the kernel (PyTorch's default 0).
    pub padding: [usize; 2],
}

macro_rules! pool_common {
    ($ty:ident, $kind:literal) => {
        impl $ty {
            /// A pooling window with PyTorch's defaults: stride = kernel, no padding.
            pub fn with_kernel(kernel: [usize; 2]) -> Self {
                $ty {
                    kernel,
                    stride: kernel,
                    padding: [0, 0],
                }
            }

            /// A pooling window, validated: positive kernel and stride, padding at most
            /// half the kernel.
            pub fn new(
                kernel: [usize; 2],
                stride: [usize; 2],
                padding: [usize; 2],
            ) -> Result<Self, TensorError> {
                let pool = $ty {
                    kernel,
                    stride,
                    padding,
                };
                pool.window()
                    .validate()
                    .map_err(|message| TensorError::InvalidHyperparameter {
                        op: $kind.into(),
                        message,
                    })?;
                Ok(pool)
            }

            fn window(&self) -> Window {
                Window {
                    kernel: self.kernel,
                    stride: self.stride,
                    padding: self.padding,
                }
            }
        }
    };
}

pool_common!(MaxPool2d, "max_pool2d");
pool_common!(AvgPool2d, "avg_pool2d");

impl Op for MaxPool2d {
    fn kind(&self) -> &'static str {
        "max_pool2d"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        self.window().output_shape(inputs[0])
    }

    fn scratch_len(&self, _inputs: &[&[usize]], output: &[usize]) -> usize {
        output.iter().product()
    }
}

impl MaxPool2d {
    /// Whether this pooling takes the 2×2, stride-2 path for `F` (see `max_pool2`).
    fn halves<F: Float>(&self) -> bool {
        self.kernel == [2, 2]
            && self.stride == [2, 2]
            && self.padding == [0, 0]
            && max_pool2::applies::<F>()
    }
}

impl<F: Float> Kernel<F> for MaxPool2d {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let win = self.window();
        let pl = win.planes(ctx.inputs.dims(0));
        let x = ctx.inputs.slice(0);
        let mut output = ctx.output;
        let y = output.as_slice_mut().expect("contiguous");
        let (plane, out_plane) = (pl.h * pl.w, pl.oh * pl.ow);
        let (y, arg) = (
            (y, out_plane),
            (&mut ctx.scratch[..pl.planes * out_plane], out_plane),
        );
        for_row_pairs(y, arg, ctx.threads, &|first, y, arg| {
            let planes = y
                .chunks_exact_mut(out_plane)
                .zip(arg.chunks_exact_mut(out_plane));
            for (n, (y, arg)) in (first..).zip(planes) {
                let img = &x[n * plane..(n + 1) * plane];
                if self.halves::<F>() {
                    max_pool2::forward(img, pl.h, pl.w, y, arg);
                } else {
                    win.max_plane(&pl, img, y, arg);
                }
            }
        });
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let win = self.window();
        let pl = win.planes(ctx.inputs.dims(0));
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let (plane, out_plane) = (pl.h * pl.w, pl.oh * pl.ow);
        let scratch = ctx.scratch;
        if self.halves::<F>() {
            if let Some((dx, fresh)) = ctx.grad_inputs.slice_or_fresh(0) {
                for_rows(dx, plane, ctx.threads, &|first, dx| {
                    for (n, d) in (first..).zip(dx.chunks_exact_mut(plane)) {
                        let gs = &g[n * out_plane..(n + 1) * out_plane];
                        let arg = &scratch[n * out_plane..(n + 1) * out_plane];
                        max_pool2::backward(gs, arg, pl.h, pl.w, d, fresh);
                    }
                });
            }
        } else if let Some(dx) = ctx.grad_inputs.slice(0) {
            for_rows(dx, plane, ctx.threads, &|first, dx| {
                for (n, d) in (first..).zip(dx.chunks_exact_mut(plane)) {
                    let gs = &g[n * out_plane..(n + 1) * out_plane];
                    let arg = &scratch[n * out_plane..(n + 1) * out_plane];
                    for (out, (&gv, &t)) in gs.iter().zip(arg).enumerate() {
                        let (oy, ox) = (out / pl.ow, out % pl.ow);
                        d[win.tap_index(pl.w, oy, ox, t.as_f64() as usize)] += gv;
                    }
                }
            });
        }
        Ok(())
    }
}

impl Op for AvgPool2d {
    fn kind(&self) -> &'static str {
        "avg_pool2d"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        self.window().output_shape(inputs[0])
    }
}

impl<F: Float> Kernel<F> for AvgPool2d {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let win = self.window();
        let pl = win.planes(ctx.inputs.dims(0));
        let x = ctx.inputs.slice(0);
        let mut output = ctx.output;
        let y = output.as_slice_mut().expect("contiguous");
        let scale = F::one() / F::lit((self.kernel[0] * self.kernel[1]) as f64);
        let (plane, out_plane) = (pl.h * pl.w, pl.oh * pl.ow);
        win.each_window(&pl, |n, out, (y0, y1), (x0, x1)| {
            let img = &x[n * plane..(n + 1) * plane];
            let mut sum = F::zero();
            for iy in y0..y1 {
                for &v in &img[iy * pl.w + x0..iy * pl.w + x1] {
                    sum += v;
                }
            }
            y[n * out_plane + out] = sum * scale;
        });
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let win = self.window();
        let pl = win.planes(ctx.inputs.dims(0));
        let g = ctx.grad_output.as_slice().expect("contiguous");
        let scale = F::one() / F::lit((self.kernel[0] * self.kernel[1]) as f64);
        let (plane, out_plane) = (pl.h * pl.w, pl.oh * pl.ow);
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            for n in 0..pl.planes {
                let d = &mut dx[n * plane..(n + 1) * plane];
                let gs = &g[n * out_plane..(n + 1) * out_plane];
                for oy in 0..pl.oh {
                    let (y0, y1) = win.span(0, oy, pl.h);
                    for ox in 0..pl.ow {
                        let (x0, x1) = win.span(1, ox, pl.w);
                        let share = gs[oy * pl.ow + ox] * scale;
                        for iy in y0..y1 {
                            for v in &mut d[iy * pl.w + x0..iy * pl.w + x1] {
                                *v += share;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Global average pooling: `[B, C, H, W]` → `[B, C]`, `y[b, c] = (1/(H·W)) Σ_{p,q} x[b, c, p, q]`
/// (PyTorch's `AdaptiveAvgPool2d(1)` then `flatten(1)`). Backward: `∂x[b, c, p, q] += g[b, c]/(H·W)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool;

impl Op for GlobalAvgPool {
    fn kind(&self) -> &'static str {
        "global_avg_pool"
    }

    fn arity(&self) -> Arity {
        Arity::Exact(1)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let x = inputs[0];
        if !x.batched || x.dims.len() != 3 {
            return Err(format!(
                "the input must be a batch of images [B, C, H, W], got {x}"
            ));
        }
        if x.dims.contains(&0) {
            return Err(format!("cannot pool an empty image batch {x}"));
        }
        Ok(Shape::batched([x.dims[0]]))
    }
}

impl<F: Float> Kernel<F> for GlobalAvgPool {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let dims = ctx.inputs.dims(0);
        let plane = dims[2] * dims[3];
        let scale = F::one() / F::lit(plane as f64);
        let x = ctx.inputs.slice(0);
        let mut output = ctx.output;
        let y = output.as_slice_mut().expect("contiguous");
        for (v, img) in y.iter_mut().zip(x.chunks_exact(plane)) {
            *v = img.iter().fold(F::zero(), |s, &p| s + p) * scale;
        }
        Ok(())
    }

    fn backward(&self, mut ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let dims = ctx.inputs.dims(0);
        let plane = dims[2] * dims[3];
        let scale = F::one() / F::lit(plane as f64);
        let g = ctx.grad_output.as_slice().expect("contiguous");
        if let Some(dx) = ctx.grad_inputs.slice(0) {
            for (&gv, d) in g.iter().zip(dx.chunks_exact_mut(plane)) {
                let share = gv * scale;
                d.iter_mut().for_each(|v| *v += share);
            }
        }
        Ok(())
    }
}
