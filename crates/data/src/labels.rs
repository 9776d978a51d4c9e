//! Labels: telling class indices from regression targets, and one-hot encoding.

use ndarray::{Array2, ArrayBase, ArrayViewMut2, Data, Ix1};

/// The largest class count inferred from integer labels; integer labels reaching past it are
/// taken as regression targets (a count, a price) rather than as that many classes.
pub const MAX_CLASSES: usize = 1 << 16;

/// `Some(max + 1)` when every label is a non-negative integer below [`MAX_CLASSES`]
/// (classification), `None` otherwise (regression) or when there are no labels.
pub fn classes_of(labels: &[f32]) -> Option<usize> {
    let mut max = None::<f32>;
    for &label in labels {
        if !(label >= 0.0 && label.fract() == 0.0 && label < MAX_CLASSES as f32) {
            return None;
        }
        max = Some(max.map_or(label, |m| m.max(label)));
    }
    max.map(|m| m as usize + 1)
}

/// What labels must be, checked by the loaders where each label is read, so that a bad
/// one is an error naming its file and place ([`DataError::BadLabel`](crate::DataError)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LabelRule {
    /// Any finite number; whether they are classes is inferred ([`classes_of`]).
    #[default]
    Any,
    /// Class indices of any count (below [`MAX_CLASSES`]): what a stratified split needs.
    ClassIndices,
    /// Class indices below this count: the classes the model predicts.
    Classes(usize),
}

impl LabelRule {
    /// The rule for data split as `split` says, for a model predicting `classes` classes
    /// (`None`: a regression, or unknown).
    pub fn for_split(split: &crate::Split, classes: Option<usize>) -> LabelRule {
        match classes {
            Some(k) => LabelRule::Classes(k),
            None if split.stratified => LabelRule::ClassIndices,
            None => LabelRule::Any,
        }
    }

    /// `Ok` if `label` follows the rule, else what was expected.
    pub fn check(self, label: f32) -> Result<(), String> {
        let (limit, why) = match self {
            LabelRule::Any => return Ok(()),
            LabelRule::ClassIndices => (MAX_CLASSES, "as a stratified split needs".to_owned()),
            LabelRule::Classes(k) => (k, format!("the model predicts {k} classes")),
        };
        if label >= 0.0 && label.fract() == 0.0 && (label as f64) < limit as f64 {
            return Ok(());
        }
        Err(match self {
            LabelRule::ClassIndices => {
                format!("a class index, an integer in 0..{limit}, {why}")
            }
            _ => format!("a class index, an integer in 0..{limit} ({why})"),
        })
    }
}

/// The one-hot matrix `[n, classes]` of class-index labels.
///
/// A label that is not an integer in `0..classes` gets a row of zeros.
pub fn one_hot<S: Data<Elem = f32>>(labels: &ArrayBase<S, Ix1>, classes: usize) -> Array2<f32> {
    let mut out = Array2::zeros((labels.len(), classes));
    one_hot_into(labels, out.view_mut());
    out
}

/// Writes the one-hot rows of `labels` into the first `labels.len()` rows of `out` (whose
/// column count is the number of classes), without allocating.
///
/// A label that is not an integer in `0..classes` gets a row of zeros.
///
/// # Panics
/// If `out` has fewer rows than there are labels.
pub fn one_hot_into<S: Data<Elem = f32>>(labels: &ArrayBase<S, Ix1>, mut out: ArrayViewMut2<f32>) {
    assert!(
        out.nrows() >= labels.len(),
        "one_hot_into: {} labels but only {} output rows",
        labels.len(),
        out.nrows()
    );
    let classes = out.ncols();
    for (mut row, &label) in out.outer_iter_mut().zip(labels.iter()) {
        row.fill(0.0);
        if label >= 0.0 && label.fract() == 0.0 && (label as usize) < classes {
            row[label as usize] = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn integer_labels_are_classes() {
        assert_eq!(classes_of(&[0.0, 2.0, 1.0]), Some(3));
        assert_eq!(classes_of(&[4.0]), Some(5));
    }

    #[test]
    fn other_labels_are_regression() {
        assert_eq!(classes_of(&[0.0, 1.5]), None);
        assert_eq!(classes_of(&[-1.0, 1.0]), None);
        assert_eq!(classes_of(&[f32::NAN]), None);
        assert_eq!(classes_of(&[1e9]), None);
        assert_eq!(classes_of(&[]), None);
    }

    #[test]
    fn rules() {
        assert!(LabelRule::Any.check(2.5).is_ok());
        assert!(LabelRule::Classes(10).check(9.0).is_ok());
        assert_eq!(
            LabelRule::Classes(10).check(10.0).unwrap_err(),
            "a class index, an integer in 0..10 (the model predicts 10 classes)"
        );
        for bad in [-1.0, 2.5, 1e30, 65536.0] {
            assert_eq!(
                LabelRule::ClassIndices.check(bad).unwrap_err(),
                "a class index, an integer in 0..65536, as a stratified split needs"
            );
        }
    }

    #[test]
    fn one_hot_rows() {
        let hot = one_hot(&array![2.0f32, 0.0, 7.0, 0.5], 3);
        assert_eq!(
            hot,
            array![
                [0.0, 0.0, 1.0],
                [1.0, 0.0, 0.0],
                [0.0, 0.0, 0.0],
                [0.0, 0.0, 0.0]
            ]
        );
    }

    #[test]
    fn one_hot_into_overwrites_a_prefix() {
        let mut out = Array2::from_elem((3, 2), 9.0f32);
        one_hot_into(&array![1.0f32], out.view_mut());
        assert_eq!(out, array![[0.0, 1.0], [9.0, 9.0], [9.0, 9.0]]);
    }
}
