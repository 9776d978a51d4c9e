//! Data augmentation: random geometric transforms of image rows, drawn afresh for every
//! training example in every epoch, with torchvision's semantics.
//!
//! A row is one image `[C, H, W]` stored channel-major (`C·H·W` values, PyTorch's NCHW
//! without the batch axis). The transforms of an [`Augmentation`] apply in order, like
//! `torchvision.transforms.Compose`:
//!
//! * [`Transform::Shift`] moves the content by `(d_y, d_x)` pixels with zero fill,
//!   `out[c, y, x] = in[c, y − d_y, x − d_x]` (0 outside the image). With
//!   [`Extent::Pixels`]`(p)` each offset is uniform over the integers `−p..=p`: exactly
//!   `RandomCrop(size = (H, W), padding = p)` (pad every side with `p` zeros, take a uniform
//!   `H × W` window: the window at top `p − d_y`, left `p − d_x`). With
//!   [`Extent::Fraction`]`(f)` the offset is `round(U(−f·side, f·side))` (ties to even, as
//!   Python's `round`), `RandomAffine(degrees = 0, translate = (f, f))`.
//! * [`Transform::Flip`] mirrors the image with probability `p` (drawn as `U[0, 1) < p`):
//!   horizontally `out[c, y, x] = in[c, y, W − 1 − x]` (`RandomHorizontalFlip(p)`) or
//!   vertically `out[c, y, x] = in[c, H − 1 − y, x]` (`RandomVerticalFlip(p)`).
//!
//! The randomness of row `r` of the dataset in epoch `e` is its own ChaCha8 stream keyed by
//! `(seed, e, r)`, so a batch's augmented rows do not depend on the batch size, the order of
//! the rows, the number of threads or where a run was resumed.

use crate::image::{flip, shift};
use crate::rng::{below, row_stream, unit, Purpose};
use crate::DataError;

/// The per-example shape of an image row: `channels · height · width` values, channel-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageShape {
    /// `C`.
    pub channels: usize,
    /// `H`, the number of rows of pixels.
    pub height: usize,
    /// `W`, the number of columns of pixels.
    pub width: usize,
}

impl ImageShape {
    /// The shape `[C, H, W]` of a model input, or `None` when `dims` has not three axes.
    pub fn from_dims(dims: &[usize]) -> Option<ImageShape> {
        match *dims {
            [channels, height, width] => Some(ImageShape {
                channels,
                height,
                width,
            }),
            _ => None,
        }
    }

    /// The number of values of one image, `C·H·W`.
    pub fn values(&self) -> usize {
        self.channels * self.height * self.width
    }
}

/// How far a random shift may go along one axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extent {
    /// Up to `p` pixels: the offset is uniform over the integers `−p..=p`.
    Pixels(usize),
    /// Up to a fraction `f` in `[0, 1]` of the side `s`: the offset is `round(U(−f·s, f·s))`,
    /// ties to even.
    Fraction(f64),
}

impl Extent {
    /// One offset along an axis of `side` pixels.
    fn draw(self, rng: &mut impl rand_chacha::rand_core::RngCore, side: usize) -> isize {
        match self {
            Extent::Pixels(p) => {
                // Any shift past the image blanks it alike; the cap keeps the sums in range.
                let p = p.min(1 << 40);
                below(rng, 2 * p + 1) as isize - p as isize
            }
            Extent::Fraction(f) => {
                let max = f * side as f64;
                let offset = (unit(rng) * 2.0 - 1.0) * max;
                // NaN (a fraction set by hand) becomes 0; the cast saturates otherwise.
                offset.round_ties_even() as isize
            }
        }
    }

    /// Whether the extent is a valid setting: a fraction finite and in `[0, 1]`.
    fn check(self) -> Result<(), String> {
        match self {
            Extent::Fraction(f) if !(0.0..=1.0).contains(&f) => Err(format!(
                "a translation fraction must be in [0, 1], found {f}"
            )),
            _ => Ok(()),
        }
    }
}

/// Which way a flip mirrors the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlipAxis {
    /// Left and right swap (`RandomHorizontalFlip`).
    Horizontal,
    /// Top and bottom swap (`RandomVerticalFlip`).
    Vertical,
}

/// One random transform of an image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transform {
    /// A random shift with zero fill (random crop with padding, random translation); the
    /// vertical offset is drawn first.
    Shift {
        /// How far along the height.
        vertical: Extent,
        /// How far along the width.
        horizontal: Extent,
    },
    /// A mirror image with probability `probability`.
    Flip {
        /// Which way.
        axis: FlipAxis,
        /// The probability in `[0, 1]` of flipping (torchvision's `p`, default 0.5).
        probability: f64,
    },
}

impl Transform {
    /// `RandomCrop(size = input size, padding)`: a shift of up to `padding` pixels on each
    /// axis.
    pub fn crop(padding: usize) -> Transform {
        Transform::translate(Extent::Pixels(padding))
    }

    /// A random translation of up to `extent` on each axis.
    pub fn translate(extent: Extent) -> Transform {
        Transform::Shift {
            vertical: extent,
            horizontal: extent,
        }
    }

    /// Applies the transform to one image with the draws of `rng`.
    fn apply<T: Copy + Default>(
        &self,
        rng: &mut impl rand_chacha::rand_core::RngCore,
        image: &mut [T],
        shape: ImageShape,
    ) {
        match *self {
            Transform::Shift {
                vertical,
                horizontal,
            } => {
                let dy = vertical.draw(rng, shape.height);
                let dx = horizontal.draw(rng, shape.width);
                shift(image, shape, dy, dx);
            }
            Transform::Flip { axis, probability } => {
                if unit(rng) < probability {
                    flip(image, shape, axis);
                }
            }
        }
    }

    /// Whether the transform's settings are in range.
    fn check(&self) -> Result<(), String> {
        match *self {
            Transform::Shift {
                vertical,
                horizontal,
            } => vertical.check().and(horizontal.check()),
            Transform::Flip { probability, .. } if !(0.0..=1.0).contains(&probability) => Err(
                format!("a flip probability must be in [0, 1], found {probability}"),
            ),
            Transform::Flip { .. } => Ok(()),
        }
    }
}

/// The random transforms applied to every training image, in order.
///
/// ```
/// use knit_data::{Augmentation, FlipAxis, ImageShape, Transform};
///
/// let image = ImageShape { channels: 1, height: 28, width: 28 };
/// let flip = Transform::Flip { axis: FlipAxis::Horizontal, probability: 0.5 };
/// let augmentation = Augmentation::new(image, vec![Transform::crop(2), flip])?;
/// // A gathered batch of the dataset rows 4 and 9, augmented in place for epoch 0.
/// let mut batch = vec![0.5f32; 2 * 784];
/// augmentation.apply(42, 0, &[4, 9], &mut batch);
/// let mut again = vec![0.5f32; 2 * 784];
/// augmentation.apply(42, 0, &[4, 9], &mut again);
/// assert_eq!(batch, again);
/// # Ok::<(), knit_data::DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Augmentation {
    /// The shape of each image row.
    pub image: ImageShape,
    /// The transforms, applied first to last.
    pub transforms: Vec<Transform>,
}

impl Augmentation {
    /// An augmentation of images of shape `image`, checked (see [`Augmentation::check`]).
    pub fn new(image: ImageShape, transforms: Vec<Transform>) -> Result<Augmentation, DataError> {
        let augmentation = Augmentation { image, transforms };
        augmentation.check()?;
        Ok(augmentation)
    }

    /// Checks that the image has no empty axis and that every fraction and probability is
    /// in `[0, 1]`.
    pub fn check(&self) -> Result<(), DataError> {
        let ImageShape {
            channels,
            height,
            width,
        } = self.image;
        if channels == 0 || height == 0 || width == 0 {
            return Err(DataError::Augmentation {
                message: format!(
                    "the image shape [{channels}, {height}, {width}] has an empty axis; expected [C, H, W] with every side ≥ 1"
                ),
            });
        }
        for t in &self.transforms {
            t.check()
                .map_err(|message| DataError::Augmentation { message })?;
        }
        Ok(())
    }

    /// Augments `image`, the values of row `row` of the dataset in epoch `epoch`, in place,
    /// with the draws of the stream keyed by `(seed, epoch, row)`.
    ///
    /// # Panics
    /// If `image` does not hold [`ImageShape::values`] values.
    pub fn apply_row<T: Copy + Default>(&self, seed: u64, epoch: u64, row: usize, image: &mut [T]) {
        let mut rng = row_stream(seed, Purpose::Augment, epoch, row as u64);
        for t in &self.transforms {
            t.apply(&mut rng, image, self.image);
        }
    }

    /// Augments a gathered batch in place: `batch` holds the images of the dataset rows
    /// `rows`, one after another (what [`gather_rows`](crate::gather_rows) wrote); values
    /// after them are left alone. Allocates nothing.
    ///
    /// # Panics
    /// If `batch` holds fewer than `rows.len()` images.
    pub fn apply<T: Copy + Default>(&self, seed: u64, epoch: u64, rows: &[usize], batch: &mut [T]) {
        let width = self.image.values();
        assert!(
            batch.len() >= rows.len() * width,
            "augment: {} images of {width} values do not fit {} values",
            rows.len(),
            batch.len()
        );
        for (image, &row) in batch.chunks_exact_mut(width.max(1)).zip(rows) {
            self.apply_row(seed, epoch, row, image);
        }
    }
}
