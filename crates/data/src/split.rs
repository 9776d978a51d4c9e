//! Dividing one dataset into training, validation and test parts by fractions, shuffled by
//! a seed, optionally stratified (each class divided in the same proportions).
//!
//! Counts are apportioned by largest remainders: a part gets `round(fraction · n)` examples
//! in all, and when stratified each class gets its share `fraction · n_class` rounded so that
//! the per-class counts add up to that total. Which examples go where is decided by shuffling
//! each class (or the whole set) with the stream `(seed, split)`; each part then keeps the
//! file's order.

use crate::dataset::Dataset;
use crate::rng::{shuffle, stream, Purpose};
use crate::{DataError, Split};

/// How far the fractions' sum may be from 1.
const SUM_TOLERANCE: f64 = 1e-9;

/// Row indices of each part, each in increasing order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Partition {
    /// The training rows.
    pub train: Vec<usize>,
    /// The validation rows (empty when the validation fraction is 0).
    pub validation: Vec<usize>,
    /// The test rows (empty when the test fraction is 0).
    pub test: Vec<usize>,
}

/// Checks that each fraction is in [0, 1] and that they sum to 1 (within 1e-9).
pub fn check_fractions(split: &Split) -> Result<(), DataError> {
    for (which, value) in [
        ("train", split.train),
        ("validation", split.validation),
        ("test", split.test),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(DataError::SplitFraction { which, value });
        }
    }
    let sum = split.train + split.validation + split.test;
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(DataError::SplitSum {
            train: split.train,
            validation: split.validation,
            test: split.test,
            sum,
        });
    }
    Ok(())
}

/// Divides the rows of `data` as `split` says, shuffled by `seed`.
///
/// Fails when the fractions are invalid, when a stratified split is asked for real-valued
/// labels, or when a part with a positive fraction (or the training part) would be empty.
pub fn partition(data: &Dataset, split: &Split, seed: u64) -> Result<Partition, DataError> {
    check_fractions(split)?;
    let n = data.len();
    let mut groups: Vec<Vec<usize>> = if split.stratified {
        let classes = data.classes.ok_or(DataError::StratifyRegression)?;
        let mut groups = vec![Vec::new(); classes];
        for (i, &label) in data.labels.iter().enumerate() {
            let group = (label >= 0.0 && label.fract() == 0.0)
                .then(|| groups.get_mut(label as usize))
                .flatten()
                .ok_or(DataError::StratifyRegression)?;
            group.push(i);
        }
        groups
    } else {
        vec![(0..n).collect()]
    };
    let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    let validation = apportion(split.validation, &sizes, &sizes);
    let room: Vec<usize> = sizes.iter().zip(&validation).map(|(s, v)| s - v).collect();
    let test = apportion(split.test, &sizes, &room);

    let mut rng = stream(seed, Purpose::Split, 0);
    let mut parts = Partition::default();
    for ((group, v), t) in groups.iter_mut().zip(validation).zip(test) {
        shuffle(&mut rng, group);
        parts.validation.extend_from_slice(&group[..v]);
        parts.test.extend_from_slice(&group[v..v + t]);
        parts.train.extend_from_slice(&group[v + t..]);
    }
    for (which, fraction, rows) in [
        ("train", split.train, &mut parts.train),
        ("validation", split.validation, &mut parts.validation),
        ("test", split.test, &mut parts.test),
    ] {
        if rows.is_empty() && (fraction > 0.0 || which == "train") {
            return Err(DataError::EmptySplit {
                which,
                fraction,
                examples: n,
            });
        }
        rows.sort_unstable();
    }
    Ok(parts)
}

/// Per-group counts for `fraction` of groups of `sizes`, at most `room` each, summing to
/// `round(fraction · total)` where room allows: floors first, then one more to the groups
/// with the largest remainders (ties to the earlier group).
fn apportion(fraction: f64, sizes: &[usize], room: &[usize]) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let target = (fraction * total as f64).round() as usize;
    let shares: Vec<f64> = sizes.iter().map(|&size| fraction * size as f64).collect();
    let mut counts: Vec<usize> = shares
        .iter()
        .zip(room)
        .map(|(share, &room)| (share.floor() as usize).min(room))
        .collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| {
        (shares[b].fract())
            .total_cmp(&shares[a].fract())
            .then(a.cmp(&b))
    });
    let mut missing = target.saturating_sub(counts.iter().sum());
    while missing > 0 {
        let before = missing;
        for &group in &order {
            if missing > 0 && counts[group] < room[group] {
                counts[group] += 1;
                missing -= 1;
            }
        }
        if missing == before {
            break;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn labelled(labels: &[f32]) -> Dataset {
        let n = labels.len();
        let features = Array2::from_shape_fn((n, 1), |(i, _)| i as f32);
        Dataset::new(features, vec![1], Array1::from_vec(labels.to_vec())).unwrap()
    }

    fn split(train: f64, validation: f64, test: f64, stratified: bool) -> Split {
        Split {
            train,
            validation,
            test,
            stratified,
        }
    }

    #[test]
    fn apportion_hits_the_rounded_total() {
        assert_eq!(apportion(0.1, &[5; 10], &[5; 10]).iter().sum::<usize>(), 5);
        assert_eq!(apportion(0.29, &[100], &[100]), [29]);
        assert_eq!(apportion(0.5, &[3, 3], &[3, 3]), [2, 1]);
        assert_eq!(apportion(1.0, &[4, 2], &[1, 0]), [1, 0]);
        assert_eq!(apportion(0.0, &[4, 2], &[4, 2]), [0, 0]);
    }

    #[test]
    fn parts_have_the_rounded_sizes_and_cover_every_row_once() {
        let data = labelled(&[0.5; 103]);
        let parts = partition(&data, &split(0.7, 0.2, 0.1, false), 1).unwrap();
        assert_eq!(
            (parts.train.len(), parts.validation.len(), parts.test.len()),
            (72, 21, 10)
        );
        let mut all: Vec<usize> =
            [&parts.train[..], &parts.validation[..], &parts.test[..]].concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert!(parts.train.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_seed_decides_the_rows() {
        let data = labelled(&[1.0; 50]);
        let s = split(0.6, 0.4, 0.0, false);
        let a = partition(&data, &s, 7).unwrap();
        assert_eq!(a, partition(&data, &s, 7).unwrap());
        assert_ne!(a, partition(&data, &s, 8).unwrap());
        assert!(a.test.is_empty());
    }

    #[test]
    fn stratified_parts_keep_class_proportions() {
        // 80 of class 0, 20 of class 1.
        let labels: Vec<f32> = (0..100).map(|i| f32::from(u8::from(i % 5 == 0))).collect();
        let data = labelled(&labels);
        let parts = partition(&data, &split(0.5, 0.25, 0.25, true), 3).unwrap();
        let ones = |rows: &[usize]| rows.iter().filter(|&&i| labels[i] == 1.0).count();
        assert_eq!((parts.train.len(), ones(&parts.train)), (50, 10));
        assert_eq!((parts.validation.len(), ones(&parts.validation)), (25, 5));
        assert_eq!((parts.test.len(), ones(&parts.test)), (25, 5));
    }

    #[test]
    fn stratifying_real_labels_is_an_error() {
        let err = partition(&labelled(&[0.5, 1.5]), &split(1.0, 0.0, 0.0, true), 0).unwrap_err();
        assert!(matches!(err, DataError::StratifyRegression), "{err}");
    }

    #[test]
    fn fractions_are_checked() {
        let err = check_fractions(&split(1.2, -0.2, 0.0, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "split: the train fraction is 1.2; expected a number in [0, 1]"
        );
        let err = check_fractions(&split(0.5, f64::NAN, 0.5, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "split: the validation fraction is NaN; expected a number in [0, 1]"
        );
        let err = check_fractions(&split(0.5, 0.25, 0.5, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "split: train 0.5 + validation 0.25 + test 0.5 = 1.25; expected a sum of 1"
        );
        assert!(check_fractions(&split(0.7, 0.2, 0.1, false)).is_ok());
    }

    #[test]
    fn empty_parts_are_errors() {
        let data = labelled(&[0.0; 10]);
        let err = partition(&data, &split(0.98, 0.01, 0.01, false), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "split: the validation fraction 0.01 of 10 examples gives no example; expected at \
             least one (use more data or a larger fraction)"
        );
        let err = partition(&data, &split(0.0, 1.0, 0.0, false), 0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("split: the train fraction 0 of 10"),
            "{err}"
        );
    }
}
