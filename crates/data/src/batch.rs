//! Batch iteration: each epoch's order of the examples, the batches it is cut into, and
//! copying a batch's rows into preallocated buffers.
//!
//! The batching modes are all `epoch_order` + [`Batches`] + [`gather`]: full batch is one
//! batch of size `n`, online learning is batches of 1, minibatches drop or keep the last
//! partial batch.

use ndarray::{Array1, Array2, ArrayView2};

use crate::dataset::Dataset;
use crate::rng::{shuffle as shuffle_in_place, stream, Purpose};

/// Writes the order of epoch `epoch` into `out` (reusing its allocation): `0..n`, shuffled
/// when `shuffle` is set by the stream derived from `(seed, epoch)`.
///
/// The same seed and epoch always give the same order, so a run resumed at epoch `e`
/// continues exactly as the uninterrupted run would have; different epochs give (almost
/// surely) different orders.
pub fn epoch_order(n: usize, shuffle: bool, seed: u64, epoch: u64, out: &mut Vec<usize>) {
    out.clear();
    out.extend(0..n);
    if shuffle {
        shuffle_in_place(&mut stream(seed, Purpose::Epoch, epoch), out);
    }
}

/// Copies the rows `indices` of `data` into the first `indices.len()` rows of `x` (`f32`,
/// or `f64` widened exactly) and entries of `y`, without allocating; later rows are left
/// as they are.
///
/// # Panics
/// If an index is out of range, if `x` has fewer rows than `indices` or a different
/// number of columns from `data.features`, or if `y` is shorter than `indices`.
pub fn gather<T: From<f32> + Copy>(
    data: &Dataset,
    indices: &[usize],
    x: &mut Array2<T>,
    y: &mut Array1<f32>,
) {
    let width = data.features.ncols();
    assert!(
        x.nrows() >= indices.len() && x.ncols() == width && y.len() >= indices.len(),
        "gather: {} rows of width {width} do not fit buffers of shape {:?} and length {}",
        indices.len(),
        x.shape(),
        y.len()
    );
    match x.as_slice_mut() {
        Some(target) => gather_rows(data, indices, target),
        None => {
            for (k, &i) in indices.iter().enumerate() {
                let row = data.features.row(i);
                x.row_mut(k).zip_mut_with(&row, |o, &v| *o = T::from(v));
            }
        }
    }
    for (target, &i) in y.iter_mut().zip(indices) {
        *target = data.labels[i];
    }
}

/// The number of batches of `size` (at least 1) that `n` examples make: the last partial
/// batch counts unless `drop_last`.
pub fn batch_count(n: usize, size: usize, drop_last: bool) -> usize {
    let size = size.max(1);
    if drop_last {
        n / size
    } else {
        n.div_ceil(size)
    }
}

/// The consecutive batches of an epoch order: slices of `size` indices (at least 1), the
/// last one shorter unless it is dropped.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    /// The indices not yet handed out.
    rest: &'a [usize],
    /// The batch size.
    size: usize,
    /// Whether a last partial batch is dropped.
    drop_last: bool,
}

impl<'a> Batches<'a> {
    /// Batches of `size` (a size of 0 counts as 1) over `order`.
    pub fn new(order: &'a [usize], size: usize, drop_last: bool) -> Batches<'a> {
        Batches {
            rest: order,
            size: size.max(1),
            drop_last,
        }
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = &'a [usize];

    fn next(&mut self) -> Option<&'a [usize]> {
        if self.rest.is_empty() || (self.drop_last && self.rest.len() < self.size) {
            return None;
        }
        let (batch, rest) = self.rest.split_at(self.size.min(self.rest.len()));
        self.rest = rest;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let count = batch_count(self.rest.len(), self.size, self.drop_last);
        (count, Some(count))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// Copies the feature rows `indices` of `data` one after another into the front of `out`
/// (row-major), without allocating: the copy-free way to fill an executor's input buffer
/// (knit-tensor's `Executor::input_buffer`), of `f32` or, widened exactly, of `f64`.
///
/// # Panics
/// If an index is out of range or `out` holds fewer than `indices.len()` rows.
pub fn gather_rows<T: From<f32> + Copy>(data: &Dataset, indices: &[usize], out: &mut [T]) {
    copy_rows(data.features.view(), indices, out);
}

/// [`gather_rows`] from any matrix: the rows `indices` of `source`, one after another, into
/// the front of `out`.
///
/// # Panics
/// If an index is out of range or `out` holds fewer than `indices.len()` rows.
pub(crate) fn copy_rows<T: From<f32> + Copy>(
    source: ArrayView2<f32>,
    indices: &[usize],
    out: &mut [T],
) {
    let width = source.ncols();
    assert!(
        out.len() >= indices.len() * width,
        "gather_rows: {} rows of width {width} do not fit {} values",
        indices.len(),
        out.len()
    );
    match source.as_slice() {
        Some(values) => {
            for (row, &i) in out.chunks_exact_mut(width.max(1)).zip(indices) {
                let source = &values[i * width..(i + 1) * width];
                row.iter_mut()
                    .zip(source)
                    .for_each(|(o, &v)| *o = T::from(v));
            }
        }
        None => {
            for (row, &i) in out.chunks_exact_mut(width.max(1)).zip(indices) {
                row.iter_mut()
                    .zip(source.row(i))
                    .for_each(|(o, &v)| *o = T::from(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, s, ShapeBuilder};

    #[test]
    fn unshuffled_order_is_the_identity() {
        let mut out = vec![9, 9, 9, 9, 9, 9];
        epoch_order(4, false, 1, 0, &mut out);
        assert_eq!(out, [0, 1, 2, 3]);
    }

    #[test]
    fn batches_keep_or_drop_the_last() {
        let order: Vec<usize> = (0..7).collect();
        let kept: Vec<&[usize]> = Batches::new(&order, 3, false).collect();
        assert_eq!(kept, [&[0, 1, 2][..], &[3, 4, 5], &[6]]);
        let dropped: Vec<&[usize]> = Batches::new(&order, 3, true).collect();
        assert_eq!(dropped, [&[0, 1, 2][..], &[3, 4, 5]]);
        assert_eq!(Batches::new(&order, 3, false).len(), 3);
        assert_eq!(Batches::new(&order, 3, true).len(), 2);
        assert_eq!(Batches::new(&order, 0, false).len(), 7);
        assert_eq!(Batches::new(&order, 100, true).len(), 0);
        assert_eq!(Batches::new(&order, 100, false).next(), Some(&order[..]));
        assert_eq!(batch_count(0, 4, false), 0);
    }

    #[test]
    fn gather_copies_rows_and_labels() {
        let data = Dataset::new(
            array![[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]],
            vec![2],
            array![0.0, 1.0, 2.0],
        )
        .unwrap();
        let mut x = Array2::from_elem((4, 2), -1.0);
        let mut y = Array1::from_elem(4, -1.0);
        gather(&data, &[2, 0, 2], &mut x, &mut y);
        assert_eq!(x, array![[4.0, 5.0], [0.0, 1.0], [4.0, 5.0], [-1.0, -1.0]]);
        assert_eq!(y, array![2.0, 0.0, 2.0, -1.0]);
    }

    #[test]
    fn gather_handles_non_contiguous_layouts() {
        let features =
            Array2::from_shape_vec((3, 2).f(), vec![0.0, 2.0, 4.0, 1.0, 3.0, 5.0]).unwrap();
        let data = Dataset::new(features, vec![2], array![0.0, 1.0, 2.0]).unwrap();
        let mut x = Array2::<f32>::zeros((2, 2).f());
        let mut y = Array1::zeros(2);
        gather(&data, &[1, 2], &mut x, &mut y);
        assert_eq!(x, array![[2.0, 3.0], [4.0, 5.0]]);
        assert_eq!(x.slice(s![.., 0]), array![2.0, 4.0]);
        assert_eq!(y, array![1.0, 2.0]);
    }

    #[test]
    fn gather_rows_fills_a_flat_buffer_from_either_layout() {
        let rows = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let c = Array2::from_shape_vec((3, 2), rows).unwrap();
        let f = Array2::from_shape_vec((3, 2).f(), vec![0.0, 2.0, 4.0, 1.0, 3.0, 5.0]).unwrap();
        for features in [c, f] {
            let data = Dataset::new(features, vec![2], array![0.0, 1.0, 2.0]).unwrap();
            let mut out = [-1.0f32; 7];
            gather_rows(&data, &[2, 0, 1], &mut out);
            assert_eq!(out, [4.0, 5.0, 0.0, 1.0, 2.0, 3.0, -1.0]);
        }
    }
}
