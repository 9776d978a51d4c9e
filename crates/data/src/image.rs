//! In-place geometric operations on one image stored channel-major (`[C, H, W]`, a row of
//! `C·H·W` values as PyTorch's NCHW without the batch axis): an integer shift with zero fill
//! and the two flips. The building blocks of [`Augmentation`](crate::Augmentation); they
//! allocate nothing.

use crate::augment::{FlipAxis, ImageShape};

/// Shifts every channel of `image` by `dy` rows and `dx` columns, filling with 0:
/// `out[c, y, x] = in[c, y − dy, x − dx]` where that pixel exists, else 0. Positive `dy`
/// moves the content down, positive `dx` to the right; a shift of a whole side or more
/// leaves zeros (`T::default()`: the images are of `f32` or `f64`).
///
/// # Panics
/// If `image` does not hold `shape.values()` values.
pub(crate) fn shift<T: Copy + Default>(image: &mut [T], shape: ImageShape, dy: isize, dx: isize) {
    assert_eq!(image.len(), shape.values(), "shift: image size");
    let (h, w) = (shape.height, shape.width);
    if dy == 0 && dx == 0 {
        return;
    }
    for plane in image.chunks_exact_mut((h * w).max(1)) {
        shift_plane(plane, h, w, dy, dx);
    }
}

/// [`shift`] on one `h × w` plane.
fn shift_plane<T: Copy + Default>(plane: &mut [T], h: usize, w: usize, dy: isize, dx: isize) {
    let (ady, adx) = (dy.unsigned_abs(), dx.unsigned_abs());
    if ady >= h || adx >= w {
        plane.fill(T::default());
        return;
    }
    // Destination columns dst..dst + len take source columns src..src + len.
    let len = w - adx;
    let (dst, src) = if dx >= 0 { (adx, 0) } else { (0, adx) };
    let rows = h - ady;
    let (ydst, ysrc) = if dy >= 0 { (ady, 0) } else { (0, ady) };
    let mut move_row = |k: usize| {
        let (to, from) = ((ydst + k) * w, (ysrc + k) * w);
        plane.copy_within(from + src..from + src + len, to + dst);
        plane[to..to + dst].fill(T::default());
        plane[to + dst + len..to + w].fill(T::default());
    };
    // Rows move like `memmove`: downwards from the bottom, upwards from the top, so that no
    // source row is overwritten before it is read.
    if dy > 0 {
        (0..rows).rev().for_each(&mut move_row);
    } else {
        (0..rows).for_each(&mut move_row);
    }
    let blank = if dy >= 0 { 0..ady * w } else { rows * w..h * w };
    plane[blank].fill(T::default());
}

/// Mirrors every channel of `image`: horizontally `out[c, y, x] = in[c, y, W − 1 − x]`,
/// vertically `out[c, y, x] = in[c, H − 1 − y, x]`.
///
/// # Panics
/// If `image` does not hold `shape.values()` values.
pub(crate) fn flip<T>(image: &mut [T], shape: ImageShape, axis: FlipAxis) {
    assert_eq!(image.len(), shape.values(), "flip: image size");
    let (h, w) = (shape.height, shape.width);
    for plane in image.chunks_exact_mut((h * w).max(1)) {
        match axis {
            FlipAxis::Horizontal => plane.chunks_exact_mut(w).for_each(<[T]>::reverse),
            FlipAxis::Vertical => {
                for y in 0..h / 2 {
                    let (top, bottom) = plane.split_at_mut((h - 1 - y) * w);
                    top[y * w..(y + 1) * w].swap_with_slice(&mut bottom[..w]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: ImageShape = ImageShape {
        channels: 2,
        height: 3,
        width: 4,
    };

    fn image() -> Vec<f32> {
        (1..=SHAPE.values()).map(|v| v as f32).collect()
    }

    /// The straightforward definition: a fresh image read from the original.
    fn shifted(src: &[f32], s: ImageShape, dy: isize, dx: isize) -> Vec<f32> {
        let mut out = vec![0.0; src.len()];
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    let (sy, sx) = (y as isize - dy, x as isize - dx);
                    if (0..s.height as isize).contains(&sy) && (0..s.width as isize).contains(&sx) {
                        out[(c * s.height + y) * s.width + x] =
                            src[(c * s.height + sy as usize) * s.width + sx as usize];
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_shift_matches_the_reference_and_zero_fills() {
        for dy in -4..=4 {
            for dx in -5..=5 {
                let mut got = image();
                shift(&mut got, SHAPE, dy, dx);
                assert_eq!(got, shifted(&image(), SHAPE, dy, dx), "({dy}, {dx})");
            }
        }
        let mut got = image();
        shift(&mut got, SHAPE, 1, -1);
        // Channel 0 is 1..=12 in rows [1 2 3 4] [5 6 7 8] [9 10 11 12].
        assert_eq!(&got[..12], [0., 0., 0., 0., 2., 3., 4., 0., 6., 7., 8., 0.]);
    }

    #[test]
    fn flips_mirror_each_channel() {
        let mut h = image();
        flip(&mut h, SHAPE, FlipAxis::Horizontal);
        let mut v = image();
        flip(&mut v, SHAPE, FlipAxis::Vertical);
        let at = |img: &[f32], c: usize, y: usize, x: usize| img[(c * 3 + y) * 4 + x];
        for c in 0..2 {
            for y in 0..3 {
                for x in 0..4 {
                    assert_eq!(at(&h, c, y, x), at(&image(), c, y, 3 - x));
                    assert_eq!(at(&v, c, y, x), at(&image(), c, 2 - y, x));
                }
            }
        }
        flip(&mut h, SHAPE, FlipAxis::Horizontal);
        assert_eq!(h, image(), "a flip is its own inverse");
        let even = ImageShape {
            channels: 1,
            height: 2,
            width: 1,
        };
        let mut two = vec![1.0, 2.0];
        flip(&mut two, even, FlipAxis::Vertical);
        assert_eq!(two, [2.0, 1.0]);
    }
}
