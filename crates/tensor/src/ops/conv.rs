//! Two-dimensional convolution (PyTorch's `Conv2d`), written as matrix products over the
//! patch matrices of chunks of examples (im2col / col2im).

mod winograd;

use super::parallel::for_rows;
use super::reduce::{lane_sum, lane_sum_of};
use crate::linalg::matmul_into;
use crate::op::{Arity, BackwardCtx, ForwardCtx, Kernel, Op};
use crate::{Float, Shape, TensorError};
use ndarray::{s, ArrayView2, ArrayViewMut2};

/// A 2-D cross-correlation of `[B, C, H, W]` images (PyTorch's `nn.Conv2d`, zero padding).
///
/// Inputs: `x` `[B, C, H, W]`, `weight` `[out, C/groups, kh, kw]` and optionally `bias`
/// `[out]`. Output `[B, out, OH, OW]` with, per spatial axis,
/// `OH = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1`, and
///
/// `y[b, o, p, q] = bias[o] + Σ_{c, i, j} W[o, c, i, j] · x[b, g·C/groups + c, p·s − pad + i·d, q·s − pad + j·d]`
///
/// where `g = o / (out/groups)` is the group of output channel `o` and out-of-range pixels
/// are zero. The kernel is not flipped (cross-correlation, as in PyTorch).
///
/// Computation: the batch is cut into chunks of a few examples (about 512 output pixels,
/// see [`CHUNK_COLUMNS`]); per chunk and group the patch matrices of its examples are built
/// side by side, `cols` `[C/groups·kh·kw, n·OH·OW]` (im2col), and `Y_g = W_g · cols` is one
/// matrix product, copied into the output with the bias. Backward: `∂b += Σ_{b,p,q} g`,
/// `∂W_g += G_g · colsᵀ` (the patches rebuilt, one product per chunk) and
/// `∂x += col2im(W_gᵀ · G_g)`, with `G_g` the chunk's output gradient laid out like `Y_g`.
/// A 3×3, stride-1, one-group convolution of at least 8 channels in and out is computed
/// instead with Winograd's F(2×2, 3×3) on the same chunks and parts (see `conv/winograd.rs`):
/// 2.25 times fewer multiplications, rounded differently by a few units in the last place.
///
/// Threads: the chunks are dealt into up to [`PARTS`] contiguous parts, each with its own
/// working memory, and the parts are computed in parallel, every chunk on one thread (a
/// product of a few hundred columns is too small to split well, and this keeps each
/// thread's patches in its own cache). The weight gradient of part `i` is summed over its
/// chunks in batch order into a partial `∂W⁽ⁱ⁾`, and `∂W (+)= ∂W⁽⁰⁾ + ∂W⁽¹⁾ + …` in part
/// order. Chunks and parts depend on the shapes alone, never on the number of threads, so
/// neither do the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    /// Step between windows, `[vertical, horizontal]` (PyTorch's default 1).
    pub stride: [usize; 2],
    /// Zeros added on each side, `[vertical, horizontal]` (PyTorch's default 0).
    pub padding: [usize; 2],
    /// Spacing between kernel taps, `[vertical, horizontal]` (PyTorch's default 1).
    pub dilation: [usize; 2],
    /// Number of channel groups: input and output channels are split into `groups`
    /// independent convolutions (PyTorch's default 1).
    pub groups: usize,
}

impl Default for Conv2d {
    /// Stride 1, no padding, dilation 1, one group.
    fn default() -> Self {
        Conv2d {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2d {
    /// A convolution with the given hyperparameters, validated: stride, dilation and groups
    /// must be positive.
    pub fn new(
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
    ) -> Result<Self, TensorError> {
        let conv = Conv2d {
            stride,
            padding,
            dilation,
            groups,
        };
        conv.validate()
            .map_err(|message| TensorError::InvalidHyperparameter {
                op: "conv2d".into(),
                message,
            })?;
        Ok(conv)
    }

    /// Why the hyperparameters are unusable, if they are.
    fn validate(&self) -> Result<(), String> {
        if self.stride.contains(&0) {
            return Err(format!("stride must be positive, got {:?}", self.stride));
        }
        if self.dilation.contains(&0) {
            return Err(format!(
                "dilation must be positive, got {:?}",
                self.dilation
            ));
        }
        if self.groups == 0 {
            return Err("groups must be positive, got 0".into());
        }
        Ok(())
    }

    /// The geometry for per-example input dims `[C, H, W]` and weight dims.
    fn geometry(&self, x: &[usize], w: &[usize]) -> Result<Geometry, String> {
        self.validate()?;
        let [c, h, wd] = [x[0], x[1], x[2]];
        let groups = self.groups;
        if c % groups != 0 {
            return Err(format!("channels {c} not divisible by groups {groups}"));
        }
        let &[out, wc, kh, kw] = w else {
            unreachable!("rank checked by the caller")
        };
        if wc != c / groups || out % groups != 0 || kh == 0 || kw == 0 {
            return Err(format!(
                "weight must be [out, C/groups, kh, kw] = [out, {}, kh, kw] with out divisible by groups {groups} and kh, kw ≥ 1, got {w:?}",
                c / groups
            ));
        }
        let (oh, ow) = match (
            out_size(h, kh, self.padding[0], self.dilation[0], self.stride[0]),
            out_size(wd, kw, self.padding[1], self.dilation[1], self.stride[1]),
        ) {
            (Ok(oh), Ok(ow)) => (oh, ow),
            (Err(arith), _) | (_, Err(arith)) => {
                let dilation = if self.dilation == [1, 1] {
                    String::new()
                } else {
                    format!(" with dilation {}", pair(self.dilation))
                };
                return Err(format!(
                    "a {kh}×{kw} kernel{dilation} does not fit a {h}×{wd} input with padding {} ({arith})",
                    pair(self.padding)
                ));
            }
        };
        Ok(Geometry {
            c,
            h,
            w: wd,
            out,
            kh,
            kw,
            oh,
            ow,
            groups,
            conv: *self,
        })
    }

    /// The geometry from the concrete dims of a kernel call (`x` `[B, C, H, W]`).
    fn concrete(&self, inputs: &[&[usize]]) -> Geometry {
        self.geometry(&inputs[0][1..], inputs[1])
            .expect("shapes are checked when the node is added")
    }
}

/// `a×b`, or just `a` when both are equal.
pub(crate) fn pair(v: [usize; 2]) -> String {
    if v[0] == v[1] {
        v[0].to_string()
    } else {
        format!("{}×{}", v[0], v[1])
    }
}

/// PyTorch's output length `⌊(len + 2·pad − dil·(k − 1) − 1)/stride⌋ + 1` along one axis,
/// or the failing arithmetic when the (dilated) kernel is longer than the padded input.
pub(crate) fn out_size(
    len: usize,
    k: usize,
    pad: usize,
    dil: usize,
    stride: usize,
) -> Result<usize, String> {
    let span = dil * (k - 1) + 1;
    let padded = len + 2 * pad;
    if padded < span {
        return Err(format!(
            "{len} + 2·{pad} = {padded} < {dil}·({k} − 1) + 1 = {span}"
        ));
    }
    Ok((padded - span) / stride + 1)
}

/// The sizes of one convolution call.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    out: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    groups: usize,
    conv: Conv2d,
}

impl Geometry {
    /// Input channels per group.
    fn cg(&self) -> usize {
        self.c / self.groups
    }
    /// Output channels per group.
    fn og(&self) -> usize {
        self.out / self.groups
    }
    /// Rows of the patch matrix: `C/groups · kh · kw`.
    fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    /// Output pixels per channel: `OH · OW`.
    fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// Examples whose patch matrices are built side by side, `[k, n·OH·OW]`, for one matrix
    /// product: as many as make about [`CHUNK_COLUMNS`] columns (at least one), balanced over
    /// the batch. It depends on the shapes only, never on the number of threads, so neither
    /// do the results.
    fn chunk(&self, batch: usize) -> usize {
        let batch = batch.max(1);
        let per = (CHUNK_COLUMNS / self.p()).clamp(1, batch);
        batch.div_ceil(batch.div_ceil(per))
    }

    /// The number of chunks of a batch of `batch`.
    fn chunks(&self, batch: usize) -> usize {
        batch.div_ceil(self.chunk(batch))
    }

    /// The number of parts the chunks of a batch of `batch` are dealt into: [`PARTS`], or
    /// fewer when there are fewer chunks.
    fn parts(&self, batch: usize) -> usize {
        self.chunks(batch).min(PARTS)
    }

    /// The examples `start..end` of part `i` of a batch of `batch`: the chunks
    /// `⌊i·chunks/parts⌋ .. ⌊(i+1)·chunks/parts⌋`.
    fn part_examples(&self, batch: usize, i: usize) -> (usize, usize) {
        let (chunk, chunks, parts) = (self.chunk(batch), self.chunks(batch), self.parts(batch));
        let edge = |i: usize| (i * chunks / parts * chunk).min(batch);
        (edge(i), edge(i + 1))
    }

    /// Elements of one part's working memory for a batch of `batch`: a chunk's patch matrix
    /// `[k, n·P]` and its product with one group's kernels `[out/groups, n·P]`.
    fn buffer_len(&self, batch: usize) -> usize {
        if winograd::applies(self) {
            return winograd::buffer_len(self, self.chunk(batch));
        }
        (self.k() + self.og()) * self.chunk(batch) * self.p()
    }

    /// Elements of the forward pass's scratch memory: every part's working memory (and the
    /// transformed kernels of the Winograd path).
    fn scratch_len(&self, batch: usize) -> usize {
        let kernels = if winograd::applies(self) {
            winograd::kernels_len(self)
        } else {
            0
        };
        kernels + self.parts(batch) * self.buffer_len(batch)
    }

    /// Elements of the backward pass's working memory: every part's working memory and
    /// the partial weight gradients `[out, C/groups·kh·kw]` of parts 1 onward (part 0 adds
    /// straight into the gradient).
    fn workspace_len(&self, batch: usize) -> usize {
        let parts = self.parts(batch);
        if winograd::applies(self) {
            // The transformed kernels and every part's gradient of them.
            return (1 + parts) * winograd::kernels_len(self) + parts * self.buffer_len(batch);
        }
        parts * self.buffer_len(batch) + parts.saturating_sub(1) * self.out * self.k()
    }

    /// The input row (or column) read by output position `o` and kernel tap `t` along `axis`,
    /// or `None` in the padding.
    #[inline]
    fn source(&self, axis: usize, o: usize, t: usize, len: usize) -> Option<usize> {
        let c = &self.conv;
        (o * c.stride[axis] + t * c.dilation[axis])
            .checked_sub(c.padding[axis])
            .filter(|&v| v < len)
    }

    /// The output columns `lo..hi` whose horizontal tap `j` lands inside the input, and
    /// the input column `lo` reads (at most `W`, for an empty range); outside that range
    /// the tap reads padding.
    #[inline]
    fn columns(&self, j: usize) -> (usize, usize, usize) {
        let c = &self.conv;
        let (s, offset, pad) = (c.stride[1], j * c.dilation[1], c.padding[1]);
        // ix = ox·s + offset − pad must satisfy 0 ≤ ix < W.
        let lo = pad.saturating_sub(offset).div_ceil(s).min(self.ow);
        let hi = (self.w + pad)
            .saturating_sub(offset)
            .div_ceil(s)
            .clamp(lo, self.ow);
        (lo, hi, (lo * s + offset).saturating_sub(pad).min(self.w))
    }

    /// Writes row `(i, j)` of one channel's patch matrix into `dst` (`OH·OW` values):
    /// `dst[p·OW + q] = img[p·s − pad + i·d, q·s − pad + j·d]`, or 0 in the padding.
    fn patch_row<F: Float>(&self, img: &[F], i: usize, j: usize, dst: &mut [F]) {
        let stride = self.conv.stride[1];
        let (lo, hi, ix) = self.columns(j);
        if self.conv.stride == [1, 1] && self.ow == self.w {
            return self.shifted_patch_row(img, i, (lo, hi, ix), dst);
        }
        for (oy, dst) in dst.chunks_exact_mut(self.ow).enumerate() {
            let Some(iy) = self.source(0, oy, i, self.h) else {
                dst.fill(F::zero());
                continue;
            };
            let src = &img[iy * self.w + ix..(iy + 1) * self.w];
            dst[..lo].fill(F::zero());
            dst[hi..].fill(F::zero());
            let inside = &mut dst[lo..hi];
            if stride == 1 {
                inside.copy_from_slice(&src[..hi - lo]);
            } else {
                let taps = src.iter().step_by(stride);
                inside.iter_mut().zip(taps).for_each(|(d, &v)| *d = v);
            }
        }
    }

    /// [`patch_row`](Self::patch_row) when the output is as wide as the input and the stride
    /// is 1 (a "same" convolution): the inside of the patch row is then the image shifted by
    /// a constant, `dst[q] = img[q + shift]`, so the rows whose tap lands inside are one
    /// contiguous copy, after which the columns that wrapped around from a neighbouring row
    /// (outside `lo..hi`) and the rows in the vertical padding are zeroed. `span` is
    /// [`columns`](Self::columns)`(j)`.
    fn shifted_patch_row<F: Float>(
        &self,
        img: &[F],
        i: usize,
        (lo, hi, ix): (usize, usize, usize),
        dst: &mut [F],
    ) {
        let ow = self.ow;
        let inside = |oy: usize| self.source(0, oy, i, self.h).is_some();
        let first = (0..self.oh).find(|&oy| inside(oy)).unwrap_or(self.oh);
        let end = (first..self.oh).find(|&oy| !inside(oy)).unwrap_or(self.oh);
        if first == end || lo == hi {
            dst.fill(F::zero());
            return;
        }
        let iy = self.source(0, first, i, self.h).expect("inside");
        let (from, to) = (first * ow + lo, (end - 1) * ow + hi);
        let src = iy * self.w + ix;
        dst[..from].fill(F::zero());
        dst[from..to].copy_from_slice(&img[src..src + (to - from)]);
        dst[to..].fill(F::zero());
        for row in dst[first * ow..end * ow].chunks_exact_mut(ow) {
            row[..lo].fill(F::zero());
            row[hi..].fill(F::zero());
        }
    }

    /// Adds a gradient `src` of patch row `(i, j)` into one channel's input gradient `img`
    /// `[H, W]` (the adjoint of [`patch_row`](Self::patch_row)).
    fn add_patch_row<F: Float>(&self, src: &[F], i: usize, j: usize, img: &mut [F]) {
        let stride = self.conv.stride[1];
        let (lo, hi, ix) = self.columns(j);
        for (oy, src) in src.chunks_exact(self.ow).enumerate() {
            let Some(iy) = self.source(0, oy, i, self.h) else {
                continue;
            };
            let dst = &mut img[iy * self.w + ix..(iy + 1) * self.w];
            if stride == 1 {
                // Contiguous, so the loop is vectorized (a `step_by` is not).
                dst.iter_mut().zip(&src[lo..hi]).for_each(|(d, &v)| *d += v);
            } else {
                let taps = dst.iter_mut().step_by(stride);
                taps.zip(&src[lo..hi]).for_each(|(d, &v)| *d += v);
            }
        }
    }

    /// Writes the patch matrix of group `gi` of the `n` images `xs` (`[n, C, H, W]`) into
    /// `cols` `[C/g·kh·kw, n·OH·OW]`: row `(c, i, j)`, column `e·OH·OW + (p, q)` holds
    /// `xs[e, gi·C/g + c, p·s − pad + i·d, q·s − pad + j·d]` (im2col of a chunk). Rows are
    /// split over `threads`.
    fn im2col<F: Float>(&self, xs: &[F], n: usize, gi: usize, cols: &mut [F], threads: usize) {
        let (p, plane, taps) = (self.p(), self.h * self.w, self.kh * self.kw);
        let (ld, x_len) = (n * p, self.c * plane);
        for_rows(&mut cols[..self.k() * ld], ld, threads, &|first, rows| {
            for (r, row) in (first..).zip(rows.chunks_exact_mut(ld)) {
                let (c, i, j) = (r / taps, r % taps / self.kw, r % self.kw);
                for (e, dst) in row.chunks_exact_mut(p).enumerate() {
                    let at = e * x_len + (gi * self.cg() + c) * plane;
                    self.patch_row(&xs[at..at + plane], i, j, dst);
                }
            }
        });
    }

    /// Adds the gradient `cols` `[C/g·kh·kw, n·OH·OW]` of a chunk's patch matrix into the
    /// input gradients `dxs` `[n, C, H, W]` of group `gi` (the adjoint of
    /// [`im2col`](Self::im2col), col2im). Examples are split over `threads`.
    fn col2im<F: Float>(&self, cols: &[F], gi: usize, dxs: &mut [F], threads: usize) {
        let (p, plane) = (self.p(), self.h * self.w);
        let x_len = self.c * plane;
        let ld = dxs.len() / x_len * p;
        for_rows(dxs, x_len, threads, &|first, examples| {
            for (e, dx) in (first..).zip(examples.chunks_exact_mut(x_len)) {
                let mut r = 0;
                for c in 0..self.cg() {
                    let img = &mut dx[(gi * self.cg() + c) * plane..][..plane];
                    for i in 0..self.kh {
                        for j in 0..self.kw {
                            self.add_patch_row(&cols[r * ld + e * p..][..p], i, j, img);
                            r += 1;
                        }
                    }
                }
            }
        });
    }

    /// Copies group `gi`'s output channels of the `n` examples `ys` (`[n, out, OH, OW]`)
    /// side by side into `dst` `[out/g, n·OH·OW]`, the layout of the chunk's product.
    fn gather_channels<F: Float>(&self, ys: &[F], gi: usize, dst: &mut [F], threads: usize) {
        let (p, y_len) = (self.p(), self.out * self.p());
        let ld = ys.len() / y_len * p;
        for_rows(&mut dst[..self.og() * ld], ld, threads, &|first, rows| {
            for (o, row) in (first..).zip(rows.chunks_exact_mut(ld)) {
                for (e, dst) in row.chunks_exact_mut(p).enumerate() {
                    dst.copy_from_slice(&ys[e * y_len + (gi * self.og() + o) * p..][..p]);
                }
            }
        });
    }

    /// Group `gi`'s output gradient `G_g` `[out/g, n·OH·OW]` of the `n` examples `dys`:
    /// for one example its channels in place, else gathered into `buffer`.
    fn output_gradient<'a, F: Float>(
        &self,
        dys: &'a [F],
        n: usize,
        gi: usize,
        buffer: &'a mut [F],
        threads: usize,
    ) -> ArrayView2<'a, F> {
        if n == 1 {
            return matrix(&dys[gi * self.og() * self.p()..], self.og(), self.p());
        }
        self.gather_channels(dys, gi, buffer, threads);
        matrix(buffer, self.og(), n * self.p())
    }

    /// The inverse of [`gather_channels`](Self::gather_channels), adding the bias: writes
    /// `src` `[out/g, n·OH·OW]` into group `gi`'s channels of `ys` `[n, out, OH, OW]`.
    fn scatter_channels<F: Float>(
        &self,
        src: &[F],
        bias: Option<&[F]>,
        gi: usize,
        ys: &mut [F],
        threads: usize,
    ) {
        let (p, y_len) = (self.p(), self.out * self.p());
        let ld = ys.len() / y_len * p;
        for_rows(ys, y_len, threads, &|first, examples| {
            for (e, ye) in (first..).zip(examples.chunks_exact_mut(y_len)) {
                for o in 0..self.og() {
                    let channel = gi * self.og() + o;
                    let dst = &mut ye[channel * p..][..p];
                    let row = &src[o * ld + e * p..][..p];
                    match bias {
                        Some(b) => dst
                            .iter_mut()
                            .zip(row)
                            .for_each(|(d, &v)| *d = v + b[channel]),
                        None => dst.copy_from_slice(row),
                    }
                }
            }
        });
    }
}

/// About how many columns (output pixels of several examples) one patch matrix holds: enough
/// for full register tiles and products worth splitting over threads, few enough that the
/// patches and the product stay in L2. On the benchmark CNN's second layer (14 × 14
/// outputs, `k` = 288) chunks of 2 images (392 columns) ran its forward product at about
/// twice the speed of chunks of 10 (1,960 columns, 2.2 MB of patches, rows 7.8 KB apart).
const CHUNK_COLUMNS: usize = 512;

/// At most how many parts the chunks of a batch are dealt into, to be computed in parallel.
/// It is a constant, not the number of threads, so that results do not depend on that
/// number; four parts keep two threads evenly busy (and four, one part each).
const PARTS: usize = 4;

impl Op for Conv2d {
    fn kind(&self) -> &'static str {
        "conv2d"
    }

    fn arity(&self) -> Arity {
        Arity::Between(2, 3)
    }

    fn output_shape(&self, inputs: &[&Shape]) -> Result<Shape, String> {
        let (x, w) = (inputs[0], inputs[1]);
        if !x.batched || x.dims.len() != 3 {
            return Err(format!(
                "the input must be a batch of images [B, C, H, W], got {x}"
            ));
        }
        if w.batched || w.dims.len() != 4 {
            return Err(format!(
                "weight must be [out, C/groups, kh, kw] = [out, {}, kh, kw], got {w}",
                x.dims[0] / self.groups.max(1)
            ));
        }
        if x.dims.contains(&0) || w.dims[0] == 0 {
            return Err(format!(
                "convolution needs at least one channel and one pixel in and out, got {x} and {w}"
            ));
        }
        let geo = self.geometry(&x.dims, &w.dims)?;
        if let Some(b) = inputs.get(2) {
            if b.batched || b.dims != [geo.out] {
                return Err(format!("the bias must have shape [{}], got {b}", geo.out));
            }
        }
        Ok(Shape::batched([geo.out, geo.oh, geo.ow]))
    }

    fn scratch_len(&self, inputs: &[&[usize]], _output: &[usize]) -> usize {
        self.concrete(inputs).scratch_len(inputs[0][0])
    }

    fn workspace_len(&self, inputs: &[&[usize]], _output: &[usize]) -> usize {
        self.concrete(inputs).workspace_len(inputs[0][0])
    }

    /// `2 · out · OH · OW · (C/groups) · kh · kw` (the bias is not counted).
    fn flops_per_example(&self, inputs: &[&Shape], output: &Shape) -> u64 {
        let w = &inputs[1].dims;
        2 * output.size() as u64 * (w[1] * w[2] * w[3]) as u64
    }
}

/// Up to how many patch rows (`C/groups · kh · kw`) the weight gradient is computed as dot
/// products ([`few_rows_weight_gradient`]) instead of a matrix product. A first layer's
/// `[out, k] = G · colsᵀ` with `k` = 9 (one channel, 3 × 3) fills 9 of the kernel's 32
/// columns and packs the whole output gradient per example for it: on the benchmark CNN's
/// first layer that product took 27 µs an example at batch 64 and 65 µs at 256 (most of it
/// packing), the dot products about 7 µs.
const FEW_PATCH_ROWS: usize = 16;

/// `∂W_g[o, t] (+)= Σ_e Σ_q G_e[o, q] · cols[t, e·P + q]` over the `n` examples of a chunk
/// (output gradient `dys` `[n, out, OH, OW]`, patches `cols` `[k, n·P]`), each sum in the
/// fixed lane order of [`lane_sum`], examples added in order: for a patch matrix of few
/// rows, where the matrix kernel would mostly pad and pack. `dwg` is group `gi`'s rows
/// `[out/g, k]`; with `accumulate` false the first example overwrites them.
fn few_rows_weight_gradient<F: Float>(
    geo: &Geometry,
    dys: &[F],
    gi: usize,
    cols: &[F],
    dwg: &mut [F],
    accumulate: bool,
) {
    let (p, k, og, y_len) = (geo.p(), geo.k(), geo.og(), geo.out * geo.p());
    let n = dys.len() / y_len;
    for e in 0..n {
        let ge = &dys[e * y_len + gi * og * p..][..og * p];
        for (row, dw) in ge.chunks_exact(p).zip(dwg.chunks_exact_mut(k)) {
            for (t, d) in dw.iter_mut().enumerate() {
                let dot = lane_sum_of(row, &cols[t * n * p + e * p..], |g, v| g * v);
                *d = if accumulate || e > 0 { *d + dot } else { dot };
            }
        }
    }
}

/// Adds `bias[o]` to every value of row `o` of `rows` (`bias.len()` rows of equal length).
fn add_bias<F: Float>(rows: &mut [F], bias: &[F]) {
    let len = rows.len() / bias.len();
    for (row, &b) in rows.chunks_exact_mut(len).zip(bias) {
        row.iter_mut().for_each(|v| *v += b);
    }
}

/// The `[rows, cols]` matrix stored contiguously at the start of `data`.
fn matrix<F>(data: &[F], rows: usize, cols: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("sized")
}

/// The writable `[rows, cols]` matrix stored contiguously at the start of `data`.
fn matrix_mut<F>(data: &mut [F], rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("sized")
}

/// Group `gi`'s rows of a `[rows, cols]` matrix stored contiguously in `data`.
fn block<F>(data: &[F], rows: usize, cols: usize, per: usize, gi: usize) -> ArrayView2<'_, F> {
    matrix(data, rows, cols).slice_move(s![gi * per..(gi + 1) * per, ..])
}

/// One part of a batch (see [`Conv2d`]'s threads): its examples, its working memory, its
/// slice of the layer's output (or input gradient) and, in the backward pass, where its
/// weight gradient goes.
struct Part<'a, F> {
    /// The part's first example in the batch.
    start: usize,
    /// How many examples it holds.
    len: usize,
    /// Its working memory, [`Geometry::buffer_len`] elements.
    buffer: &'a mut [F],
    /// Its examples' rows of the output `y` (forward) or of `∂x` (backward).
    rows: &'a mut [F],
    /// The weight gradient `[out, k]` its chunks add into (backward, weight pass).
    dw: &'a mut [F],
}

/// The chunks of `len` examples: each chunk's first example and its size.
fn chunks(len: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..len)
        .step_by(chunk)
        .map(move |at| (at, chunk.min(len - at)))
}

impl Geometry {
    /// The parts of a batch of `batch`, each given its share of `buffers` (cut into
    /// [`buffer_len`](Self::buffer_len) pieces), of `rows` (whole examples of `row_len`
    /// elements) and of `dws` (whole `[out, k]` matrices; empty slices when `dws` runs
    /// out). Unused parts (past [`parts`](Self::parts)) are empty.
    fn parts_of<'a, F>(
        &self,
        batch: usize,
        buffers: &'a mut [F],
        rows: &'a mut [F],
        row_len: usize,
        dws: [&'a mut [F]; 2],
    ) -> [Part<'a, F>; PARTS] {
        let (buffer_len, dw_len, parts) = (
            self.buffer_len(batch),
            self.out * self.k(),
            self.parts(batch),
        );
        let mut rest = (buffers, rows, dws);
        std::array::from_fn(|i| {
            let (start, end) = if i < parts {
                self.part_examples(batch, i)
            } else {
                (batch, batch)
            };
            let (buffers, rows, [first_dw, dws]) = std::mem::take(&mut rest);
            let (buffer, buffers) = buffers.split_at_mut(if i < parts { buffer_len } else { 0 });
            let (mine, rows) = rows.split_at_mut((end - start) * row_len);
            // Part 0 takes the first gradient whole, the others `[out, k]` each of the second.
            let (dw, first_dw, dws) = if i == 0 {
                (first_dw, &mut [][..], dws)
            } else {
                let (dw, dws) = dws.split_at_mut(if i < parts { dw_len.min(dws.len()) } else { 0 });
                (dw, first_dw, dws)
            };
            rest = (buffers, rows, [first_dw, dws]);
            Part {
                start,
                len: end - start,
                buffer,
                rows: mine,
                dw,
            }
        })
    }
}

/// Threads for the loops inside one part: the threads left over when there are fewer
/// parts than threads (a batch of one example on two threads splits its products).
fn inner_threads(geo: &Geometry, batch: usize, threads: usize) -> usize {
    (threads / geo.parts(batch).max(1)).max(1)
}

impl<F: Float> Kernel<F> for Conv2d {
    fn forward(&self, ctx: ForwardCtx<'_, F>) -> Result<(), TensorError> {
        let batch = ctx.inputs.dims(0)[0];
        let geo = self.concrete(&[ctx.inputs.dims(0), ctx.inputs.dims(1)]);
        let (k, p, og) = (geo.k(), geo.p(), geo.og());
        let (x, w) = (ctx.inputs.slice(0), ctx.inputs.slice(1));
        let bias = (ctx.inputs.len() == 3).then(|| ctx.inputs.slice(2));
        let mut output = ctx.output;
        let y = output.as_slice_mut().expect("contiguous");
        if winograd::applies(&geo) {
            winograd::forward(&geo, batch, x, w, bias, y, ctx.scratch, ctx.threads);
            return Ok(());
        }
        let (x_len, y_len) = (geo.c * geo.h * geo.w, geo.out * p);
        let (chunk, inner) = (geo.chunk(batch), inner_threads(&geo, batch, ctx.threads));
        let mut parts = geo.parts_of(batch, ctx.scratch, y, y_len, Default::default());
        for_rows(&mut parts, 1, ctx.threads, &|_, parts| {
            for part in parts.iter_mut().filter(|part| part.len > 0) {
                let (cols, product) = part.buffer.split_at_mut(k * chunk * p);
                for (at, n) in chunks(part.len, chunk) {
                    let ld = n * p;
                    let xs = &x[(part.start + at) * x_len..][..n * x_len];
                    let ys = &mut part.rows[at * y_len..][..n * y_len];
                    for gi in 0..geo.groups {
                        geo.im2col(xs, n, gi, cols, inner);
                        let (patches, wg) = (matrix(cols, k, ld), block(w, geo.out, k, og, gi));
                        if n == 1 {
                            // One example's product is its group's channels of `y`.
                            let yg = &mut ys[gi * og * p..][..og * p];
                            matmul_into(&mut matrix_mut(yg, og, p), &wg, &patches, false, inner);
                            if let Some(b) = bias {
                                add_bias(yg, &b[gi * og..][..og]);
                            }
                        } else {
                            matmul_into(
                                &mut matrix_mut(product, og, ld),
                                &wg,
                                &patches,
                                false,
                                inner,
                            );
                            geo.scatter_channels(product, bias, gi, ys, inner);
                        }
                    }
                }
            }
        });
        Ok(())
    }

    fn backward(&self, ctx: BackwardCtx<'_, F>) -> Result<(), TensorError> {
        let BackwardCtx {
            inputs,
            grad_output,
            mut grad_inputs,
            workspace,
            threads,
            ..
        } = ctx;
        let batch = inputs.dims(0)[0];
        let geo = self.concrete(&[inputs.dims(0), inputs.dims(1)]);
        let (k, p, og) = (geo.k(), geo.p(), geo.og());
        let (x, w) = (inputs.slice(0), inputs.slice(1));
        let dy = grad_output.as_slice().expect("contiguous");
        let (x_len, y_len) = (geo.c * geo.h * geo.w, geo.out * p);
        if inputs.len() == 3 {
            if let Some(db) = grad_inputs.slice(2) {
                for ye in dy.chunks_exact(y_len) {
                    for (d, row) in db.iter_mut().zip(ye.chunks_exact(p)) {
                        *d += lane_sum(row);
                    }
                }
            }
        }
        if winograd::applies(&geo) {
            if let Some((dw, fresh)) = grad_inputs.slice_or_fresh(1) {
                winograd::weight_gradient(&geo, batch, x, dy, dw, fresh, workspace, threads);
            }
            if let Some((dx, fresh)) = grad_inputs.slice_or_fresh(0) {
                winograd::input_gradient(&geo, batch, w, dy, dx, fresh, workspace, threads);
            }
            return Ok(());
        }
        let (chunk, inner) = (geo.chunk(batch), inner_threads(&geo, batch, threads));
        let parts_len = geo.parts(batch) * geo.buffer_len(batch);
        let (buffers, partial_dws) = workspace.split_at_mut(parts_len);
        if let Some((dw, fresh)) = grad_inputs.slice_or_fresh(1) {
            if fresh && batch == 0 {
                dw.fill(F::zero());
            }
            // ∂W⁽ⁱ⁾_g (+)= G_g · colsᵀ over part i's chunks in batch order (part 0 into ∂W
            // itself), then ∂W += ∂W⁽¹⁾ + ∂W⁽²⁾ + … in part order.
            let dws = [&mut *dw, &mut *partial_dws];
            let mut parts = geo.parts_of(batch, &mut *buffers, &mut [], 0, dws);
            for_rows(&mut parts, 1, threads, &|_, parts| {
                for part in parts.iter_mut().filter(|part| part.len > 0) {
                    let (cols, g) = part.buffer.split_at_mut(k * chunk * p);
                    for (at, n) in chunks(part.len, chunk) {
                        let ld = n * p;
                        let start = part.start + at;
                        let xs = &x[start * x_len..][..n * x_len];
                        let dys = &dy[start * y_len..][..n * y_len];
                        let accumulate = at > 0 || (part.start == 0 && !fresh);
                        for gi in 0..geo.groups {
                            geo.im2col(xs, n, gi, cols, inner);
                            let dwg = &mut part.dw[gi * og * k..][..og * k];
                            if k <= FEW_PATCH_ROWS {
                                few_rows_weight_gradient(&geo, dys, gi, cols, dwg, accumulate);
                                continue;
                            }
                            let gg = geo.output_gradient(dys, n, gi, g, inner);
                            let patches = matrix(cols, k, ld);
                            let mut dwg = matrix_mut(dwg, og, k);
                            matmul_into(&mut dwg, &gg, &patches.t(), accumulate, inner);
                        }
                    }
                }
            });
            for partial in partial_dws
                .chunks_exact(geo.out * k)
                .take(geo.parts(batch) - 1)
            {
                dw.iter_mut().zip(partial).for_each(|(d, &v)| *d += v);
            }
        }
        if let Some((dx, fresh)) = grad_inputs.slice_or_fresh(0) {
            // ∂x += col2im(W_gᵀ · G_g), each part into its own examples.
            let mut parts = geo.parts_of(batch, buffers, dx, x_len, Default::default());
            for_rows(&mut parts, 1, threads, &|_, parts| {
                for part in parts.iter_mut().filter(|part| part.len > 0) {
                    if fresh {
                        part.rows.fill(F::zero());
                    }
                    let (cols, g) = part.buffer.split_at_mut(k * chunk * p);
                    for (at, n) in chunks(part.len, chunk) {
                        let ld = n * p;
                        let dys = &dy[(part.start + at) * y_len..][..n * y_len];
                        let dxs = &mut part.rows[at * x_len..][..n * x_len];
                        for gi in 0..geo.groups {
                            let gg = geo.output_gradient(dys, n, gi, g, inner);
                            let mut dcols = matrix_mut(cols, k, ld);
                            let wg = block(w, geo.out, k, og, gi);
                            matmul_into(&mut dcols, &wg.t(), &gg, false, inner);
                            geo.col2im(&cols[..k * ld], gi, dxs, inner);
                        }
                    }
                }
            });
        }
        Ok(())
    }
}
