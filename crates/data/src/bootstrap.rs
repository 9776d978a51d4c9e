//! Bootstrap resampling, for bagging ensembles.

use crate::rng::{below, stream, Purpose};

/// `round(fraction · n)` row indices drawn uniformly with replacement from `0..n`, from the
/// stream derived from `(seed, member)`: each ensemble member gets its own resample, and the
/// same seed and member always give the same one.
///
/// A `fraction` that is not a finite positive number, or `n = 0`, gives no indices.
pub fn bootstrap(n: usize, fraction: f64, seed: u64, member: u64) -> Vec<usize> {
    if n == 0 || !(fraction.is_finite() && fraction > 0.0) {
        return Vec::new();
    }
    let draws = (fraction * n as f64).round() as usize;
    let mut rng = stream(seed, Purpose::Bootstrap, member);
    (0..draws).map(|_| below(&mut rng, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_range() {
        let sample = bootstrap(10, 0.55, 1, 0);
        assert_eq!(sample.len(), 6);
        assert!(sample.iter().all(|&i| i < 10));
        assert_eq!(bootstrap(0, 1.0, 1, 0), Vec::<usize>::new());
        assert_eq!(bootstrap(5, f64::NAN, 1, 0), Vec::<usize>::new());
        assert_eq!(bootstrap(5, -1.0, 1, 0), Vec::<usize>::new());
        assert_eq!(bootstrap(4, 2.0, 1, 0).len(), 8);
    }

    #[test]
    fn members_differ_and_repeat() {
        assert_eq!(bootstrap(100, 1.0, 3, 1), bootstrap(100, 1.0, 3, 1));
        assert_ne!(bootstrap(100, 1.0, 3, 1), bootstrap(100, 1.0, 3, 2));
        assert_ne!(bootstrap(100, 1.0, 3, 1), bootstrap(100, 1.0, 4, 1));
    }
}
