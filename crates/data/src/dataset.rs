//! [`Dataset`]: examples in memory, and its construction from loaded arrays.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayD, ArrayView2, Axis};

use crate::huge_pages::{self, select_rows};
use crate::labels::classes_of;
use crate::{DataError, LabelRule};

/// Examples in memory: features flattened row-major per example.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The features, one row per example: `[n, d]`.
    pub features: ndarray::Array2<f32>,
    /// The per-example shape, e.g. `[784]`, or `[28, 28]` for IDX images; `d` is its product.
    pub feature_dims: Vec<usize>,
    /// Class indices as floats (classification) or targets (regression), one per example.
    pub labels: ndarray::Array1<f32>,
    /// `Some(k)` when the labels are integer class indices `0..k`.
    pub classes: Option<usize>,
}

impl Dataset {
    /// A dataset from its parts, with [`Dataset::classes`] inferred from the labels
    /// (see [`crate::classes_of`]).
    ///
    /// Fails when there is not one label per feature row or when `feature_dims` does not
    /// multiply to the row width.
    pub fn new(
        features: Array2<f32>,
        feature_dims: Vec<usize>,
        labels: Array1<f32>,
    ) -> Result<Dataset, DataError> {
        if features.nrows() != labels.len()
            || feature_dims.iter().product::<usize>() != features.ncols()
        {
            return Err(DataError::DatasetShape {
                rows: features.nrows(),
                columns: features.ncols(),
                feature_dims,
                labels: labels.len(),
            });
        }
        let classes = labels
            .as_slice()
            .map_or_else(|| classes_of(&labels.to_vec()), classes_of);
        Ok(Dataset {
            features,
            feature_dims,
            labels,
            classes,
        })
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The flattened width of one example (`d`).
    pub fn feature_count(&self) -> usize {
        self.features.ncols()
    }

    /// A new dataset with copies of the rows `indices`, in that order (repeats allowed, as in
    /// a bootstrap resample); it keeps `feature_dims` and `classes`.
    ///
    /// The copy's features are on huge pages where the system allows it (see
    /// `huge_pages.rs`): a training set is such a copy, read row by row every epoch.
    ///
    /// # Panics
    /// If an index is not below [`Dataset::len`].
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            features: select_rows(self.features.view(), indices),
            feature_dims: self.feature_dims.clone(),
            labels: self.labels.select(Axis(0), indices),
            classes: self.classes,
        }
    }

    /// The rows `indices` (strictly increasing) of this dataset, kept in place: the rows
    /// move to the front of the same allocation and the rest is released, so a training
    /// split costs no second copy of the data. The features are then advised onto huge pages
    /// (a loader's allocation already is). Indices that are not strictly increasing, or
    /// features not in row-major order, fall back to [`Dataset::subset`].
    ///
    /// # Panics
    /// If an index is not below [`Dataset::len`].
    pub fn retain_rows(self, indices: &[usize]) -> Dataset {
        let increasing = indices.windows(2).all(|w| w[0] < w[1]);
        if !increasing || !self.features.is_standard_layout() {
            return self.subset(indices);
        }
        if let Some(&last) = indices.last() {
            assert!(
                last < self.len(),
                "retain_rows: row {last} of {}",
                self.len()
            );
        }
        let width = self.features.ncols();
        let (mut values, offset) = self.features.into_raw_vec_and_offset();
        let start = offset.unwrap_or(0);
        let mut labels = self.labels.to_vec();
        for (to, &from) in indices.iter().enumerate() {
            // `to <= from` (the indices increase), so no row is overwritten before it moves.
            if to != from {
                let at = start + from * width;
                values.copy_within(at..at + width, start + to * width);
            }
            labels[to] = labels[from];
        }
        values.truncate(start + indices.len() * width);
        values.drain(..start);
        values.shrink_to_fit();
        labels.truncate(indices.len());
        huge_pages::collapse(&values);
        Dataset {
            features: Array2::from_shape_vec((indices.len(), width), values)
                .expect("one row of values per index"),
            feature_dims: self.feature_dims,
            labels: Array1::from_vec(labels),
            classes: self.classes,
        }
    }
}

/// An array read from a binary file, with where its values start, for messages.
pub(crate) struct Array {
    /// The values, in row-major order.
    pub(crate) array: ArrayD<f32>,
    /// The byte offset of the first value in the (decompressed) file.
    pub(crate) body_offset: u64,
    /// The bytes per value in the file.
    pub(crate) element_size: usize,
}

/// A dataset from a features array `[n, ...]` and a labels array `[n]` or `[n, 1]` read from
/// files (IDX, NPY, NPZ): checks the shapes, the counts and that every value is finite.
pub(crate) fn from_arrays(
    features: ArrayD<f32>,
    features_path: &Path,
    labels: Array,
    labels_path: &Path,
    rule: LabelRule,
) -> Result<Dataset, DataError> {
    let Array {
        array: labels,
        body_offset,
        element_size,
    } = labels;
    let shape = features.shape().to_vec();
    let Some((&n, example_dims)) = shape.split_first() else {
        return Err(DataError::BadShape {
            path: features_path.to_owned(),
            found: shape,
            expected: "features of shape [n, ...] with one row per example",
        });
    };
    let labels_shape = labels.shape().to_vec();
    let label_count = match labels_shape.as_slice() {
        [m] | [m, 1] => *m,
        _ => {
            return Err(DataError::BadShape {
                path: labels_path.to_owned(),
                found: labels_shape,
                expected: "labels of shape [n] or [n, 1]",
            })
        }
    };
    if n != label_count {
        return Err(DataError::CountMismatch {
            features_path: features_path.to_owned(),
            features: n,
            labels_path: labels_path.to_owned(),
            labels: label_count,
        });
    }
    if n == 0 {
        return Err(DataError::NoExamples {
            path: features_path.to_owned(),
        });
    }
    let feature_dims = if example_dims.is_empty() {
        vec![1]
    } else {
        example_dims.to_vec()
    };
    let width: usize = feature_dims.iter().product();
    let features = features
        .into_shape_with_order((n, width))
        .map_err(|_| DataError::BadShape {
            path: features_path.to_owned(),
            found: shape.clone(),
            expected: "features of shape [n, ...] in row-major order",
        })?;
    let labels = Array1::from_iter(labels.iter().copied());
    if let Some((example, feature, value)) = first_non_finite(features.view()) {
        let path = features_path.to_owned();
        return Err(DataError::NonFinite {
            path,
            example,
            feature: Some(feature),
            value,
        });
    }
    if let Some((example, _, value)) = first_non_finite(labels.view().insert_axis(Axis(1))) {
        let path = labels_path.to_owned();
        return Err(DataError::NonFinite {
            path,
            example,
            feature: None,
            value,
        });
    }
    let step = element_size as u64;
    for (i, &value) in labels.iter().enumerate() {
        if let Err(expected) = rule.check(value) {
            return Err(DataError::BadLabel {
                path: labels_path.to_owned(),
                place: format!("byte offset {} (label {i})", body_offset + i as u64 * step),
                value: value.to_string(),
                expected,
            });
        }
    }
    Dataset::new(features, feature_dims, labels)
}

/// The (example, feature, value) of the first NaN or infinite value of `values`
/// (`[examples, features]`), if any.
fn first_non_finite(values: ArrayView2<f32>) -> Option<(usize, usize, f32)> {
    values.outer_iter().enumerate().find_map(|(example, row)| {
        row.iter()
            .position(|v| !v.is_finite())
            .map(|feature| (example, feature, row[feature]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, IxDyn};

    /// `values` as an array read from a file whose values start at byte 8, 1 byte each.
    fn array(values: ArrayD<f32>) -> Array {
        Array {
            array: values,
            body_offset: 8,
            element_size: 1,
        }
    }

    #[test]
    fn labels_are_checked_with_their_offset() {
        let features = ArrayD::<f32>::zeros(IxDyn(&[3, 2]));
        let labels = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 0.0, 200.0]).unwrap();
        let err = from_arrays(
            features,
            Path::new("f"),
            array(labels),
            Path::new("l.idx"),
            LabelRule::Classes(10),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "l.idx: byte offset 10 (label 2): the label is 200; expected a class index, an \
             integer in 0..10 (the model predicts 10 classes)"
        );
    }

    #[test]
    fn retain_rows_keeps_rows_in_place() {
        let data = Dataset::new(
            Array2::from_shape_fn((5, 2), |(i, j)| (i * 2 + j) as f32),
            vec![2],
            array![0.0, 1.0, 2.0, 3.0, 4.0],
        )
        .unwrap();
        let kept = data.clone().retain_rows(&[1, 3, 4]);
        assert_eq!(kept, data.subset(&[1, 3, 4]));
        assert_eq!(data.clone().retain_rows(&[4, 0]), data.subset(&[4, 0]));
        assert_eq!(data.clone().retain_rows(&[]).len(), 0);
    }

    #[test]
    fn new_infers_classes_and_checks_shapes() {
        let data = Dataset::new(array![[1.0, 2.0], [3.0, 4.0]], vec![2], array![0.0, 2.0]).unwrap();
        assert_eq!(data.classes, Some(3));
        assert_eq!(data.len(), 2);
        assert!(!data.is_empty());
        let err = Dataset::new(array![[1.0, 2.0]], vec![3], array![0.0]).unwrap_err();
        assert!(err.to_string().contains("per-example shape [3]"), "{err}");
        let err = Dataset::new(array![[1.0, 2.0]], vec![2], array![0.0, 1.0]).unwrap_err();
        assert!(err.to_string().contains("and 2 labels"), "{err}");
    }

    #[test]
    fn subset_copies_rows_in_order_with_repeats() {
        let data =
            Dataset::new(array![[1.0], [2.0], [3.0]], vec![1], array![0.0, 1.0, 0.0]).unwrap();
        let sub = data.subset(&[2, 0, 2]);
        assert_eq!(sub.features, array![[3.0], [1.0], [3.0]]);
        assert_eq!(sub.labels, array![0.0, 0.0, 0.0]);
        assert_eq!(sub.classes, Some(2));
    }

    #[test]
    fn from_arrays_flattens_examples_and_accepts_column_labels() {
        let features =
            ArrayD::from_shape_vec(IxDyn(&[2, 2, 3]), (0..12).map(|v| v as f32).collect()).unwrap();
        let labels = ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![1.0, 0.0]).unwrap();
        let data = from_arrays(
            features,
            Path::new("f"),
            array(labels),
            Path::new("l"),
            LabelRule::Any,
        )
        .unwrap();
        assert_eq!(data.feature_dims, vec![2, 3]);
        assert_eq!(data.features.shape(), &[2, 6]);
        assert_eq!(data.features[[1, 0]], 6.0);
        assert_eq!(data.labels, array![1.0, 0.0]);
    }

    #[test]
    fn from_arrays_rejects_non_finite_values() {
        let features =
            ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![0.0, 1.0, f32::NAN, 2.0]).unwrap();
        let labels = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0, 0.0]).unwrap();
        let err = from_arrays(
            features,
            Path::new("f.npy"),
            array(labels),
            Path::new("l"),
            LabelRule::Any,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.npy: feature 0 of example 1 is NaN; expected finite values"
        );
        let features = ArrayD::zeros(IxDyn(&[2, 2]));
        let labels = ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0, f32::INFINITY]).unwrap();
        let err = from_arrays(
            features,
            Path::new("f"),
            array(labels),
            Path::new("l.npy"),
            LabelRule::Any,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "l.npy: the label of example 1 is inf; expected finite values"
        );
    }

    #[test]
    fn from_arrays_checks_shapes_and_counts() {
        let features = ArrayD::<f32>::zeros(IxDyn(&[3, 2]));
        let labels = ArrayD::<f32>::zeros(IxDyn(&[2]));
        let err = from_arrays(
            features.clone(),
            Path::new("f"),
            array(labels),
            Path::new("l"),
            LabelRule::Any,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f: 3 examples, but l: 2 labels; expected the same count"
        );
        let labels = ArrayD::<f32>::zeros(IxDyn(&[3, 2]));
        let err = from_arrays(
            features,
            Path::new("f"),
            array(labels),
            Path::new("l"),
            LabelRule::Any,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "l: the array has shape [3, 2]; expected labels of shape [n] or [n, 1]"
        );
    }
}
