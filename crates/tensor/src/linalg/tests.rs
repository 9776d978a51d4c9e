//! Products against a naive triple loop in `f64`, over shapes from empty to a few hundred,
//! every operand layout the ops produce (and stranger ones), both precisions, accumulation
//! on and off, one to three threads, and every kernel this CPU can run.

use super::*;
use ndarray::{array, s, Array2, ArrayView2, ArrayViewMut2};
use proptest::prelude::*;

#[test]
fn multiplies_and_accumulates_with_transposes() {
    let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let b = array![[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]];
    let mut c = Array2::<f64>::from_elem((3, 3), 1.0);
    matmul_into(&mut c.view_mut(), &a.view(), &b.view(), true, 1);
    assert_eq!(c, a.dot(&b) + 1.0);
    let mut d = Array2::<f64>::zeros((2, 2));
    matmul_into(&mut d.view_mut(), &a.t(), &a.view(), false, 1);
    assert_eq!(d, a.t().dot(&a));
}

/// How a test operand is laid out in its backing array.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// Standard C order.
    RowMajor,
    /// The transpose of a C-order array (what `w.t()` passes).
    ColMajor,
    /// Every other column of a wider array: `base.slice(s![.., ..;2])`.
    StridedCols,
    /// The transpose of every other row of a taller array.
    StridedRowsT,
    /// Rows in reverse order (a negative row stride).
    Reversed,
    /// An interior window of a larger C-order array (row stride larger than the width).
    Window,
}

const LAYOUTS: [Layout; 6] = [
    Layout::RowMajor,
    Layout::ColMajor,
    Layout::StridedCols,
    Layout::StridedRowsT,
    Layout::Reversed,
    Layout::Window,
];

impl Layout {
    /// The shape of the backing array for a `rows × cols` view.
    fn base_dim(self, rows: usize, cols: usize) -> (usize, usize) {
        match self {
            Layout::RowMajor | Layout::Reversed => (rows, cols),
            Layout::ColMajor => (cols, rows),
            Layout::StridedCols => (rows, 2 * cols),
            Layout::StridedRowsT => (2 * cols, rows),
            Layout::Window => (rows + 2, cols + 3),
        }
    }

    fn view<T>(self, base: &Array2<T>) -> ArrayView2<'_, T> {
        match self {
            Layout::RowMajor => base.view(),
            Layout::ColMajor => base.t(),
            Layout::StridedCols => base.slice(s![.., ..;2]),
            Layout::StridedRowsT => base.slice(s![..;2, ..]).reversed_axes(),
            Layout::Reversed => base.slice(s![..;-1, ..]),
            Layout::Window => {
                let (r, c) = base.dim();
                base.slice(s![1..r - 1, 2..c - 1])
            }
        }
    }

    fn view_mut<T>(self, base: &mut Array2<T>) -> ArrayViewMut2<'_, T> {
        match self {
            Layout::RowMajor => base.view_mut(),
            Layout::ColMajor => base.view_mut().reversed_axes(),
            Layout::StridedCols => base.slice_mut(s![.., ..;2]),
            Layout::StridedRowsT => base.slice_mut(s![..;2, ..]).reversed_axes(),
            Layout::Reversed => base.slice_mut(s![..;-1, ..]),
            Layout::Window => {
                let (r, c) = base.dim();
                base.slice_mut(s![1..r - 1, 2..c - 1])
            }
        }
    }
}

/// A tiny deterministic generator of values in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn array<T: Float>(&mut self, dim: (usize, usize)) -> Array2<T> {
        Array2::from_shape_simple_fn(dim, || T::lit(self.next()))
    }
}

/// One product of the given shape and layouts with `isa`, checked element by element
/// against a naive loop in `f64`, and checked not to touch the destination's backing array
/// outside the view.
#[allow(clippy::too_many_arguments)]
fn check<T: Float>(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    [la, lb, lc]: [Layout; 3],
    accumulate: bool,
    threads: usize,
    seed: u64,
) {
    let mut rng = Lcg(seed);
    let a_base = rng.array::<T>(la.base_dim(m, k));
    let b_base = rng.array::<T>(lb.base_dim(k, n));
    let c_before = rng.array::<T>(lc.base_dim(m, n));
    let (a, b) = (la.view(&a_base), lb.view(&b_base));

    let mut c_base = c_before.clone();
    matmul_with(
        isa,
        &mut lc.view_mut(&mut c_base),
        &a,
        &b,
        accumulate,
        threads,
    );

    // Expected values and error scales through the same layout, so elements outside the
    // view must come out bit-identical (scale 0).
    let mut want = c_before.mapv(|v| v.as_f64());
    let mut scale = Array2::<f64>::zeros(want.dim());
    {
        let c0 = lc.view(&c_before);
        let mut w = lc.view_mut(&mut want);
        let mut sc = lc.view_mut(&mut scale);
        for i in 0..m {
            for j in 0..n {
                let (mut sum, mut abs) = (0.0, 0.0);
                for p in 0..k {
                    let t = a[(i, p)].as_f64() * b[(p, j)].as_f64();
                    sum += t;
                    abs += t.abs();
                }
                let c0 = c0[(i, j)].as_f64();
                w[(i, j)] = if accumulate { c0 + sum } else { sum };
                sc[(i, j)] = if accumulate { c0.abs() + abs } else { abs }.max(f64::MIN_POSITIVE);
            }
        }
    }
    let tol = if std::mem::size_of::<T>() == 4 {
        1e-5
    } else {
        1e-12
    };
    for ((idx, &got), (&want, &scale)) in c_base.indexed_iter().zip(want.iter().zip(&scale)) {
        let err = (got.as_f64() - want).abs();
        assert!(
            err <= tol * scale,
            "{isa:?} {m}×{k}·{k}×{n} {la:?}·{lb:?}→{lc:?} accumulate={accumulate} \
             threads={threads}: base element {idx:?} is {got}, want {want} (err {err:e}, scale {scale:e})"
        );
    }
}

/// The instruction sets this CPU supports (the scalar kernel always).
fn isas() -> Vec<Isa> {
    [Isa::Scalar, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|i| i.is_supported())
        .collect()
}

/// Every tile shape each kernel has (1..=2·MR+1 rows, 1..=2·NR+1 columns, so full,
/// partial and multiple tiles in both directions), each precision, accumulating or not.
#[test]
fn every_kernel_handles_every_edge_tile() {
    for isa in isas() {
        let (mr, nr) = (f32::spec(isa).mr, f32::spec(isa).nr);
        for m in 1..=2 * mr + 1 {
            for n in 1..=2 * nr + 1 {
                let lc = if (m + n) % 2 == 0 {
                    Layout::Window
                } else {
                    Layout::ColMajor
                };
                let acc = (m * n) % 3 == 0;
                check::<f32>(
                    isa,
                    (m, n, 3),
                    [Layout::RowMajor, Layout::ColMajor, lc],
                    acc,
                    1,
                    7,
                );
                check::<f32>(
                    isa,
                    (m, n, 1),
                    [Layout::ColMajor, Layout::RowMajor, Layout::Window],
                    !acc,
                    1,
                    8,
                );
            }
        }
        let (mr, nr) = (f64::spec(isa).mr, f64::spec(isa).nr);
        for m in 1..=2 * mr + 1 {
            for n in 1..=2 * nr + 1 {
                let lc = if (m + n) % 2 == 0 {
                    Layout::Window
                } else {
                    Layout::StridedCols
                };
                let acc = (m * n) % 3 == 0;
                check::<f64>(
                    isa,
                    (m, n, 5),
                    [Layout::RowMajor, Layout::ColMajor, lc],
                    acc,
                    1,
                    9,
                );
                check::<f64>(
                    isa,
                    (m, n, 2),
                    [Layout::Reversed, Layout::RowMajor, Layout::Window],
                    !acc,
                    1,
                    10,
                );
            }
        }
    }
}

/// Shapes straddling the cache blocks (`kc`, `mc`, `nc`), so that several `k` slices (the
/// later ones accumulating) and several row and column blocks are exercised.
#[test]
fn every_kernel_handles_several_cache_blocks() {
    for isa in isas() {
        let (kc, mc, nc) = (f32::spec(isa).kc, f32::spec(isa).mc, f32::spec(isa).nc);
        for (m, n, k) in [
            (mc + 1, 33, kc + 1),
            (3, nc + 5, 2 * kc + 3),
            (2 * mc + 7, 5, 9),
        ] {
            check::<f32>(
                isa,
                (m, n, k),
                [Layout::RowMajor, Layout::ColMajor, Layout::RowMajor],
                false,
                1,
                1,
            );
            check::<f32>(
                isa,
                (m, n, k),
                [Layout::ColMajor, Layout::RowMajor, Layout::Window],
                true,
                1,
                2,
            );
        }
        let (kc, mc, nc) = (f64::spec(isa).kc, f64::spec(isa).mc, f64::spec(isa).nc);
        for (m, n, k) in [
            (mc + 1, 17, kc + 1),
            (3, nc + 5, 2 * kc + 3),
            (2 * mc + 7, 5, 9),
        ] {
            check::<f64>(
                isa,
                (m, n, k),
                [Layout::RowMajor, Layout::ColMajor, Layout::RowMajor],
                true,
                1,
                3,
            );
            check::<f64>(
                isa,
                (m, n, k),
                [Layout::StridedRowsT, Layout::StridedCols, Layout::ColMajor],
                false,
                1,
                4,
            );
        }
    }
}

/// The shapes of a 784-256-128-10 MLP with batch 64, forward and backward, split over
/// threads, with every kernel.
#[test]
fn every_kernel_handles_mlp_shapes_on_several_threads() {
    use Layout::{ColMajor as T, RowMajor as R};
    let cases = [
        ((64, 256, 784), [R, T, R], true),  // x · W1ᵀ
        ((64, 784, 256), [R, R, R], true),  // g · W1
        ((256, 784, 64), [T, R, R], true),  // gᵀ · x
        ((64, 128, 256), [R, T, R], false), // h1 · W2ᵀ
        ((128, 256, 64), [T, R, R], true),  // gᵀ · h1
    ];
    for isa in isas() {
        for threads in [1, 2, 3] {
            for (shape, layouts, acc) in cases {
                check::<f32>(isa, shape, layouts, acc, threads, 5);
                check::<f64>(isa, shape, layouts, !acc, threads, 6);
            }
        }
    }
}

/// A transposed operand read in place, where [`driver::run`] may turn the product around so
/// that the larger operand is not packed, has the same bits as the product with that
/// operand copied into a row-major array: every element is the same fused multiply-adds
/// over the same `k` slices, whichever operand is broadcast. Two cases: `x · Wᵀ` (a layer's
/// forward product, `W` read in place) and `gᵀ · x` over many rows (a recurrent layer's
/// weight gradient, `g` read in place). Shapes cover partial tiles on both sides, several
/// `k` slices and threads.
#[test]
fn turning_a_product_around_keeps_the_bits() {
    /// `c0 (+)= a · b` with `a` (or `b`, per `transpose_b`) given as the transpose of a
    /// C-order array, against the same product with that transpose copied.
    fn case<T: Float>(
        isa: Isa,
        (m, n, k): (usize, usize, usize),
        transpose_b: bool,
        acc: bool,
        threads: usize,
    ) {
        let mut rng = Lcg((m * 1000 + n * 10 + k) as u64);
        let (a, b) = if transpose_b {
            (rng.array::<T>((m, k)), rng.array::<T>((n, k)))
        } else {
            (rng.array::<T>((k, m)), rng.array::<T>((k, n)))
        };
        let c0 = rng.array::<T>((m, n));
        let (a_view, b_view) = if transpose_b {
            (a.view(), b.t())
        } else {
            (a.t(), b.view())
        };
        let (a_copy, b_copy) = (a_view.as_standard_layout(), b_view.as_standard_layout());
        let (mut in_place, mut copied) = (c0.clone(), c0);
        matmul_with(
            isa,
            &mut in_place.view_mut(),
            &a_view,
            &b_view,
            acc,
            threads,
        );
        matmul_with(
            isa,
            &mut copied.view_mut(),
            &a_copy.view(),
            &b_copy.view(),
            acc,
            threads,
        );
        let same = in_place
            .iter()
            .zip(&copied)
            .all(|(a, b)| a.as_f64().to_bits() == b.as_f64().to_bits());
        let product = if transpose_b { "x·wᵀ" } else { "gᵀ·x" };
        assert!(
            same,
            "{isa:?} {product} {m}×{k}×{n} accumulate={acc} threads={threads}"
        );
    }
    let x_wt = [
        ((64, 256, 784), 1),
        ((64, 128, 256), 2),
        ((9, 45, 600), 1),
        ((1, 3, 7), 1),
        ((30, 31, 17), 3),
        ((100, 129, 520), 2),
    ];
    let gt_x = [
        ((512, 28, 1792), 1),
        ((512, 128, 1792), 2),
        ((45, 9, 600), 1),
        ((31, 30, 700), 3),
    ];
    let cases = x_wt
        .iter()
        .map(|&c| (c, true))
        .chain(gt_x.iter().map(|&c| (c, false)));
    for isa in isas() {
        for ((shape, threads), transpose_b) in cases.clone() {
            for acc in [false, true] {
                case::<f32>(isa, shape, transpose_b, acc, threads);
                case::<f64>(isa, shape, transpose_b, acc, threads);
            }
        }
    }
}

/// Products large enough to be split over threads, along columns and along rows, into
/// several levels of parts.
#[test]
fn large_products_split_over_threads_along_either_dimension() {
    use Layout::{ColMajor as T, RowMajor as R};
    const { assert!(2.0 * 300.0 * 300.0 * 300.0 >= 2.0 * driver::PARALLEL_MIN_FLOPS) };
    for threads in [2, 4, 7] {
        check::<f32>(
            Isa::detected(),
            (300, 300, 300),
            [R, T, R],
            true,
            threads,
            11,
        );
        check::<f32>(
            Isa::detected(),
            (700, 40, 600),
            [T, R, R],
            false,
            threads,
            12,
        );
        check::<f64>(
            Isa::detected(),
            (40, 700, 600),
            [R, R, T],
            true,
            threads,
            13,
        );
    }
}

/// Called from a rayon worker, smaller products are split too (a cheaper `join`).
#[test]
fn products_split_inside_a_rayon_pool() {
    use Layout::{ColMajor as T, RowMajor as R};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        const { assert!(2.0 * 64.0 * 128.0 * 256.0 >= driver::PARALLEL_MIN_FLOPS_IN_POOL) };
        for threads in [2, 3, 8] {
            check::<f32>(
                Isa::detected(),
                (64, 128, 256),
                [R, T, R],
                true,
                threads,
                14,
            );
            check::<f64>(
                Isa::detected(),
                (256, 64, 128),
                [T, R, R],
                false,
                threads,
                15,
            );
            check::<f32>(
                Isa::detected(),
                (29, 300, 700),
                [R, R, R],
                false,
                threads,
                16,
            );
        }
    });
}

#[test]
fn empty_products_store_zeros_or_leave_the_destination() {
    let a = Array2::<f32>::zeros((3, 0));
    let b = Array2::<f32>::zeros((0, 4));
    let mut c = Array2::<f32>::from_elem((3, 4), 2.0);
    matmul_into(&mut c.view_mut(), &a.view(), &b.view(), true, 1);
    assert!(c.iter().all(|&v| v == 2.0));
    matmul_into(&mut c.view_mut(), &a.view(), &b.view(), false, 2);
    assert!(c.iter().all(|&v| v == 0.0));
    let mut e = Array2::<f64>::zeros((0, 4));
    matmul_into(
        &mut e.view_mut(),
        &Array2::zeros((0, 5)).view(),
        &Array2::zeros((5, 4)).view(),
        false,
        1,
    );
}

#[test]
fn overwriting_ignores_nan_in_the_destination() {
    for isa in isas() {
        let a = Array2::<f32>::from_elem((20, 7), 1.0);
        let b = Array2::<f32>::from_elem((7, 40), 0.5);
        let mut c = Array2::<f32>::from_elem((20, 40), f32::NAN);
        matmul_with(isa, &mut c.view_mut(), &a.view(), &b.t().t(), false, 1);
        assert!(c.iter().all(|&v| v == 3.5), "{isa:?}");
    }
}

#[test]
#[should_panic(expected = "inner dimensions differ")]
fn mismatched_inner_dimensions_panic() {
    let mut c = Array2::<f32>::zeros((2, 2));
    matmul_into(
        &mut c.view_mut(),
        &Array2::zeros((2, 3)).view(),
        &Array2::zeros((4, 2)).view(),
        false,
        1,
    );
}

/// A dimension: mostly small (edge tiles), sometimes up to 300 (several tiles and blocks).
fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..=20, 2 => 21usize..=90, 1 => 91usize..=300]
}

fn layouts() -> impl Strategy<Value = [Layout; 3]> {
    let one = || prop::sample::select(LAYOUTS.to_vec());
    (one(), one(), one()).prop_map(|(a, b, c)| [a, b, c])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn f32_products_match_the_reference(
        shape in (dim(), dim(), dim()),
        layouts in layouts(),
        accumulate in any::<bool>(),
        threads in 1usize..=3,
        seed in any::<u64>(),
    ) {
        check::<f32>(Isa::detected(), shape, layouts, accumulate, threads, seed);
    }

    #[test]
    fn f64_products_match_the_reference(
        shape in (dim(), dim(), dim()),
        layouts in layouts(),
        accumulate in any::<bool>(),
        threads in 1usize..=3,
        seed in any::<u64>(),
    ) {
        check::<f64>(Isa::detected(), shape, layouts, accumulate, threads, seed);
    }

    #[test]
    fn every_kernel_matches_the_reference(
        isa in prop::sample::select(isas()),
        double in any::<bool>(),
        shape in (dim(), dim(), dim()),
        layouts in layouts(),
        accumulate in any::<bool>(),
        seed in any::<u64>(),
    ) {
        if double {
            check::<f64>(isa, shape, layouts, accumulate, 1, seed);
        } else {
            check::<f32>(isa, shape, layouts, accumulate, 1, seed);
        }
    }
}
