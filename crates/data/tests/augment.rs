//! Augmentation of image rows against straightforward references: which offsets and flips
//! occur and how often, that settings of 0 change nothing, and that the draws depend only on
//! `(seed, epoch, row)`.

use knit_data::{Augmentation, Extent, FlipAxis, ImageShape, Transform};

const SHAPE: ImageShape = ImageShape {
    channels: 2,
    height: 9,
    width: 9,
};

/// An image whose values 1, 2, ... tell every pixel apart.
fn image(shape: ImageShape) -> Vec<f32> {
    (1..=shape.values()).map(|v| v as f32).collect()
}

fn augmented(aug: &Augmentation, seed: u64, epoch: u64, row: usize) -> Vec<f32> {
    let mut out = image(aug.image);
    aug.apply_row(seed, epoch, row, &mut out);
    out
}

/// The offset `(d_y, d_x)` of a shifted image: where the centre pixel of channel 0 went.
/// Checks on the way that the result is the reference shift of the original.
fn offset(original: &[f32], out: &[f32], s: ImageShape) -> (isize, isize) {
    let centre = original[(s.height / 2) * s.width + s.width / 2];
    let at = out[..s.height * s.width]
        .iter()
        .position(|&v| v == centre)
        .expect("the centre pixel stays in the image");
    let (dy, dx) = (
        (at / s.width) as isize - (s.height / 2) as isize,
        (at % s.width) as isize - (s.width / 2) as isize,
    );
    for c in 0..s.channels {
        for y in 0..s.height {
            for x in 0..s.width {
                let (sy, sx) = (y as isize - dy, x as isize - dx);
                let inside =
                    (0..s.height as isize).contains(&sy) && (0..s.width as isize).contains(&sx);
                let want = if inside {
                    original[(c * s.height + sy as usize) * s.width + sx as usize]
                } else {
                    0.0
                };
                assert_eq!(out[(c * s.height + y) * s.width + x], want, "({dy}, {dx})");
            }
        }
    }
    (dy, dx)
}

#[test]
fn crop_with_padding_shifts_uniformly_over_every_offset_and_zero_fills() {
    let aug = Augmentation::new(SHAPE, vec![Transform::crop(2)]).unwrap();
    let mut counts = [[0usize; 5]; 5];
    let rows = 5000;
    for row in 0..rows {
        let (dy, dx) = offset(&image(SHAPE), &augmented(&aug, 11, 3, row), SHAPE);
        counts[(dy + 2) as usize][(dx + 2) as usize] += 1;
    }
    // 25 offsets, 200 expected each; the standard deviation is about 14.
    for row in &counts {
        for &c in row {
            assert!((140..=260).contains(&c), "{counts:?}");
        }
    }
}

#[test]
fn fractional_translation_rounds_a_uniform_offset() {
    // f·W = 0.25 · 8 = 2: round(U(−2, 2)) is ±2 with probability 1/8, −1, 0, 1 with 1/4.
    let shape = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };
    let aug = Augmentation::new(shape, vec![Transform::translate(Extent::Fraction(0.25))]).unwrap();
    let mut counts = [0usize; 5];
    let rows = 8000;
    for row in 0..rows {
        let (dy, dx) = offset(&image(shape), &augmented(&aug, 4, 0, row), shape);
        counts[(dy + 2) as usize] += 1;
        counts[(dx + 2) as usize] += 1;
    }
    let expected = [0.125, 0.25, 0.25, 0.25, 0.125];
    for (c, p) in counts.iter().zip(expected) {
        let f = *c as f64 / (2 * rows) as f64;
        assert!((f - p).abs() < 0.015, "{counts:?}");
    }
}

#[test]
fn each_axis_draws_its_own_extent() {
    let aug = Augmentation::new(
        SHAPE,
        vec![Transform::Shift {
            vertical: Extent::Pixels(0),
            horizontal: Extent::Pixels(3),
        }],
    )
    .unwrap();
    let mut seen = [false; 7];
    for row in 0..400 {
        let (dy, dx) = offset(&image(SHAPE), &augmented(&aug, 1, 0, row), SHAPE);
        assert_eq!(dy, 0);
        seen[(dx + 3) as usize] = true;
    }
    assert!(seen.iter().all(|&s| s), "{seen:?}");
}

#[test]
fn flips_mirror_with_their_probability() {
    let at = |img: &[f32], c: usize, y: usize, x: usize| img[(c * 9 + y) * 9 + x];
    let original = image(SHAPE);
    for (axis, p) in [(FlipAxis::Horizontal, 0.5), (FlipAxis::Vertical, 0.3)] {
        let aug = Augmentation::new(
            SHAPE,
            vec![Transform::Flip {
                axis,
                probability: p,
            }],
        )
        .unwrap();
        let rows = 4000;
        let mut flipped = 0;
        for row in 0..rows {
            let out = augmented(&aug, 8, 1, row);
            if out == original {
                continue;
            }
            flipped += 1;
            for (c, y, x) in
                (0..2).flat_map(|c| (0..9).flat_map(move |y| (0..9).map(move |x| (c, y, x))))
            {
                let want = match axis {
                    FlipAxis::Horizontal => at(&original, c, y, 8 - x),
                    FlipAxis::Vertical => at(&original, c, 8 - y, x),
                };
                assert_eq!(at(&out, c, y, x), want);
            }
        }
        let f = flipped as f64 / rows as f64;
        assert!((f - p).abs() < 0.03, "{axis:?}: {f}");
    }
}

#[test]
fn settings_of_zero_change_nothing_and_a_certain_flip_always_flips() {
    let identity = Augmentation::new(
        SHAPE,
        vec![
            Transform::crop(0),
            Transform::translate(Extent::Fraction(0.0)),
            Transform::Flip {
                axis: FlipAxis::Horizontal,
                probability: 0.0,
            },
        ],
    )
    .unwrap();
    let always = Augmentation::new(
        SHAPE,
        vec![Transform::Flip {
            axis: FlipAxis::Vertical,
            probability: 1.0,
        }],
    )
    .unwrap();
    for row in 0..50 {
        assert_eq!(augmented(&identity, 2, 0, row), image(SHAPE));
        assert_ne!(augmented(&always, 2, 0, row), image(SHAPE));
    }
}

#[test]
fn the_draws_depend_on_seed_epoch_and_row_only() {
    let aug = Augmentation::new(
        SHAPE,
        vec![
            Transform::crop(2),
            Transform::Flip {
                axis: FlipAxis::Horizontal,
                probability: 0.5,
            },
        ],
    )
    .unwrap();
    let rows = [7usize, 3, 12, 0, 5, 3];
    let gathered: Vec<f32> = rows.iter().flat_map(|_| image(SHAPE)).collect();
    let mut whole = gathered.clone();
    aug.apply(5, 2, &rows, &mut whole);
    // In two batches of another size, and in the reverse order: the same images.
    let mut halves = gathered.clone();
    let (a, b) = halves.split_at_mut(4 * SHAPE.values());
    aug.apply(5, 2, &rows[..4], a);
    aug.apply(5, 2, &rows[4..], b);
    assert_eq!(halves, whole);
    let reversed: Vec<usize> = rows.iter().rev().copied().collect();
    let mut backwards = gathered.clone();
    aug.apply(5, 2, &reversed, &mut backwards);
    for (k, image) in backwards.chunks(SHAPE.values()).enumerate() {
        let j = rows.len() - 1 - k;
        assert_eq!(image, &whole[j * SHAPE.values()..(j + 1) * SHAPE.values()]);
    }
    // Row 3 appears twice and is augmented the same both times.
    assert_eq!(
        whole[SHAPE.values()..2 * SHAPE.values()],
        whole[5 * SHAPE.values()..]
    );
    // Another epoch, seed or row draws differently (among 30 rows, almost surely).
    let differs = |f: &dyn Fn(usize) -> Vec<f32>| (0..30).any(|r| f(r) != augmented(&aug, 5, 2, r));
    assert!(differs(&|r| augmented(&aug, 5, 3, r)));
    assert!(differs(&|r| augmented(&aug, 6, 2, r)));
    assert!(differs(&|r| augmented(&aug, 5, 2, r + 1)));
    // Values after the batch's images are left alone.
    let mut longer = image(SHAPE);
    longer.extend([-1.0; 3]);
    aug.apply(5, 2, &[0], &mut longer);
    assert_eq!(longer[SHAPE.values()..], [-1.0; 3]);
}

#[test]
fn out_of_range_settings_are_refused_with_their_values() {
    let err = |image, t| Augmentation::new(image, vec![t]).unwrap_err().to_string();
    assert_eq!(
        err(SHAPE, Transform::translate(Extent::Fraction(1.5))),
        "augmentation: a translation fraction must be in [0, 1], found 1.5"
    );
    assert_eq!(
        err(
            SHAPE,
            Transform::Flip {
                axis: FlipAxis::Horizontal,
                probability: f64::NAN
            }
        ),
        "augmentation: a flip probability must be in [0, 1], found NaN"
    );
    let flat = ImageShape {
        channels: 1,
        height: 0,
        width: 4,
    };
    assert_eq!(
        err(flat, Transform::crop(1)),
        "augmentation: the image shape [1, 0, 4] has an empty axis; expected [C, H, W] with every side ≥ 1"
    );
    assert_eq!(
        ImageShape::from_dims(&[1, 28, 28]).map(|s| s.values()),
        Some(784)
    );
    assert_eq!(ImageShape::from_dims(&[784]), None);
}

#[test]
fn a_shift_past_the_image_blanks_it_even_when_absurdly_large() {
    let aug = Augmentation::new(SHAPE, vec![Transform::crop(usize::MAX)]).unwrap();
    let blank = vec![0.0; SHAPE.values()];
    // Offsets of 9 or more pixels (the side) blank the image; nearly all draws are that far.
    let blanked = (0..20)
        .filter(|&row| augmented(&aug, 1, 0, row) == blank)
        .count();
    assert_eq!(blanked, 20);
}
