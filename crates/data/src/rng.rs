//! The seeded random streams of the data pipeline, and the few draws it needs.
//!
//! Every use of randomness gets its own ChaCha8 stream, derived from `(seed, purpose, index)`:
//! the 256-bit key is `ChaCha8Rng::seed_from_u64(seed)` (rand_core's documented PCG32
//! expansion) and the 64-bit stream id is `purpose << 56 | index` (index taken modulo 2⁵⁶).
//! So the split's shuffle, each epoch's order, each bagging member's resample, each
//! synthetic source and each training row's augmentation in each epoch (a stream per epoch,
//! positioned at the row: [`row_stream`]) draw independent bits, and a resumed run
//! recomputes the same ones.
//!
//! The draws themselves (bounded integers, uniforms, normals, shuffles) are written here
//! rather than taken from `rand`'s distributions, so their results depend only on ChaCha8's
//! output, which is fixed, and not on a library's choice of sampling algorithm.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is for; the high byte of its ChaCha stream id.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    /// Shuffling the main source before splitting it.
    Split = 1,
    /// The order of one epoch (index = epoch).
    Epoch = 2,
    /// A bagging member's bootstrap resample (index = member).
    Bootstrap = 3,
    /// Generating a synthetic source (index = its role).
    Synthetic = 4,
    /// Augmenting training rows (index = epoch, positioned at the row: see [`row_stream`]).
    Augment = 5,
}

/// The independent stream for `(seed, purpose, index)`.
pub(crate) fn stream(seed: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((purpose as u64) << 56) | (index & ((1 << 56) - 1)));
    rng
}

/// log₂ of the words of a stream set aside for each row by [`row_stream`].
const ROW_WORDS_LOG2: u32 = 32;

/// The independent draws for row `row` under `(seed, purpose, index)`: the stream of
/// [`stream`], positioned at word `row · 2³²`. ChaCha's 64-bit block counter gives a stream
/// 2⁶⁸ words, so rows below 2³⁶ get disjoint runs of 2³² words each (far more than any row
/// draws): no two `(index, row)` pairs share a bit, and a row's draws do not depend on
/// which other rows were drawn, or in which order.
pub(crate) fn row_stream(seed: u64, purpose: Purpose, index: u64, row: u64) -> ChaCha8Rng {
    let mut rng = stream(seed, purpose, index);
    rng.set_word_pos(u128::from(row) << ROW_WORDS_LOG2);
    rng
}

/// A uniform integer in `0..bound` (Lemire's multiply-and-reject, unbiased); 0 when `bound` is 0.
pub(crate) fn below(rng: &mut impl RngCore, bound: usize) -> usize {
    let range = bound as u64;
    if range == 0 {
        return 0;
    }
    let mut product = u128::from(rng.next_u64()) * u128::from(range);
    if (product as u64) < range {
        let threshold = range.wrapping_neg() % range;
        while (product as u64) < threshold {
            product = u128::from(rng.next_u64()) * u128::from(range);
        }
    }
    (product >> 64) as usize
}

/// A uniform float in `[0, 1)` with 53 random bits.
pub(crate) fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller, one value per pair of uniforms).
pub(crate) fn normal(rng: &mut impl RngCore) -> f64 {
    let radius = (-2.0 * (1.0 - unit(rng)).ln()).sqrt();
    radius * (std::f64::consts::TAU * unit(rng)).cos()
}

/// Shuffles `items` in place (Fisher–Yates).
pub(crate) fn shuffle<T>(rng: &mut impl RngCore, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_purpose_and_index_and_repeat_exactly() {
        let draw = |p, i| stream(7, p, i).next_u64();
        assert_eq!(draw(Purpose::Epoch, 3), draw(Purpose::Epoch, 3));
        assert_ne!(draw(Purpose::Epoch, 3), draw(Purpose::Epoch, 4));
        assert_ne!(draw(Purpose::Epoch, 3), draw(Purpose::Bootstrap, 3));
        assert_ne!(
            stream(7, Purpose::Split, 0).next_u64(),
            stream(8, Purpose::Split, 0).next_u64()
        );
    }

    #[test]
    fn row_streams_are_disjoint_and_do_not_depend_on_the_draws_before() {
        let draw = |e, r| row_stream(7, Purpose::Augment, e, r).next_u64();
        assert_eq!(draw(2, 5), draw(2, 5));
        assert_ne!(draw(2, 5), draw(2, 6));
        assert_ne!(draw(2, 5), draw(3, 5));
        // Row 0 is the start of the epoch's stream; row 1 starts 2³² words later.
        let mut whole = stream(7, Purpose::Augment, 2);
        assert_eq!(whole.next_u64(), draw(2, 0));
        whole.set_word_pos(1 << 32);
        assert_eq!(whole.next_u64(), draw(2, 1));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = stream(1, Purpose::Split, 0);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            seen[below(&mut rng, 7)] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        assert_eq!(below(&mut rng, 0), 0);
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = stream(2, Purpose::Synthetic, 0);
        let n = 20_000;
        let draws: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
        assert!(draws.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn unit_is_in_the_half_open_interval() {
        let mut rng = stream(3, Purpose::Synthetic, 1);
        assert!((0..10_000)
            .map(|_| unit(&mut rng))
            .all(|u| (0.0..1.0).contains(&u)));
    }
}
