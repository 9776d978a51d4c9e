//! Large feature matrices backed by 2 MiB pages, where the operating system allows it.
//!
//! An epoch reads every row of the training set once, a batch of rows at a time. On 4 KiB
//! pages, MNIST-sized data (60,000 × 784 `f32`, 188 MB) spans 46,000 pages, far more than
//! the processor's address-translation cache holds (about 2,000 entries), so reading a
//! batch of 64 rows walks the page tables some fifty times, each walk a trip to memory
//! while the copy waits. On 2 MiB pages the same set is 90 pages. On the benchmark of
//! `dsl-examples/bench_mlp.net` (1 thread, batch 64) that is 8-10 % more samples per
//! second; the batch copy, the biggest cost outside the products and the optimizer, goes
//! from about 12 % of a step to about 4 % (`perf record` on `knit bench`).
//!
//! Linux backs a region with huge pages when it is asked to (`madvise(MADV_HUGEPAGE)`)
//! before its pages are first touched, and since 6.1 moves a region that is already
//! written onto them when asked (`MADV_COLLAPSE`), unless transparent huge pages are turned
//! off (`/sys/kernel/mm/transparent_hugepage/enabled` set to `never`). Elsewhere, or when
//! the request is declined, the matrix lives on ordinary pages: only its speed differs.

use crate::batch::copy_rows;
use ndarray::{Array2, ArrayView2};

/// A huge page: the alignment and the unit of the advice.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// The rows `indices` of `source`, in that order, copied into a new matrix on huge pages
/// where they apply (see the module documentation).
///
/// # Panics
/// If an index is not below `source.nrows()`.
pub(crate) fn select_rows(source: ArrayView2<f32>, indices: &[usize]) -> Array2<f32> {
    let mut values = vec![0.0f32; indices.len() * source.ncols()];
    advise(&values, Advice::BackWithHugePages);
    copy_rows(source, indices, &mut values);
    advise(&values, Advice::CollapseIntoHugePages);
    Array2::from_shape_vec((indices.len(), source.ncols()), values)
        .expect("one row of values per index")
}

/// `len` zeros in a fresh allocation advised to be backed by huge pages once written: where
/// a loader decodes a file's values, which then become the training set without a copy.
pub(crate) fn zeroed(len: usize) -> Vec<f32> {
    let values = vec![0.0f32; len];
    advise(&values, Advice::BackWithHugePages);
    values
}

/// Asks for `values`, already written, to be moved onto huge pages (both advices: a
/// region filled before it was advised, such as a CSV file's values, gets them now; one
/// from [`zeroed`] keeps the pages it has).
pub(crate) fn collapse(values: &[f32]) {
    advise(values, Advice::BackWithHugePages);
    advise(values, Advice::CollapseIntoHugePages);
}

/// What to ask of the kernel about a region.
#[derive(Clone, Copy)]
enum Advice {
    /// Back the region with huge pages when it is first touched (`MADV_HUGEPAGE`). A large
    /// zeroed vector comes from `calloc` as fresh, untouched pages, so its first writes
    /// are the faults that this shapes; memory reused from the heap was touched already.
    BackWithHugePages,
    /// Move what is already in the region onto huge pages now (`MADV_COLLAPSE`, Linux
    /// 6.1): for the memory the first advice came too late for. Pages already huge are
    /// left as they are.
    CollapseIntoHugePages,
}

/// Gives `advice` about the whole huge pages inside `values`.
#[cfg(target_os = "linux")]
fn advise(values: &[f32], advice: Advice) {
    /// `MADV_COLLAPSE` from `<linux/mman.h>` (the libc crate exports it for glibc only).
    const MADV_COLLAPSE: libc::c_int = 25;
    let start = values.as_ptr() as usize;
    let end = start + std::mem::size_of_val(values);
    let (first, last) = (
        start.next_multiple_of(HUGE_PAGE),
        end / HUGE_PAGE * HUGE_PAGE,
    );
    if first >= last {
        return;
    }
    let flag = match advice {
        Advice::BackWithHugePages => libc::MADV_HUGEPAGE,
        Advice::CollapseIntoHugePages => MADV_COLLAPSE,
    };
    // SAFETY: [first, last) lies inside `values`' allocation, which stays mapped while this
    // runs; both advices choose how the region is backed and keep its contents. A refusal
    // (an older kernel, huge pages turned off, no free huge page) leaves ordinary pages,
    // which are correct, only slower; so the result is not checked.
    unsafe {
        libc::madvise(first as *mut libc::c_void, last - first, flag);
    }
}

/// Other systems: ordinary pages.
#[cfg(not(target_os = "linux"))]
fn advise(_values: &[f32], _advice: Advice) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_holds_the_rows_asked_for_in_their_order() {
        let source = Array2::from_shape_fn((1500, 1000), |(i, j)| (i * 1000 + j) as f32);
        for indices in [vec![], vec![3, 0, 3], (0..1500).rev().collect::<Vec<_>>()] {
            let copy = select_rows(source.view(), &indices);
            assert_eq!(copy.dim(), (indices.len(), 1000));
            for (row, &i) in copy.rows().into_iter().zip(&indices) {
                assert_eq!(row, source.row(i));
            }
        }
        let no_columns = select_rows(Array2::zeros((4, 0)).view(), &[1, 2]);
        assert_eq!(no_columns.dim(), (2, 0));
    }

    /// On Linux with transparent huge pages available, a matrix large enough to hold whole
    /// huge pages is backed by them once written (checked in `/proc/self/smaps`).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_large_matrix_is_backed_by_huge_pages_when_the_system_allows_them() {
        let setting = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if !(setting.contains("[madvise]") || setting.contains("[always]")) {
            return; // Huge pages are off (or unknown) here: nothing to observe.
        }
        let source = Array2::from_elem((1, 1024), 1.0);
        let m = select_rows(source.view(), &[0; 4096]); // 16 MiB
        let start = m.as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let huge_kib = anon_huge_kib_between(&smaps, start, start + (16 << 20));
        assert!(
            huge_kib >= 12 * 1024,
            "expected at least 12 of the 16 MiB on huge pages, found {huge_kib} KiB"
        );
    }

    /// The sum of `AnonHugePages` over the mappings in `smaps` that overlap `[start, end)`
    /// (the advice splits the matrix's mapping at huge-page boundaries).
    #[cfg(target_os = "linux")]
    fn anon_huge_kib_between(smaps: &str, start: usize, end: usize) -> usize {
        let mut overlaps = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let range = line
                .split_once(' ')
                .and_then(|(range, _)| range.split_once('-'));
            if let Some((lo, hi)) = range {
                if let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                {
                    overlaps = lo < end && start < hi;
                    continue;
                }
            }
            if let Some(rest) = line.strip_prefix("AnonHugePages:").filter(|_| overlaps) {
                kib += rest
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<usize>()
                    .unwrap_or(0);
            }
        }
        kib
    }
}
