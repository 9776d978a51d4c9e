//! Convolution and pooling against PyTorch's definitions: direct nested-loop references
//! written here (the values, in `f32` and `f64`), fourth-order finite differences (every
//! gradient), the shape errors by their text, and the same bits with one and two threads.
//!
//! Max pooling has a kink wherever two window elements tie; its inputs are a shuffled
//! ladder of distinct values 0.05 apart, far beyond the 2e-4 reach of the stencil.

mod common;

use common::*;
use knit_tensor::ops::{AvgPool2d, Conv2d, GlobalAvgPool, MaxPool2d};
use knit_tensor::{gradcheck, Executor, Float, GradCheckConfig, Graph, Mode, NodeId, Op, Shape};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// References: PyTorch's formulas as nested loops.
// ---------------------------------------------------------------------------------------

/// PyTorch's output length along one axis.
fn out_len(len: usize, k: usize, pad: usize, dil: usize, stride: usize) -> usize {
    (len + 2 * pad - dil * (k - 1) - 1) / stride + 1
}

/// The input index read at output position `o`, tap `t`, or `None` in the padding.
fn tap(o: usize, t: usize, stride: usize, dil: usize, pad: usize, len: usize) -> Option<usize> {
    let v = (o * stride + t * dil) as isize - pad as isize;
    (0..len as isize).contains(&v).then_some(v as usize)
}

/// The direct 7-loop convolution (batch, out channel, two output axes, in channel, two
/// kernel axes), with groups and zero padding.
fn reference_conv(
    x: &ArrayD<f64>,
    w: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
    conv: &Conv2d,
) -> ArrayD<f64> {
    let (b, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (out, cg, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
    let (s, p, d) = (conv.stride, conv.padding, conv.dilation);
    let oh = out_len(h, kh, p[0], d[0], s[0]);
    let ow = out_len(wd, kw, p[1], d[1], s[1]);
    let og = out / conv.groups;
    assert_eq!(cg * conv.groups, c);
    let mut y = ArrayD::zeros(IxDyn(&[b, out, oh, ow]));
    for n in 0..b {
        for o in 0..out {
            let group = o / og;
            for py in 0..oh {
                for px in 0..ow {
                    let mut acc = bias.map_or(0.0, |b| b[[o]]);
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let (Some(iy), Some(ix)) = (
                                    tap(py, i, s[0], d[0], p[0], h),
                                    tap(px, j, s[1], d[1], p[1], wd),
                                ) else {
                                    continue;
                                };
                                acc += w[[o, ci, i, j]] * x[[n, group * cg + ci, iy, ix]];
                            }
                        }
                    }
                    y[[n, o, py, px]] = acc;
                }
            }
        }
    }
    y
}

/// Max (`max = true`, padding −∞) or average (padding 0, counted) pooling by nested loops.
fn reference_pool(
    x: &ArrayD<f64>,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    max: bool,
) -> ArrayD<f64> {
    let (b, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (oh, ow) = (
        out_len(h, k[0], p[0], 1, s[0]),
        out_len(w, k[1], p[1], 1, s[1]),
    );
    let mut y = ArrayD::zeros(IxDyn(&[b, c, oh, ow]));
    for n in 0..b {
        for ch in 0..c {
            for py in 0..oh {
                for px in 0..ow {
                    let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                    for i in 0..k[0] {
                        for j in 0..k[1] {
                            let v = match (
                                tap(py, i, s[0], 1, p[0], h),
                                tap(px, j, s[1], 1, p[1], w),
                            ) {
                                (Some(iy), Some(ix)) => x[[n, ch, iy, ix]],
                                _ if max => f64::NEG_INFINITY,
                                _ => 0.0,
                            };
                            acc = if max { acc.max(v) } else { acc + v };
                        }
                    }
                    y[[n, ch, py, px]] = if max { acc } else { acc / (k[0] * k[1]) as f64 };
                }
            }
        }
    }
    y
}

/// A deterministic array with values in [-scale/2, scale/2) (a linear congruential stream).
fn filled(dims: &[usize], scale: f64, seed: u32) -> ArrayD<f64> {
    let mut k = seed;
    ArrayD::from_shape_simple_fn(IxDyn(dims), || {
        k = k.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (f64::from(k >> 8) / f64::from(1u32 << 24) - 0.5) * scale
    })
}

/// Values rounded to `f32` and back, as parameters are stored.
fn rounded(a: &ArrayD<f64>) -> ArrayD<f64> {
    a.mapv(|v| f64::from(v as f32))
}

// ---------------------------------------------------------------------------------------
// Graphs.
// ---------------------------------------------------------------------------------------

/// `y = conv(x)` named `c`, with the weight (and bias) as parameters `c.weight`, `c.bias`.
fn conv_graph(
    x_dims: &[usize],
    w: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
    conv: Conv2d,
) -> (Graph, NodeId, NodeId) {
    let mut g = Graph::new();
    let x = g.input("x", &x_dims[1..]).unwrap();
    let y = g.conv2d("c", x, f32s(w), bias.map(f32s), conv).unwrap();
    (g, x, y)
}

/// Runs `y` forward in float type `F` and returns its value in `f64`.
fn forward<F: Float>(g: &Graph, y: NodeId, x: &ArrayD<f64>) -> ArrayD<f64> {
    let mut exec = Executor::<F>::new(g);
    let xf = x.mapv(F::lit);
    exec.set_input(g.id("x").unwrap(), xf.view()).unwrap();
    exec.run(y, Mode::Train).unwrap();
    exec.value(y).unwrap().mapv(|v| v.as_f64())
}

/// Asserts `got ≈ want` elementwise within `tol · (1 + |want|)`.
fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}: element {i}: got {a}, want {b}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// (a) Gradients against finite differences.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ConvCase {
    dims: [usize; 4],
    kernel: [usize; 2],
    out: usize,
    conv: Conv2d,
    bias: bool,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (1usize..3, 1usize..3, 1usize..3, 1usize..3),
        ([1usize..4, 1usize..4], [1usize..3, 1usize..3]),
        ([0usize..2, 0usize..2], [1usize..3, 1usize..3]),
        ([0usize..4, 0usize..4], any::<bool>()),
    )
        .prop_map(
            |((b, groups, cg, og), (kernel, stride), (padding, dilation), (extra, bias))| {
                let side = |a: usize| {
                    let span = dilation[a] * (kernel[a] - 1) + 1;
                    span.saturating_sub(2 * padding[a]).max(1) + extra[a]
                };
                ConvCase {
                    dims: [b, groups * cg, side(0), side(1)],
                    kernel,
                    out: groups * og,
                    conv: Conv2d {
                        stride,
                        padding,
                        dilation,
                        groups,
                    },
                    bias,
                }
            },
        )
}

/// A conv case with its input, weight, bias and output weighting.
#[allow(clippy::type_complexity)]
fn conv_case_with_values(
) -> impl Strategy<Value = (ConvCase, ArrayD<f64>, ArrayD<f64>, ArrayD<f64>, ArrayD<f64>)> {
    conv_case().prop_flat_map(|c| {
        let [b, ch, h, w] = c.dims;
        let (s, p, d) = (c.conv.stride, c.conv.padding, c.conv.dilation);
        let oh = out_len(h, c.kernel[0], p[0], d[0], s[0]);
        let ow = out_len(w, c.kernel[1], p[1], d[1], s[1]);
        let cg = ch / c.conv.groups;
        (
            Just(c.clone()),
            values(vec![b, ch, h, w]),
            values(vec![c.out, cg, c.kernel[0], c.kernel[1]]),
            values(vec![c.out]),
            values(vec![b, c.out, oh, ow]),
        )
    })
}

/// `k` distinct values 0.05 apart around 0, shuffled, shaped `dims`.
fn distinct(dims: Vec<usize>) -> impl Strategy<Value = ArrayD<f64>> {
    let n: usize = dims.iter().product();
    Just((0..n).collect::<Vec<_>>())
        .prop_shuffle()
        .prop_map(move |v| {
            let vals = v
                .iter()
                .map(|&i| (i as f64 - n as f64 / 2.0) * 0.05)
                .collect();
            ArrayD::from_shape_vec(IxDyn(&dims), vals).expect("sized")
        })
}

/// Pooling windows: kernel 1..=3, stride 1..=kernel (overlapping when smaller), padding
/// up to half the kernel; with input dims `[B, C, H, W]` that fit.
fn pool_case() -> impl Strategy<Value = ([usize; 2], [usize; 2], [usize; 2], [usize; 4])> {
    (
        [1usize..4, 1usize..4],
        1usize..3,
        1usize..3,
        [0usize..3, 0usize..3],
    )
        .prop_flat_map(|(k, b, c, extra)| {
            (
                Just(k),
                [1..=k[0], 1..=k[1]],
                [0..=k[0] / 2, 0..=k[1] / 2],
                Just((b, c, extra)),
            )
        })
        .prop_map(|(k, s, p, (b, c, extra))| {
            let side = |a: usize| k[a].saturating_sub(2 * p[a]).max(1) + extra[a];
            (k, s, p, [b, c, side(0), side(1)])
        })
}

/// Gradient check of `Σ r ⊙ op(x)` with respect to `x`.
fn check_pool(op: impl Op + 'static, x: &ArrayD<f64>, seed: u32) -> Result<(), TestCaseError> {
    let mut g = Graph::new();
    let xi = g.input("x", &x.shape()[1..]).unwrap();
    let y = g.op(None, op, &[xi]).unwrap();
    let mut r_dims = vec![x.shape()[0]];
    r_dims.extend(&g.node(y).unwrap().shape.dims);
    let r = filled(&r_dims, 4.0, seed);
    let loss = weighted_sum(&mut g, y);
    check(&g, loss, &[("x", x), ("r", &r)], &[xi], Mode::Train)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn conv2d_gradients_match_finite_differences((c, x, w, b, r) in conv_case_with_values()) {
        let (mut g, xi, y) = conv_graph(x.shape(), &w, c.bias.then_some(&b), c.conv);
        let loss = weighted_sum(&mut g, y);
        let mut wrt = vec![xi, g.id("c.weight").unwrap()];
        if c.bias { wrt.push(g.id("c.bias").unwrap()); }
        check(&g, loss, &[("x", &x), ("r", &r)], &wrt, Mode::Train)?;
    }

    #[test]
    fn conv2d_forward_matches_the_direct_loops((c, x, w, b, _r) in conv_case_with_values()) {
        let bias = c.bias.then(|| rounded(&b));
        let (g, _, y) = conv_graph(x.shape(), &w, bias.as_ref(), c.conv);
        let want = reference_conv(&x, &rounded(&w), bias.as_ref(), &c.conv);
        assert_close(&forward::<f64>(&g, y, &x), &want, 1e-12, "f64");
        assert_close(&forward::<f32>(&g, y, &x), &want, 1e-4, "f32");
    }

    #[test]
    fn max_pool_gradients_match_finite_differences(
        (k, s, p, x) in pool_case().prop_flat_map(|(k, s, p, d)| (Just(k), Just(s), Just(p), distinct(d.to_vec())))
    ) {
        let want = reference_pool(&x, k, s, p, true);
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let y = g.max_pool(xi, MaxPool2d::new(k, s, p).unwrap()).unwrap();
        assert_close(&forward::<f64>(&g, y, &x), &want, 0.0, "max pool");
        check_pool(MaxPool2d { kernel: k, stride: s, padding: p }, &x, 3)?;
    }

    /// The `f32` path (16 windows a step on AVX-512 for strides 1 and 2) against the `f64`
    /// one on rows wider than a vector, with many ties (small integers) and some NaNs: the
    /// same maxima, and the gradient reaches the same pixel (the first maximum, or the last
    /// NaN, in the window's row-major order).
    #[test]
    fn max_pool_in_f32_picks_the_pixels_f64_picks(
        (k, s, p, x, r_seed) in (pool_case(), 14usize..40, 0u32..1000).prop_flat_map(|((k, s, p, d), w, seed)| {
            let dims = vec![d[0], d[1], d[2], w];
            let cells: usize = dims.iter().product();
            (Just(k), Just(s), Just(p), prop::collection::vec(prop_oneof![8 => (-3i8..4).prop_map(f64::from), 1 => Just(f64::NAN)], cells)
                .prop_map(move |v| ArrayD::from_shape_vec(IxDyn(&dims), v).unwrap()), Just(seed))
        })
    ) {
        same_picks_in_f32_and_f64(&x, MaxPool2d::new(k, s, p).unwrap(), false, r_seed)?;
    }

    /// The same for the 2×2, stride-2 window, which has its own `f32` path on AVX-512
    /// or AVX2
    /// (`max_pool2`; the `f64` one is the general path), on even and odd sides, with the
    /// input gradient written fresh by one pooling or added to by a second.
    #[test]
    fn max_pool_2x2_in_f32_picks_the_pixels_f64_picks(
        (x, twice, r_seed) in ([1usize..3, 1usize..3, 2usize..9, 2usize..40], any::<bool>(), 0u32..1000).prop_flat_map(|(d, twice, seed)| {
            let cells: usize = d.iter().product();
            (prop::collection::vec(prop_oneof![8 => (-3i8..4).prop_map(f64::from), 1 => Just(f64::NAN)], cells)
                .prop_map(move |v| ArrayD::from_shape_vec(IxDyn(&d), v).unwrap()), Just(twice), Just(seed))
        })
    ) {
        same_picks_in_f32_and_f64(&x, MaxPool2d::with_kernel([2, 2]), twice, r_seed)?;
    }

    #[test]
    fn avg_pool_gradients_match_finite_differences(
        (k, s, p, x) in pool_case().prop_flat_map(|(k, s, p, d)| (Just(k), Just(s), Just(p), values(d.to_vec())))
    ) {
        let want = reference_pool(&x, k, s, p, false);
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let y = g.avg_pool(xi, AvgPool2d::new(k, s, p).unwrap()).unwrap();
        assert_close(&forward::<f64>(&g, y, &x), &want, 1e-12, "avg pool");
        check_pool(AvgPool2d { kernel: k, stride: s, padding: p }, &x, 5)?;
    }

    #[test]
    fn global_avg_pool_gradients_match_finite_differences(
        x in (1usize..3, 1usize..4, 1usize..5, 1usize..5).prop_flat_map(|(b, c, h, w)| values(vec![b, c, h, w]))
    ) {
        let mut g = Graph::new();
        let xi = g.input("x", &x.shape()[1..]).unwrap();
        let y = g.global_avg_pool(xi).unwrap();
        let want = reference_pool(&x, [x.shape()[2], x.shape()[3]], [1, 1], [0, 0], false)
            .into_shape_with_order(IxDyn(&x.shape()[..2])).unwrap();
        assert_close(&forward::<f64>(&g, y, &x), &want, 1e-12, "global avg pool");
        check_pool(GlobalAvgPool, &x, 7)?;
    }
}

// ---------------------------------------------------------------------------------------
// (b) Fixed cases: by hand and against the direct loops, in f32 and f64.
// ---------------------------------------------------------------------------------------

/// [`check`] with a step of 0.01 for a loss that is linear in each checked node, like
/// `Σ r ⊙ conv(x)`: finite differences are then exact whatever the step, and a large one
/// keeps the forward pass's rounding out of the difference quotient. Winograd's transforms
/// round more than a direct sum (their intermediate values are sums of up to 16 inputs), so
/// with the default step of 1e-4 that rounding, about 1e-13 on the loss, became 1e-9 on the
/// quotient, the checker's absolute tolerance.
fn check_bilinear(
    g: &Graph,
    loss: NodeId,
    feeds: &[(&str, &ArrayD<f64>)],
    wrt: &[NodeId],
) -> Result<(), TestCaseError> {
    let mut exec = Executor::<f64>::new(g);
    for (name, value) in feeds {
        exec.set_input(g.id(name).unwrap(), value.view()).unwrap();
    }
    let config = GradCheckConfig {
        step: 1e-2,
        ..GradCheckConfig::default()
    };
    let report = gradcheck(&mut exec, loss, wrt, &config).unwrap();
    prop_assert!(report.passed(), "\n{}", report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// 3 × 3, stride-1 convolutions of at least 8 channels in and out, which take the
    /// Winograd path (F(2×2, 3×3)): every padding from 0 to 2, even and odd output sides
    /// (a tile past the edge), one to three examples, with and without bias; the forward
    /// pass against the direct loops in `f64` and `f32`, the gradients against finite
    /// differences.
    #[test]
    fn winograd_convolutions_match_the_direct_loops_and_finite_differences(
        (c, x, w, b, r) in ((1usize..3, 8usize..10, 8usize..10, 0usize..3), (1usize..5, 1usize..5, any::<bool>()))
            .prop_map(|((batch, ch, out, pad), (eh, ew, bias))| ConvCase {
                dims: [batch, ch, (3 - 2 * pad.min(1)).max(1) + eh - 1, (3 - 2 * pad.min(1)).max(1) + ew - 1],
                kernel: [3, 3],
                out,
                conv: Conv2d { stride: [1, 1], padding: [pad, pad], dilation: [1, 1], groups: 1 },
                bias,
            })
            .prop_flat_map(|c| {
                let [batch, ch, h, w] = c.dims;
                let p = c.conv.padding[0];
                let (oh, ow) = (out_len(h, 3, p, 1, 1), out_len(w, 3, p, 1, 1));
                (Just(c.clone()), values(vec![batch, ch, h, w]), values(vec![c.out, ch, 3, 3]),
                 values(vec![c.out]), values(vec![batch, c.out, oh, ow]))
            })
    ) {
        let bias = c.bias.then(|| rounded(&b));
        let (g, _, y) = conv_graph(x.shape(), &w, bias.as_ref(), c.conv);
        let want = reference_conv(&x, &rounded(&w), bias.as_ref(), &c.conv);
        assert_close(&forward::<f64>(&g, y, &x), &want, 1e-12, "f64");
        assert_close(&forward::<f32>(&g, y, &x), &want, 1e-4, "f32");
        let (mut g, xi, y) = conv_graph(x.shape(), &w, c.bias.then_some(&b), c.conv);
        let loss = weighted_sum(&mut g, y);
        let mut wrt = vec![xi, g.id("c.weight").unwrap()];
        if c.bias { wrt.push(g.id("c.bias").unwrap()); }
        check_bilinear(&g, loss, &[("x", &x), ("r", &r)], &wrt)?;
    }

}

#[test]
fn a_2x2_kernel_of_ones_sums_each_window_by_hand() {
    // x = 1..9 as a 3×3 image; every 2×2 window sum, plus a bias of 0.5.
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 1, 3, 3]), (1..=9).map(f64::from).collect()).unwrap();
    let w = ArrayD::from_elem(IxDyn(&[1, 1, 2, 2]), 1.0);
    let b = ArrayD::from_elem(IxDyn(&[1]), 0.5);
    let (g, _, y) = conv_graph(&[1, 1, 3, 3], &w, Some(&b), Conv2d::default());
    let want = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![12.5, 16.5, 24.5, 28.5]).unwrap();
    assert_eq!(forward::<f64>(&g, y, &x), want);
    assert_eq!(forward::<f32>(&g, y, &x), want);

    // Cross-correlation, not convolution: a kernel [[1, 0], [0, 0]] picks the top-left pixel.
    let mut w = ArrayD::zeros(IxDyn(&[1, 1, 2, 2]));
    w[[0, 0, 0, 0]] = 1.0;
    let (g, _, y) = conv_graph(&[1, 1, 3, 3], &w, None, Conv2d::default());
    let want = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![1.0, 2.0, 4.0, 5.0]).unwrap();
    assert_eq!(forward::<f64>(&g, y, &x), want);

    // Padding 1, stride 2 with a 3×3 kernel of ones: sums over the 4 corner neighbourhoods.
    let w = ArrayD::from_elem(IxDyn(&[1, 1, 3, 3]), 1.0);
    let conv = Conv2d::new([2, 2], [1, 1], [1, 1], 1).unwrap();
    let (g, _, y) = conv_graph(&[1, 1, 3, 3], &w, None, conv);
    let want = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![12.0, 16.0, 24.0, 28.0]).unwrap();
    assert_eq!(forward::<f64>(&g, y, &x), want);
}

#[test]
fn fixed_convolutions_match_the_direct_loops_in_f32_and_f64() {
    // (x dims, out, kernel, stride, padding, dilation, groups, bias)
    #[allow(clippy::type_complexity)]
    let cases: &[(
        [usize; 4],
        usize,
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        usize,
        bool,
    )] = &[
        ([2, 3, 7, 6], 4, [3, 3], [1, 1], [1, 1], [1, 1], 1, true),
        ([1, 4, 9, 9], 6, [3, 2], [2, 1], [0, 1], [1, 2], 2, false),
        ([3, 2, 5, 8], 2, [1, 1], [1, 1], [0, 0], [1, 1], 1, true),
        ([2, 6, 6, 6], 6, [3, 3], [1, 1], [1, 1], [1, 1], 6, true),
        ([2, 4, 5, 5], 4, [1, 1], [2, 2], [1, 1], [1, 1], 2, false),
        ([1, 3, 11, 10], 5, [5, 3], [3, 2], [2, 0], [2, 3], 1, true),
        ([4, 8, 8, 8], 16, [3, 3], [1, 1], [1, 1], [1, 1], 4, true),
    ];
    for (seed, &(dims, out, kernel, stride, padding, dilation, groups, bias)) in
        cases.iter().enumerate()
    {
        let conv = Conv2d::new(stride, padding, dilation, groups).unwrap();
        let seed = seed as u32;
        let x = filled(&dims, 4.0, seed);
        let w = rounded(&filled(
            &[out, dims[1] / groups, kernel[0], kernel[1]],
            2.0,
            seed + 50,
        ));
        let b = bias.then(|| rounded(&filled(&[out], 2.0, seed + 100)));
        let (g, _, y) = conv_graph(&dims, &w, b.as_ref(), conv);
        let want = reference_conv(&x, &w, b.as_ref(), &conv);
        let what = format!("{dims:?} {conv:?}");
        assert_close(&forward::<f64>(&g, y, &x), &want, 1e-12, &what);
        assert_close(&forward::<f32>(&g, y, &x), &want, 2e-5, &what);
    }
}

/// Every small geometry along each axis (side 1..=5, kernel 1..=3, stride 1..=3, padding
/// 0..=2, dilation 1..=3, including taps that only ever read padding), paired with a
/// different one for the other axis: the forward pass matches the direct loops, and the
/// gradients are the adjoints of the linear maps `x ↦ conv(x)` and `W ↦ conv(x)`:
/// `⟨∂x, x′⟩ = ⟨r, conv(x′)⟩` and `⟨∂W, W′⟩ = ⟨r, conv_W′(x)⟩` for any `x′`, `W′`.
#[test]
fn every_small_geometry_matches_the_direct_loops_and_its_adjoint() {
    // The geometries whose dilated kernel fits the padded side.
    let axes: Vec<_> = axis_geometries()
        .filter(|&(len, k, _, p, d)| len + 2 * p > d * (k - 1))
        .collect();
    let dot = |a: &ArrayD<f64>, b: &ArrayD<f64>| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    for (n, &(h, kh, sh, ph, dh)) in axes.iter().enumerate() {
        let (w, kw, sw, pw, dw) = axes[(n * 7 + 3) % axes.len()];
        let conv = Conv2d::new([sh, sw], [ph, pw], [dh, dw], 1).unwrap();
        let seed = n as u32;
        let (x, x2) = (
            filled(&[2, 2, h, w], 2.0, seed),
            filled(&[2, 2, h, w], 2.0, seed + 1),
        );
        let wt = rounded(&filled(&[3, 2, kh, kw], 2.0, seed + 2));
        let wt2 = rounded(&filled(&[3, 2, kh, kw], 2.0, seed + 3));
        let want = reference_conv(&x, &wt, None, &conv);
        let r = filled(want.shape(), 2.0, seed + 4);
        let (mut g, xi, y) = conv_graph(&[2, 2, h, w], &wt, None, conv);
        let loss = weighted_sum(&mut g, y);
        let mut exec = Executor::<f64>::new(&g);
        exec.require_grad(xi).unwrap();
        exec.set_input(xi, x.view()).unwrap();
        exec.set_input(g.id("r").unwrap(), r.view()).unwrap();
        exec.require_grad(g.id("x").unwrap()).unwrap();
        exec.run(loss, Mode::Train).unwrap();
        exec.backward(loss).unwrap();
        let what = format!("{:?} {conv:?}", (h, w, kh, kw));
        assert_close(&exec.value(y).unwrap().to_owned(), &want, 1e-12, &what);
        let dx = exec.grad(xi).unwrap().to_owned();
        let dwt = exec.grad_by_name("c.weight").unwrap().to_owned();
        let via_x = dot(&r, &reference_conv(&x2, &wt, None, &conv));
        let via_w = dot(&r, &reference_conv(&x, &wt2, None, &conv));
        assert!(
            (dot(&dx, &x2) - via_x).abs() < 1e-9 * (1.0 + via_x.abs()),
            "∂x {what}"
        );
        assert!(
            (dot(&dwt, &wt2) - via_w).abs() < 1e-9 * (1.0 + via_w.abs()),
            "∂W {what}"
        );
    }
}

/// All `(side, kernel, stride, padding, dilation)` in `1..=5 × 1..=3 × 1..=3 × 0..=2 × 1..=3`.
fn axis_geometries() -> impl Iterator<Item = (usize, usize, usize, usize, usize)> {
    (1..=5).flat_map(|len| {
        (1..=3).flat_map(move |k| {
            (1..=3).flat_map(move |s| {
                (0..=2).flat_map(move |p| (1..=3).map(move |d| (len, k, s, p, d)))
            })
        })
    })
}

#[test]
fn pooling_by_hand() {
    #[rustfmt::skip]
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 1, 4, 4]), vec![
        1.0, 2.0, 3.0, 4.0,
        5.0, 6.0, 7.0, 8.0,
        9.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, -1.0,
    ]).unwrap();
    let run = |op: &dyn Fn(&mut Graph, NodeId) -> NodeId| {
        let mut g = Graph::new();
        let xi = g.input("x", &[1, 4, 4]).unwrap();
        let y = op(&mut g, xi);
        (
            forward::<f64>(&g, y, &x)
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            forward::<f32>(&g, y, &x)
                .iter()
                .copied()
                .collect::<Vec<_>>(),
        )
    };
    let (max, max32) = run(&|g, x| g.max_pool(x, MaxPool2d::with_kernel([2, 2])).unwrap());
    assert_eq!(max, [6.0, 8.0, 9.0, 1.0]);
    assert_eq!(max32, max);
    // Padding 1 with a 3×3 window, stride 2: the padding is −∞, never the maximum here
    // even where every real pixel is negative.
    let (max, _) = run(&|g, x| {
        g.max_pool(x, MaxPool2d::new([3, 3], [2, 2], [1, 1]).unwrap())
            .unwrap()
    });
    assert_eq!(max, [6.0, 8.0, 9.0, 8.0]);
    let (avg, avg32) = run(&|g, x| g.avg_pool(x, AvgPool2d::with_kernel([2, 2])).unwrap());
    assert_eq!(avg, [3.5, 5.5, 3.0, 0.5]);
    assert_eq!(avg32, avg);
    // count_include_pad: the corner window [pad, pad; pad, 1] averages to 1/4.
    let (avg, _) = run(&|g, x| {
        g.avg_pool(x, AvgPool2d::new([2, 2], [2, 2], [1, 1]).unwrap())
            .unwrap()
    });
    assert_eq!(avg, [0.25, 1.25, 1.0, 3.5, 3.75, 2.25, 0.25, 0.5, -0.25]);
    let (mean, _) = run(&|g, x| g.global_avg_pool(x).unwrap());
    assert_eq!(mean, [50.0 / 16.0]);

    let mut negative = -x.clone();
    negative[[0, 0, 3, 3]] = -100.0;
    let mut g = Graph::new();
    let xi = g.input("x", &[1, 4, 4]).unwrap();
    let y = g
        .max_pool(xi, MaxPool2d::new([3, 3], [2, 2], [1, 1]).unwrap())
        .unwrap();
    let got: Vec<f64> = forward::<f64>(&g, y, &negative).iter().copied().collect();
    assert_eq!(got, [-1.0, -2.0, -1.0, -1.0]);
}

#[test]
fn a_tie_sends_the_gradient_to_the_first_maximum_in_row_major_order() {
    let x = ArrayD::from_elem(IxDyn(&[1, 1, 2, 3]), 1.0);
    let mut g = Graph::new();
    let xi = g.input("x", &[1, 2, 3]).unwrap();
    // Windows 2×2 at columns 0 and 1 (stride 1): both first maxima are (0, 0) and (0, 1).
    let y = g
        .max_pool(xi, MaxPool2d::new([2, 2], [1, 1], [0, 0]).unwrap())
        .unwrap();
    let loss = g.sum(y, None).unwrap();
    let mut exec = Executor::<f64>::new(&g);
    exec.require_grad(xi).unwrap();
    exec.set_input(xi, x.view()).unwrap();
    exec.run(loss, Mode::Train).unwrap();
    exec.backward(loss).unwrap();
    let grad: Vec<f64> = exec.grad(xi).unwrap().iter().copied().collect();
    assert_eq!(grad, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn flops_are_per_example_and_scratch_per_part_of_whole_chunks() {
    let conv = Conv2d::new([1, 1], [1, 1], [1, 1], 2).unwrap();
    let x = Shape::batched([4, 8, 8]);
    let w = Shape::fixed([6, 2, 3, 3]);
    let out = conv.output_shape(&[&x, &w]).unwrap();
    assert_eq!(out, Shape::batched([6, 8, 8]));
    assert_eq!(conv.flops_per_example(&[&x, &w], &out), 2 * 6 * 64 * 2 * 9);
    // Per part (up to 4 runs of whole chunks, computed in parallel): a chunk's patch matrix
    // [C/g·kh·kw, n·OH·OW] and one group's product [out/g, n·OH·OW], n examples making
    // about 512 columns (balanced over the batch): never the whole batch. The backward
    // pass adds a partial weight gradient [out, C/g·kh·kw] for every part but the first.
    for (batch, chunk, parts) in [(1, 1, 1), (20, 7, 3), (64, 8, 4), (1000, 8, 4)] {
        let dims = [&[batch, 4, 8, 8][..], &[6, 2, 3, 3][..]];
        let len = (18 + 3) * chunk * 64;
        assert_eq!(
            conv.scratch_len(&dims, &[batch, 6, 8, 8]),
            parts * len,
            "batch {batch}"
        );
        assert_eq!(
            conv.workspace_len(&dims, &[batch, 6, 8, 8]),
            parts * len + (parts - 1) * 6 * 18,
            "batch {batch}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// (c) Shape errors by their text.
// ---------------------------------------------------------------------------------------

fn conv_error(x: &[usize], w: &[usize], bias: Option<usize>, conv: Conv2d) -> String {
    let mut g = Graph::new();
    let xi = g.input("x", x).unwrap();
    let b = bias.map(|n| ArrayD::zeros(IxDyn(&[n])));
    g.conv2d("c1", xi, ArrayD::zeros(IxDyn(w)), b, conv)
        .unwrap_err()
        .to_string()
}

#[test]
fn conv_shape_errors_show_the_arithmetic() {
    assert_eq!(
        conv_error(&[1, 4, 4], &[2, 1, 5, 5], None, Conv2d::default()),
        "shape mismatch in conv2d 'c1' with inputs [B, 1, 4, 4] and [2, 1, 5, 5]: \
         a 5×5 kernel does not fit a 4×4 input with padding 0 (4 + 2·0 = 4 < 1·(5 − 1) + 1 = 5)"
    );
    let dilated = Conv2d::new([1, 1], [1, 0], [2, 2], 1).unwrap();
    assert_eq!(
        conv_error(&[1, 8, 4], &[2, 1, 3, 3], None, dilated),
        "shape mismatch in conv2d 'c1' with inputs [B, 1, 8, 4] and [2, 1, 3, 3]: \
         a 3×3 kernel with dilation 2 does not fit a 8×4 input with padding 1×0 \
         (4 + 2·0 = 4 < 2·(3 − 1) + 1 = 5)"
    );
    let grouped = Conv2d::new([1, 1], [0, 0], [1, 1], 2).unwrap();
    assert!(conv_error(&[3, 8, 8], &[4, 1, 3, 3], None, grouped)
        .ends_with("channels 3 not divisible by groups 2"));
    assert!(
        conv_error(&[4, 8, 8], &[4, 4, 3, 3], None, grouped).ends_with(
            "weight must be [out, C/groups, kh, kw] = [out, 2, kh, kw] with out divisible by \
         groups 2 and kh, kw ≥ 1, got [4, 4, 3, 3]"
        )
    );
    assert!(conv_error(&[4, 8, 8], &[3, 2, 3, 3], None, grouped).ends_with("got [3, 2, 3, 3]"));
    assert!(conv_error(&[3, 8, 8], &[4, 3, 3], None, Conv2d::default())
        .ends_with("weight must be [out, C/groups, kh, kw] = [out, 3, kh, kw], got [4, 3, 3]"));
    assert!(
        conv_error(&[3, 8, 8], &[4, 3, 3, 3], Some(3), Conv2d::default())
            .ends_with("the bias must have shape [4], got [3]")
    );
    assert!(conv_error(&[8, 8], &[4, 3, 3, 3], None, Conv2d::default())
        .ends_with("the input must be a batch of images [B, C, H, W], got [B, 8, 8]"));
    assert!(conv_error(&[3, 0, 8], &[4, 3, 3, 3], None, Conv2d::default()).ends_with(
        "convolution needs at least one channel and one pixel in and out, got [B, 3, 0, 8] and [4, 3, 3, 3]"
    ));
    let zero_stride = Conv2d {
        stride: [0, 1],
        ..Conv2d::default()
    };
    assert!(conv_error(&[3, 8, 8], &[4, 3, 3, 3], None, zero_stride)
        .ends_with("stride must be positive, got [0, 1]"));
    assert_eq!(
        Conv2d::new([1, 1], [0, 0], [1, 1], 0)
            .unwrap_err()
            .to_string(),
        knit_tensor::TensorError::InvalidHyperparameter {
            op: "conv2d".into(),
            message: "groups must be positive, got 0".into()
        }
        .to_string()
    );
}

#[test]
fn pool_shape_errors_show_the_arithmetic() {
    let mut g = Graph::new();
    let x = g.input("x", &[2, 3, 5]).unwrap();
    let err = g
        .max_pool(x, MaxPool2d::with_kernel([4, 4]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "shape mismatch in max_pool2d 'max_pool2d#1' with inputs [B, 2, 3, 5]: \
         a 4×4 window does not fit a 3×5 input with padding 0 (3 + 2·0 = 3 < 1·(4 − 1) + 1 = 4)"
    );
    let err = g
        .avg_pool(
            x,
            AvgPool2d {
                kernel: [3, 3],
                stride: [1, 1],
                padding: [2, 1],
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("padding 2×1 must be at most half the 3×3 kernel"),
        "{err}"
    );
    assert!(MaxPool2d::new([2, 2], [0, 1], [0, 0]).is_err());
    let empty = g.input("empty", &[2, 0, 3]).unwrap();
    let err = g.global_avg_pool(empty).unwrap_err().to_string();
    assert!(
        err.ends_with("cannot pool an empty image batch [B, 2, 0, 3]"),
        "{err}"
    );
    let err = g
        .max_pool(empty, MaxPool2d::new([2, 2], [1, 1], [1, 1]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("cannot pool an empty image batch [B, 2, 0, 3]"),
        "{err}"
    );
    let flat = g.input("flat", &[6]).unwrap();
    let err = g.global_avg_pool(flat).unwrap_err().to_string();
    assert!(
        err.ends_with("the input must be a batch of images [B, C, H, W], got [B, 6]"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// (d) The same bits with one and two threads.
// ---------------------------------------------------------------------------------------

/// A conv stack (with batch norm on the images) large enough that the matrix products
/// split over two threads.
fn threaded_graph() -> (Graph, NodeId) {
    let mut g = Graph::new();
    let x = g.input("x", &[16, 32, 32]).unwrap();
    let same = Conv2d::new([1, 1], [1, 1], [1, 1], 1).unwrap();
    let c1 = g
        .conv2d(
            "c1",
            x,
            f32s(&filled(&[32, 16, 3, 3], 0.3, 1)),
            Some(f32s(&filled(&[32], 0.2, 2))),
            same,
        )
        .unwrap();
    let c1 = g.batch_norm("bn", c1, Default::default()).unwrap();
    let c1 = g.relu(c1).unwrap();
    let pooled = g.max_pool(c1, MaxPool2d::with_kernel([2, 2])).unwrap();
    let grouped = Conv2d::new([1, 1], [0, 0], [1, 1], 2).unwrap();
    let c2 = g
        .conv2d(
            "c2",
            pooled,
            f32s(&filled(&[64, 16, 1, 1], 0.3, 3)),
            None,
            grouped,
        )
        .unwrap();
    let c2 = g
        .avg_pool(c2, AvgPool2d::new([3, 3], [2, 2], [1, 1]).unwrap())
        .unwrap();
    let c2 = g.global_avg_pool(c2).unwrap();
    let loss = weighted_sum(&mut g, c2);
    (g, loss)
}

#[test]
fn threads_give_the_same_bits() {
    let (g, loss) = threaded_graph();
    let x = filled(&[5, 16, 32, 32], 2.0, 9);
    let r = filled(&[5, 64], 2.0, 10);
    let run = |threads: usize| {
        knit_tensor::with_thread_pool(threads, || {
            let mut exec = Executor::<f32>::new(&g);
            exec.set_threads(threads);
            let xi = g.id("x").unwrap();
            exec.require_grad(xi).unwrap();
            exec.set_input(xi, f32s(&x).view()).unwrap();
            exec.set_input(g.id("r").unwrap(), f32s(&r).view()).unwrap();
            exec.run(loss, Mode::Train).unwrap();
            exec.backward(loss).unwrap();
            let mut grads: Vec<Vec<f32>> = exec
                .trainable_params()
                .map(|(_, _, _, g)| g.iter().copied().collect())
                .collect();
            grads.push(exec.grad(xi).unwrap().iter().copied().collect());
            (exec.scalar(loss).unwrap(), grads)
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(
            one.0.to_bits(),
            other.0.to_bits(),
            "loss, {threads} threads"
        );
        assert_eq!(one.1, other.1, "gradients, {threads} threads");
    }
}

/// Max pooling of `x` (or the sum of two poolings of it, `twice`) in `f32` and `f64`: the
/// same maxima bit for bit and the same input gradient for random small-integer weights.
fn same_picks_in_f32_and_f64(
    x: &ArrayD<f64>,
    pool: MaxPool2d,
    twice: bool,
    r_seed: u32,
) -> Result<(), TestCaseError> {
    let mut g = Graph::new();
    let xi = g.input("x", &x.shape()[1..]).unwrap();
    let mut y = g.max_pool(xi, pool).unwrap();
    if twice {
        let again = g.max_pool(xi, pool).unwrap();
        y = g.add(y, again).unwrap();
    }
    let loss = weighted_sum(&mut g, y);
    let mut r_dims = vec![x.shape()[0]];
    r_dims.extend(&g.node(y).unwrap().shape.dims);
    let r = filled(&r_dims, 8.0, r_seed).mapv(f64::round);
    fn run<F: Float>(
        g: &Graph,
        loss: NodeId,
        y: NodeId,
        x: &ArrayD<f64>,
        r: &ArrayD<f64>,
    ) -> (Vec<u64>, Vec<f64>) {
        let mut exec = Executor::<F>::new(g);
        let xi = g.id("x").unwrap();
        exec.require_grad(xi).unwrap();
        exec.set_input(xi, x.mapv(F::lit).view()).unwrap();
        exec.set_input(g.id("r").unwrap(), r.mapv(F::lit).view())
            .unwrap();
        // Twice: the second pass finds the first one's gradients in its buffers, which a
        // fresh gradient must overwrite everywhere.
        for _ in 0..2 {
            exec.run(loss, Mode::Train).unwrap();
            exec.backward(loss).unwrap();
        }
        let out = exec
            .value(y)
            .unwrap()
            .iter()
            .map(|v| v.as_f64().to_bits())
            .collect();
        (
            out,
            exec.grad(xi).unwrap().iter().map(|v| v.as_f64()).collect(),
        )
    }
    let (y32, g32) = run::<f32>(&g, loss, y, x, &r);
    let (y64, g64) = run::<f64>(&g, loss, y, x, &r);
    prop_assert_eq!(y32, y64);
    prop_assert_eq!(g32, g64);
    Ok(())
}
