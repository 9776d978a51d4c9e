//! Winograd's minimal filtering F(2×2, 3×3) for the 3 × 3, stride-1 convolutions of
//! [`Conv2d`](super::Conv2d) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2016): 16 multiplications per 2 × 2 outputs and channel pair instead of 36.
//!
//! The output is cut into tiles of 2 × 2 pixels, each reading a 4 × 4 window `d` of the
//! zero-padded input, and
//!
//! `Y = Aᵀ·[Σ_c (G·W[o, c]·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A`, with
//! `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]`,
//! `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`, `Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]`
//!
//! (the cross-correlation, as PyTorch's; the coefficients are 0, ±1 and ±½, so a float's
//! rounding differs from the direct sum by a few units in the last place). For each of the
//! 16 positions ξ of the 4 × 4 transformed tile the sum over channels is one matrix product,
//! `M_ξ [T, out] = V_ξ [T, C] · U_ξ [C, out]`, over the `T` tiles of a chunk of examples.
//!
//! Layout: the transforms run across channels, the contiguous axis of every buffer here, so
//! they vectorize whatever the image size: a chunk's images are first staged
//! channels-last and zero-padded (`[n, rows, cols, C]`), `V` is `[16, T, C]`, `U` is
//! `[16, C, out]` and `M` is `[16, T, out]`; the output transform writes the pixels
//! channels-last (`[n, 2·th, 2·tw, out]`), which are then copied into the `[B, out, OH, OW]`
//! output with the bias, a few channels at a time.
//!
//! Backward, the exact adjoint: `∂M = A·∂Y·Aᵀ` per tile, `∂U_ξ = V_ξᵀ·∂M_ξ` (summed over the
//! chunks, then `∂W = Gᵀ·∂U·G`), `∂V_ξ = ∂M_ξ·U_ξᵀ` and `∂d = B·∂V·Bᵀ` added into the staged
//! input gradient (neighbouring tiles overlap by two rows and columns).

use super::{chunks, for_rows, inner_threads, matrix, matrix_mut, Geometry};
use crate::linalg::matmul_into;
use crate::Float;

/// Positions of a transformed tile (4 × 4).
const POS: usize = 16;

/// Input and output channels from which a 3 × 3 convolution takes this path: below, the
/// products are too thin to gain from fewer multiplications (a first layer on one channel
/// stays a patch-matrix product).
const MIN_CHANNELS: usize = 8;

/// Whether `geo` is computed here: a 3 × 3 kernel, stride 1, no dilation, one group, at
/// least [`MIN_CHANNELS`] channels in and out.
pub(super) fn applies(geo: &Geometry) -> bool {
    let conv = &geo.conv;
    geo.kh == 3
        && geo.kw == 3
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && geo.groups == 1
        && geo.c >= MIN_CHANNELS
        && geo.out >= MIN_CHANNELS
}

/// The tiling of one image.
#[derive(Clone, Copy)]
struct Tiles {
    /// Tile rows and columns, `⌈OH/2⌉` and `⌈OW/2⌉`.
    th: usize,
    tw: usize,
    /// Rows and columns of the staged (padded) image, `2·th + 2` and `2·tw + 2`.
    rows: usize,
    cols: usize,
}

impl Tiles {
    /// The tiling of `geo`'s output.
    fn of(geo: &Geometry) -> Tiles {
        let (th, tw) = (geo.oh.div_ceil(2), geo.ow.div_ceil(2));
        Tiles {
            th,
            tw,
            rows: 2 * th + 2,
            cols: 2 * tw + 2,
        }
    }

    /// Tiles per image.
    fn per_image(&self) -> usize {
        self.th * self.tw
    }
}

/// Elements of `U` (and of each part's `∂U`): `16 · C · out`.
pub(super) fn kernels_len(geo: &Geometry) -> usize {
    POS * geo.c * geo.out
}

/// Elements of one part's working memory for chunks of `n` examples: the staged images,
/// `V` (or `∂V`), `M` (or `∂M`), the output pixels channels-last and one tile's
/// intermediate values (see [`Buffers`]).
pub(super) fn buffer_len(geo: &Geometry, n: usize) -> usize {
    let tiles = Tiles::of(geo);
    let t = n * tiles.per_image();
    n * tiles.rows * tiles.cols * geo.c
        + (POS * (geo.c + geo.out) + 4 * geo.out) * t
        + POS * geo.c.max(geo.out)
}

/// The pieces of a part's working memory for a chunk of `n` examples.
struct Buffers<'a, F> {
    /// `[n, rows, cols, C]`.
    staged: &'a mut [F],
    /// `[16, T, C]`.
    v: &'a mut [F],
    /// `[16, T, out]`.
    m: &'a mut [F],
    /// The output (or its gradient) channels-last, `[n, 2·th, 2·tw, out]`.
    pixels: &'a mut [F],
    /// One tile's intermediate values, `16 · max(C, out)`.
    tmp: &'a mut [F],
}

/// `buffer` (at least [`buffer_len`] elements) cut into the pieces of a chunk of `n`.
fn buffers<'a, F>(geo: &Geometry, n: usize, buffer: &'a mut [F]) -> Buffers<'a, F> {
    let tiles = Tiles::of(geo);
    let t = n * tiles.per_image();
    let (staged, rest) = buffer.split_at_mut(n * tiles.rows * tiles.cols * geo.c);
    let (v, rest) = rest.split_at_mut(POS * t * geo.c);
    let (m, rest) = rest.split_at_mut(POS * t * geo.out);
    let (pixels, tmp) = rest.split_at_mut(4 * t * geo.out);
    Buffers {
        staged,
        v,
        m,
        pixels,
        tmp,
    }
}

/// `[G·g₀, …]`: one axis of the kernel transform, `(g₀, (g₀ + g₁ + g₂)/2, (g₀ − g₁ + g₂)/2, g₂)`.
#[inline(always)]
fn g_axis<F: Float>([a, b, c]: [F; 3]) -> [F; 4] {
    let half = F::lit(0.5);
    [a, (a + b + c) * half, (a - b + c) * half, c]
}

/// The adjoint of [`g_axis`]: `Gᵀ·u`.
#[inline(always)]
fn g_axis_adjoint<F: Float>([u0, u1, u2, u3]: [F; 4]) -> [F; 3] {
    let half = F::lit(0.5);
    [
        u0 + (u1 + u2) * half,
        (u1 - u2) * half,
        (u1 + u2) * half + u3,
    ]
}

/// `U[ξ, c, o] = (G·W[o, c]·Gᵀ)[ξ]` for the kernels `w` `[out, C, 3, 3]`.
fn transform_kernels<F: Float>(geo: &Geometry, w: &[F], u: &mut [F]) {
    let (c, out) = (geo.c, geo.out);
    for (oc, g) in w.chunks_exact(9).enumerate() {
        let (o, ci) = (oc / c, oc % c);
        // Columns first: t[a][j] = Σ_i G[a][i]·g[i][j].
        let cols: [[F; 4]; 3] = std::array::from_fn(|j| g_axis([g[j], g[3 + j], g[6 + j]]));
        for a in 0..4 {
            let row = g_axis([cols[0][a], cols[1][a], cols[2][a]]);
            for (b, &v) in row.iter().enumerate() {
                u[((a * 4 + b) * c + ci) * out + o] = v;
            }
        }
    }
}

/// `∂W[o, c] (+)= Gᵀ·∂U[·, c, o]·G` (the adjoint of [`transform_kernels`]).
fn kernel_gradient<F: Float>(geo: &Geometry, du: &[F], dw: &mut [F], accumulate: bool) {
    let (c, out) = (geo.c, geo.out);
    for (oc, dg) in dw.chunks_exact_mut(9).enumerate() {
        let (o, ci) = (oc / c, oc % c);
        let at = |a: usize, b: usize| du[((a * 4 + b) * c + ci) * out + o];
        let rows: [[F; 3]; 4] =
            std::array::from_fn(|a| g_axis_adjoint([at(a, 0), at(a, 1), at(a, 2), at(a, 3)]));
        for j in 0..3 {
            let col = g_axis_adjoint([rows[0][j], rows[1][j], rows[2][j], rows[3][j]]);
            for (i, &v) in col.iter().enumerate() {
                let d = &mut dg[i * 3 + j];
                *d = if accumulate { *d + v } else { v };
            }
        }
    }
}

/// `Bᵀ·d`: one axis of the input transform.
#[inline(always)]
fn bt<F: Float>([d0, d1, d2, d3]: [F; 4]) -> [F; 4] {
    [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
}

/// `B·v`: the adjoint of [`bt`].
#[inline(always)]
fn b<F: Float>([v0, v1, v2, v3]: [F; 4]) -> [F; 4] {
    [v0, v1 - v2 + v3, v1 + v2 - v0, -v3]
}

/// `Aᵀ·m`: one axis of the output transform.
#[inline(always)]
fn at<F: Float>([m0, m1, m2, m3]: [F; 4]) -> [F; 2] {
    [m0 + m1 + m2, m1 - m2 - m3]
}

/// `A·y`: the adjoint of [`at`].
#[inline(always)]
fn a<F: Float>([y0, y1]: [F; 2]) -> [F; 4] {
    [y0, y0 + y1, y0 - y1, -y1]
}

/// Lanes per block of [`lanes`].
const BLOCK: usize = 8;

/// `out[k][l] (=|+=) f(inp[0][l], …, inp[I−1][l])[k]` for every lane `l` of equal-length
/// slices: the transforms applied across channels. Blocks of [`BLOCK`] lanes are read into
/// and computed in local arrays, which the compiler turns into vector instructions (a plain
/// loop over the slices is not vectorized: proving that eight of them do not overlap takes
/// more run-time checks than it allows).
#[inline(always)]
fn lanes<F: Float, const I: usize, const O: usize>(
    inp: [&[F]; I],
    out: [&mut [F]; O],
    add: bool,
    f: impl Fn([F; I]) -> [F; O],
) {
    // Plain loops over the small arrays throughout: `array::from_fn` and `map` are not
    // always inlined, and outside this function they lose the vector instructions.
    let len = out[0].len();
    for s in &inp {
        assert!(s.len() >= len, "lanes: short input");
    }
    for o in out.iter() {
        assert_eq!(o.len(), len, "lanes: outputs of unequal lengths");
    }
    let full = len - len % BLOCK;
    let mut l = 0;
    while l < full {
        let mut x = [[F::zero(); BLOCK]; I];
        for i in 0..I {
            x[i].copy_from_slice(&inp[i][l..l + BLOCK]);
        }
        let mut r = [[F::zero(); BLOCK]; O];
        for k in 0..BLOCK {
            let mut a = [F::zero(); I];
            for i in 0..I {
                a[i] = x[i][k];
            }
            let v = f(a);
            for o in 0..O {
                r[o][k] = v[o];
            }
        }
        for o in 0..O {
            let dst = &mut out[o][l..l + BLOCK];
            if add {
                for k in 0..BLOCK {
                    dst[k] += r[o][k];
                }
            } else {
                dst.copy_from_slice(&r[o]);
            }
        }
        l += BLOCK;
    }
    for l in full..len {
        let mut a = [F::zero(); I];
        for i in 0..I {
            a[i] = inp[i][l];
        }
        let v = f(a);
        for o in 0..O {
            out[o][l] = if add { out[o][l] + v[o] } else { v[o] };
        }
    }
}

/// `N` disjoint slices of `len` elements of `buf`, the k-th at `start + k·stride`.
#[inline(always)]
fn slices_mut<F, const N: usize>(
    buf: &mut [F],
    start: usize,
    stride: usize,
    len: usize,
) -> [&mut [F]; N] {
    assert!(len <= stride || N == 1, "overlapping slices");
    let mut rest = &mut buf[start..];
    std::array::from_fn(|k| {
        let taken = std::mem::take(&mut rest);
        let (mine, after) = taken.split_at_mut(len);
        if k + 1 < N {
            rest = &mut after[stride - len..];
        }
        mine
    })
}

/// Copies the `n` images `xs` `[n, C, H, W]` channels-last into `staged` `[n, rows, cols,
/// C]`, shifted by the padding, with zeros around (`rows ≥ H + 2·pad` and likewise for the
/// columns, since `OH = H + 2·pad − 2`).
fn stage<F: Float>(geo: &Geometry, xs: &[F], n: usize, staged: &mut [F]) {
    let (tiles, c) = (Tiles::of(geo), geo.c);
    let [py, px] = geo.conv.padding;
    staged.fill(F::zero());
    for e in 0..n {
        for ci in 0..c {
            let plane = &xs[(e * c + ci) * geo.h * geo.w..][..geo.h * geo.w];
            for (iy, row) in plane.chunks_exact(geo.w).enumerate() {
                let base = (e * tiles.rows + iy + py) * tiles.cols + px;
                for (ix, &v) in row.iter().enumerate() {
                    staged[(base + ix) * c + ci] = v;
                }
            }
        }
    }
}

/// The adjoint of [`stage`]: adds the staged gradient `[n, rows, cols, C]` into `dxs`
/// `[n, C, H, W]`.
fn unstage<F: Float>(geo: &Geometry, staged: &[F], n: usize, dxs: &mut [F]) {
    let (tiles, c) = (Tiles::of(geo), geo.c);
    let [py, px] = geo.conv.padding;
    for e in 0..n {
        for ci in 0..c {
            let plane = &mut dxs[(e * c + ci) * geo.h * geo.w..][..geo.h * geo.w];
            for (iy, row) in plane.chunks_exact_mut(geo.w).enumerate() {
                let base = (e * tiles.rows + iy + py) * tiles.cols + px;
                for (ix, d) in row.iter_mut().enumerate() {
                    *d += staged[(base + ix) * c + ci];
                }
            }
        }
    }
}

/// Channel blocks of the transposes between `[n, out, OH, OW]` and `[n, 2·th, 2·tw, out]`.
const CHANNEL_BLOCK: usize = 8;

/// Writes `pixels` `[n, 2·th, 2·tw, out]` into `ys` `[n, out, OH, OW]` (dropping the pixels
/// past an odd side) with the bias added; channels go in blocks so that each pass reads a
/// few rows of `pixels` and writes a few output planes in order.
fn unstage_output<F: Float>(geo: &Geometry, pixels: &[F], bias: Option<&[F]>, ys: &mut [F]) {
    let (tiles, out, p) = (Tiles::of(geo), geo.out, geo.p());
    let (rows, cols) = (2 * tiles.th, 2 * tiles.tw);
    for (e, ye) in ys.chunks_exact_mut(out * p).enumerate() {
        for o0 in (0..out).step_by(CHANNEL_BLOCK) {
            let block = CHANNEL_BLOCK.min(out - o0);
            for oy in 0..geo.oh {
                for ox in 0..geo.ow {
                    let src = &pixels[((e * rows + oy) * cols + ox) * out + o0..][..block];
                    for (k, &v) in src.iter().enumerate() {
                        let o = o0 + k;
                        ye[o * p + oy * geo.ow + ox] = bias.map_or(v, |b| v + b[o]);
                    }
                }
            }
        }
    }
}

/// The adjoint of [`unstage_output`] without the bias: `dys` `[n, out, OH, OW]` into
/// `pixels` `[n, 2·th, 2·tw, out]`, zeros past an odd side.
fn stage_output_gradient<F: Float>(geo: &Geometry, dys: &[F], pixels: &mut [F]) {
    let (tiles, out, p) = (Tiles::of(geo), geo.out, geo.p());
    let (rows, cols) = (2 * tiles.th, 2 * tiles.tw);
    if rows != geo.oh || cols != geo.ow {
        pixels.fill(F::zero());
    }
    for (e, de) in dys.chunks_exact(out * p).enumerate() {
        for o0 in (0..out).step_by(CHANNEL_BLOCK) {
            let block = CHANNEL_BLOCK.min(out - o0);
            for oy in 0..geo.oh {
                for ox in 0..geo.ow {
                    let dst = &mut pixels[((e * rows + oy) * cols + ox) * out + o0..][..block];
                    for (k, d) in dst.iter_mut().enumerate() {
                        *d = de[(o0 + k) * p + oy * geo.ow + ox];
                    }
                }
            }
        }
    }
}

/// The tile `t` of a chunk: its example, tile row and tile column.
#[inline(always)]
fn tile(tiles: &Tiles, t: usize) -> (usize, usize, usize) {
    let per = tiles.per_image();
    (t / per, t % per / tiles.tw, t % tiles.tw)
}

/// `V[ξ, t, ·] = (Bᵀ·d_t·B)[ξ]` for every tile of the staged chunk, across channels.
#[inline(always)]
fn input_transform<F: Float>(
    geo: &Geometry,
    staged: &[F],
    t_len: usize,
    v: &mut [F],
    tmp: &mut [F],
) {
    let (tiles, c) = (Tiles::of(geo), geo.c);
    for t in 0..t_len {
        let (e, ty, tx) = tile(&tiles, t);
        let pixel = |r: usize, s: usize| {
            let at = ((e * tiles.rows + 2 * ty + r) * tiles.cols + 2 * tx + s) * c;
            &staged[at..at + c]
        };
        // Down the columns: w[s][i] = (Bᵀ·d[·][s])[i].
        for s in 0..4 {
            let out = slices_mut::<F, 4>(tmp, s * 4 * c, c, c);
            lanes(
                [pixel(0, s), pixel(1, s), pixel(2, s), pixel(3, s)],
                out,
                false,
                bt,
            );
        }
        // Along the rows: V[(i, j)] = (Bᵀ·w[·][i])[j].
        for i in 0..4 {
            let w = |s: usize| &tmp[(s * 4 + i) * c..][..c];
            let (w0, w1, w2, w3) = (w(0), w(1), w(2), w(3));
            let out = slices_mut::<F, 4>(v, (i * 4 * t_len + t) * c, t_len * c, c);
            lanes([w0, w1, w2, w3], out, false, bt);
        }
    }
}

/// The adjoint of [`input_transform`]: adds `∂d_t = B·∂V_t·Bᵀ` of every tile into the staged
/// gradient (zeroed first).
#[inline(always)]
fn input_adjoint<F: Float>(
    geo: &Geometry,
    dv: &[F],
    t_len: usize,
    staged: &mut [F],
    tmp: &mut [F],
) {
    let (tiles, c) = (Tiles::of(geo), geo.c);
    staged.fill(F::zero());
    for t in 0..t_len {
        let (e, ty, tx) = tile(&tiles, t);
        // ∂w[s][i] = (B·∂V[(i, ·)])[s].
        for i in 0..4 {
            let v = |j: usize| &dv[((i * 4 + j) * t_len + t) * c..][..c];
            let out = slices_mut::<F, 4>(tmp, i * c, 4 * c, c);
            lanes([v(0), v(1), v(2), v(3)], out, false, b);
        }
        // ∂d[r][s] += (B·∂w[s][·])[r].
        for s in 0..4 {
            let w = |i: usize| &tmp[(s * 4 + i) * c..][..c];
            let (w0, w1, w2, w3) = (w(0), w(1), w(2), w(3));
            let start = ((e * tiles.rows + 2 * ty) * tiles.cols + 2 * tx + s) * c;
            let out = slices_mut::<F, 4>(staged, start, tiles.cols * c, c);
            lanes([w0, w1, w2, w3], out, true, b);
        }
    }
}

/// `pixels[e, 2·ty + i, 2·tx + j, ·] = (Aᵀ·M_t·A)[i][j]` for every tile of the chunk.
#[inline(always)]
fn output_transform<F: Float>(
    geo: &Geometry,
    m: &[F],
    t_len: usize,
    pixels: &mut [F],
    tmp: &mut [F],
) {
    let (tiles, out) = (Tiles::of(geo), geo.out);
    let cols = 2 * tiles.tw;
    for t in 0..t_len {
        let (e, ty, tx) = tile(&tiles, t);
        // z[i][b] = (Aᵀ·M[(·, b)])[i], at (i·4 + b)·out.
        for bc in 0..4 {
            let mt = |a: usize| &m[((a * 4 + bc) * t_len + t) * out..][..out];
            let dst = slices_mut::<F, 2>(tmp, bc * out, 4 * out, out);
            lanes([mt(0), mt(1), mt(2), mt(3)], dst, false, at);
        }
        // Y[i][j] = (Aᵀ·z[i][·])[j].
        for i in 0..2 {
            let zt = |bc: usize| &tmp[(i * 4 + bc) * out..][..out];
            let (z0, z1, z2, z3) = (zt(0), zt(1), zt(2), zt(3));
            let start = ((e * 2 * tiles.th + 2 * ty + i) * cols + 2 * tx) * out;
            lanes(
                [z0, z1, z2, z3],
                slices_mut::<F, 2>(pixels, start, out, out),
                false,
                at,
            );
        }
    }
}

/// `∂M_t = A·∂Y_t·Aᵀ` for every tile of the chunk, from the staged output gradient
/// `pixels` `[n, 2·th, 2·tw, out]` (see [`stage_output_gradient`]), into `dm` `[16, T, out]`.
#[inline(always)]
fn output_adjoint<F: Float>(
    geo: &Geometry,
    pixels: &[F],
    t_len: usize,
    dm: &mut [F],
    tmp: &mut [F],
) {
    let (tiles, out) = (Tiles::of(geo), geo.out);
    let cols = 2 * tiles.tw;
    for t in 0..t_len {
        let (e, ty, tx) = tile(&tiles, t);
        // ∂z[i][b] = (A·∂Y[i][·])[b], at (i·4 + b)·out.
        for i in 0..2 {
            let start = ((e * 2 * tiles.th + 2 * ty + i) * cols + 2 * tx) * out;
            let (g0, g1) = (&pixels[start..][..out], &pixels[start + out..][..out]);
            let dst = slices_mut::<F, 4>(tmp, i * 4 * out, out, out);
            lanes([g0, g1], dst, false, a);
        }
        // ∂M[(r, b)] = (A·∂z[·][b])[r].
        for bc in 0..4 {
            let zt = |i: usize| &tmp[(i * 4 + bc) * out..][..out];
            let dst = slices_mut::<F, 4>(dm, (bc * t_len + t) * out, 4 * t_len * out, out);
            lanes([zt(0), zt(1)], dst, false, a);
        }
    }
}

/// The forward pass of a convolution that [`applies`]: per chunk, the input transform, 16
/// products and the output transform. `scratch` holds `U` and every part's working memory.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<F: Float>(
    geo: &Geometry,
    batch: usize,
    x: &[F],
    w: &[F],
    bias: Option<&[F]>,
    y: &mut [F],
    scratch: &mut [F],
    threads: usize,
) {
    let (c, out, tiles) = (geo.c, geo.out, Tiles::of(geo));
    let (u, rest) = scratch.split_at_mut(kernels_len(geo));
    transform_kernels(geo, w, u);
    let u = &*u;
    let (chunk, inner) = (geo.chunk(batch), inner_threads(geo, batch, threads));
    let (x_len, y_len) = (c * geo.h * geo.w, out * geo.p());
    let mut parts = geo.parts_of(batch, rest, y, y_len, Default::default());
    for_rows(&mut parts, 1, threads, &|_, parts| {
        for part in parts.iter_mut().filter(|part| part.len > 0) {
            for (at, n) in chunks(part.len, chunk) {
                let xs = &x[(part.start + at) * x_len..][..n * x_len];
                let ys = &mut part.rows[at * y_len..][..n * y_len];
                let t_len = n * tiles.per_image();
                let bufs = buffers(geo, n, &mut *part.buffer);
                knit_simd::vectorized(|| {
                    stage(geo, xs, n, &mut *bufs.staged);
                    input_transform(geo, bufs.staged, t_len, &mut *bufs.v, &mut *bufs.tmp);
                });
                for xi in 0..POS {
                    let vx = matrix(&bufs.v[xi * t_len * c..], t_len, c);
                    let ux = matrix(&u[xi * c * out..], c, out);
                    let mut mx = matrix_mut(&mut bufs.m[xi * t_len * out..], t_len, out);
                    matmul_into(&mut mx, &vx, &ux, false, inner);
                }
                knit_simd::vectorized(|| {
                    output_transform(geo, bufs.m, t_len, &mut *bufs.pixels, &mut *bufs.tmp)
                });
                unstage_output(geo, bufs.pixels, bias, ys);
            }
        }
    });
}

/// `U`, every part's `∂U` and every part's working memory, from a backward workspace.
fn split_workspace<'a, F>(
    geo: &Geometry,
    batch: usize,
    workspace: &'a mut [F],
) -> (&'a mut [F], &'a mut [F], &'a mut [F]) {
    let k_len = kernels_len(geo);
    let (u, rest) = workspace.split_at_mut(k_len);
    let (dus, buffers) = rest.split_at_mut(geo.parts(batch) * k_len);
    (u, dus, buffers)
}

/// The weight gradient of a convolution that [`applies`]: `∂W (+)= Gᵀ·∂U·G` (overwritten
/// when `fresh`), with `∂U⁽ⁱ⁾_ξ = Σ V_ξᵀ·∂M_ξ` over part `i`'s chunks and `∂U = ∂U⁽⁰⁾ + ∂U⁽¹⁾
/// + …` in part order.
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_gradient<F: Float>(
    geo: &Geometry,
    batch: usize,
    x: &[F],
    dy: &[F],
    dw: &mut [F],
    fresh: bool,
    workspace: &mut [F],
    threads: usize,
) {
    let (c, out, tiles, k_len) = (geo.c, geo.out, Tiles::of(geo), kernels_len(geo));
    let (_, dus, buffers_all) = split_workspace(geo, batch, workspace);
    let (chunk, inner) = (geo.chunk(batch), inner_threads(geo, batch, threads));
    let (x_len, y_len) = (c * geo.h * geo.w, out * geo.p());
    let mut parts = geo.parts_of(batch, buffers_all, &mut [], 0, Default::default());
    for (part, du) in parts.iter_mut().zip(dus.chunks_exact_mut(k_len)) {
        part.dw = du;
    }
    for_rows(&mut parts, 1, threads, &|_, parts| {
        for part in parts.iter_mut().filter(|part| part.len > 0) {
            for (at, n) in chunks(part.len, chunk) {
                let start = part.start + at;
                let xs = &x[start * x_len..][..n * x_len];
                let dys = &dy[start * y_len..][..n * y_len];
                let t_len = n * tiles.per_image();
                let bufs = buffers(geo, n, &mut *part.buffer);
                stage_output_gradient(geo, dys, &mut *bufs.pixels);
                knit_simd::vectorized(|| {
                    stage(geo, xs, n, &mut *bufs.staged);
                    input_transform(geo, bufs.staged, t_len, &mut *bufs.v, &mut *bufs.tmp);
                    output_adjoint(geo, bufs.pixels, t_len, &mut *bufs.m, &mut *bufs.tmp);
                });
                for xi in 0..POS {
                    let vx = matrix(&bufs.v[xi * t_len * c..], t_len, c);
                    let dmx = matrix(&bufs.m[xi * t_len * out..], t_len, out);
                    let mut dux = matrix_mut(&mut part.dw[xi * c * out..], c, out);
                    matmul_into(&mut dux, &vx.t(), &dmx, at > 0, inner);
                }
            }
        }
    });
    let (total, partials) = dus.split_at_mut(k_len.min(dus.len()));
    for partial in partials.chunks_exact(k_len) {
        total.iter_mut().zip(partial).for_each(|(d, &v)| *d += v);
    }
    if batch == 0 {
        if fresh {
            dw.fill(F::zero());
        }
        return;
    }
    kernel_gradient(geo, total, dw, !fresh);
}

/// The input gradient of a convolution that [`applies`]: `∂V_ξ = ∂M_ξ·U_ξᵀ` per chunk, and
/// `∂x (+)= ` the staged `B·∂V·Bᵀ` (overwritten when `fresh`), each part into its own
/// examples.
#[allow(clippy::too_many_arguments)]
pub(super) fn input_gradient<F: Float>(
    geo: &Geometry,
    batch: usize,
    w: &[F],
    dy: &[F],
    dx: &mut [F],
    fresh: bool,
    workspace: &mut [F],
    threads: usize,
) {
    let (c, out, tiles) = (geo.c, geo.out, Tiles::of(geo));
    let (u, _, buffers_all) = split_workspace(geo, batch, workspace);
    transform_kernels(geo, w, u);
    let u = &*u;
    let (chunk, inner) = (geo.chunk(batch), inner_threads(geo, batch, threads));
    let (x_len, y_len) = (c * geo.h * geo.w, out * geo.p());
    let mut parts = geo.parts_of(batch, buffers_all, dx, x_len, Default::default());
    for_rows(&mut parts, 1, threads, &|_, parts| {
        for part in parts.iter_mut().filter(|part| part.len > 0) {
            if fresh {
                part.rows.fill(F::zero());
            }
            for (at, n) in chunks(part.len, chunk) {
                let dys = &dy[(part.start + at) * y_len..][..n * y_len];
                let dxs = &mut part.rows[at * x_len..][..n * x_len];
                let t_len = n * tiles.per_image();
                let bufs = buffers(geo, n, &mut *part.buffer);
                stage_output_gradient(geo, dys, &mut *bufs.pixels);
                knit_simd::vectorized(|| {
                    output_adjoint(geo, bufs.pixels, t_len, &mut *bufs.m, &mut *bufs.tmp)
                });
                for xi in 0..POS {
                    let dmx = matrix(&bufs.m[xi * t_len * out..], t_len, out);
                    let ux = matrix(&u[xi * c * out..], c, out);
                    let mut dvx = matrix_mut(&mut bufs.v[xi * t_len * c..], t_len, c);
                    matmul_into(&mut dvx, &dmx, &ux.t(), false, inner);
                }
                knit_simd::vectorized(|| {
                    input_adjoint(geo, bufs.v, t_len, &mut *bufs.staged, &mut *bufs.tmp);
                    unstage(geo, bufs.staged, n, dxs);
                });
            }
        }
    });
}
