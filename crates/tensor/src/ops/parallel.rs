//! Splitting an op's element loops over the executor's threads.
//!
//! The matrix products split themselves (`linalg`); the loops around them (patch matrices,
//! pooling windows, copies) are cut here into contiguous runs of whole rows, one run per
//! thread, with `rayon::join`. Each row is computed by exactly one thread with the same
//! arithmetic whatever the split, so results do not depend on the number of threads, and
//! inside the executor's pool `join` allocates nothing.

/// Calls `f(first, rows)` on `data` cut into rows of `row_len` elements, the rows split
/// into up to `threads` contiguous runs computed in parallel; `first` is the index of the
/// run's first row and `rows` holds its whole rows. With one thread (or one row) `f` is
/// called once with everything.
///
/// # Panics
/// If `row_len` is zero or does not divide `data.len()`.
pub(crate) fn for_rows<T, F>(data: &mut [T], row_len: usize, threads: usize, f: &F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let rows = whole_rows(data.len(), row_len);
    // A `Vec` of zero-sized values allocates nothing.
    let mut none = vec![(); rows];
    split(
        (data, row_len),
        (&mut none, 1),
        0,
        threads.max(1),
        &|first, rows, _| f(first, rows),
    );
}

/// Elements an element-wise loop needs per thread before [`for_spans`] splits it: below
/// this (about 10 µs of work) handing half to another thread costs more than it saves.
pub(crate) const MIN_SPAN: usize = 1 << 15;

/// Calls `f(first, part)` on contiguous parts of `data` (element `first` onward), one per
/// thread, using only as many threads as give each at least [`MIN_SPAN`] elements: the split
/// of an element-wise loop, whose results cannot depend on it.
pub(crate) fn for_spans<T, F>(data: &mut [T], threads: usize, f: &F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let threads = threads.min(data.len() / MIN_SPAN).max(1);
    for_rows(data, 1, threads, f);
}

/// [`for_rows`] over two arrays with the same number of rows (of `a_len` and `b_len`
/// elements): `f(first, a_rows, b_rows)` gets the same rows of both.
///
/// # Panics
/// If a row length is zero or does not divide its array, or the row counts differ.
pub(crate) fn for_row_pairs<A, B, F>(
    a: (&mut [A], usize),
    b: (&mut [B], usize),
    threads: usize,
    f: &F,
) where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync,
{
    let rows = whole_rows(a.0.len(), a.1);
    assert_eq!(
        rows,
        whole_rows(b.0.len(), b.1),
        "for_row_pairs: row counts differ"
    );
    split(a, b, 0, threads.max(1), f);
}

/// The number of rows of `row_len` in `len` elements.
fn whole_rows(len: usize, row_len: usize) -> usize {
    assert!(
        row_len > 0 && len.is_multiple_of(row_len),
        "for_rows: {len} elements are not whole rows of {row_len}"
    );
    len / row_len
}

/// One level of [`for_row_pairs`]: the rows start at row `first`.
fn split<A, B, F>(
    (a, a_len): (&mut [A], usize),
    (b, b_len): (&mut [B], usize),
    first: usize,
    threads: usize,
    f: &F,
) where
    A: Send,
    B: Send,
    F: Fn(usize, &mut [A], &mut [B]) + Sync,
{
    let rows = a.len() / a_len;
    if threads <= 1 || rows <= 1 {
        if rows > 0 {
            f(first, a, b);
        }
        return;
    }
    let left_threads = threads / 2;
    let left_rows = (rows * left_threads / threads).max(1);
    let (a_left, a_right) = a.split_at_mut(left_rows * a_len);
    let (b_left, b_right) = b.split_at_mut(left_rows * b_len);
    rayon::join(
        || split((a_left, a_len), (b_left, b_len), first, left_threads, f),
        || {
            let rest = threads - left_threads;
            split(
                (a_right, a_len),
                (b_right, b_len),
                first + left_rows,
                rest,
                f,
            )
        },
    );
}

#[cfg(test)]
mod tests {
    use super::for_rows;

    #[test]
    fn every_row_is_visited_once_with_its_index_whatever_the_threads() {
        for threads in 1..=5 {
            let mut data = vec![0usize; 7 * 3];
            for_rows(&mut data, 3, threads, &|first, rows: &mut [usize]| {
                for (r, row) in rows.chunks_exact_mut(3).enumerate() {
                    row.iter_mut().for_each(|v| *v += first + r + 1);
                }
            });
            let expected: Vec<usize> = (1..=7).flat_map(|r| [r; 3]).collect();
            assert_eq!(data, expected, "threads {threads}");
        }
    }

    #[test]
    #[should_panic(expected = "not whole rows")]
    fn a_partial_row_is_refused() {
        for_rows(&mut [0.0f32; 5], 2, 1, &|_, _: &mut [f32]| {});
    }
}
