//! # knit-data
//!
//! What a knit program says about its data, as plain Rust values — where examples come from
//! ([`Source`]), how they are split ([`Split`]) and scaled ([`Scaling`]) — and the loading
//! half that turns those descriptions into examples in memory:
//!
//! * formats: CSV ([`load_csv`], header or not, label column by name or position, gzip), IDX,
//!   the MNIST format ([`load_idx`], gzip or not), NPY ([`load_npy`]) and NPZ ([`load_npz`]),
//!   and seeded synthetic sets ([`generate`]: XOR, two spirals, moons, Gaussian blobs);
//! * [`load`]: a whole [`DataSpec`] into training, validation and test [`Dataset`]s
//!   ([`Splits`]), split by fractions ([`partition`], stratified when asked), by lists of
//!   row indices in a JSON file ([`partition_by_indices`]) or from separate sources, scaled by a [`Scaler`] fitted on the training set;
//! * iteration: [`epoch_order`] (reshuffled each epoch from `(seed, epoch)`), [`Batches`],
//!   [`gather`] (no allocation) and [`bootstrap`] resamples for bagging;
//! * augmentation: [`Augmentation`], random shifts (crop with padding, translation) and
//!   flips of image rows `[C, H, W]`, seeded by `(seed, epoch, row)`, for training batches;
//! * labels: [`classes_of`] tells class indices from regression targets, [`one_hot`].
//!
//! Malformed files are [`DataError`]s naming the file, the line or byte offset, and what was
//! expected; nothing here panics on user input.
//!
//! ```
//! use knit_data::{epoch_order, gather, generate, Batches, Synthetic};
//! use ndarray::{Array1, Array2};
//!
//! let data = generate(&Synthetic::Moons, 100, 0.1, 42, 0)?;
//! let (mut x, mut y) = (Array2::<f32>::zeros((32, 2)), Array1::zeros(32));
//! let mut order = Vec::new();
//! for epoch in 0..2 {
//!     epoch_order(data.len(), true, 42, epoch, &mut order);
//!     for batch in Batches::new(&order, 32, false) {
//!         gather(&data, batch, &mut x, &mut y);
//!         // train on the first batch.len() rows of x and y
//!     }
//! }
//! # Ok::<(), knit_data::DataError>(())
//! ```

mod augment;
mod batch;
mod bootstrap;
mod csv;
mod dataset;
mod decode;
mod error;
mod huge_pages;
mod idx;
mod image;
mod index_split;
mod input;
mod labels;
mod limit;
mod load;
mod npy;
mod npz;
mod rng;
mod scale;
mod sequences;
mod spec;
mod split;
mod synthetic;

pub use self::augment::{Augmentation, Extent, FlipAxis, ImageShape, Transform};
pub use self::batch::{batch_count, epoch_order, gather, gather_rows, Batches};
pub use self::bootstrap::bootstrap;
pub use self::csv::{load_csv, load_csv_within, load_features_csv};
pub use self::dataset::Dataset;
pub use self::error::DataError;
pub use self::idx::{load_idx, load_idx_within, read_idx};
pub use self::index_split::partition_by_indices;
pub use self::labels::{classes_of, one_hot, one_hot_into, LabelRule, MAX_CLASSES};
pub use self::limit::{available_memory, Limit, LimitOrigin, DEFAULT_LIMIT};
pub use self::load::{load, load_for, load_source, Role, Splits};
pub use self::npy::{load_npy, load_npy_within, parse_npy, read_npy};
pub use self::npz::{load_npz, load_npz_within, Npz};
pub use self::scale::{Scaler, KIND_NAME, SCALE_NAME, SHIFT_NAME};
pub use self::spec::{
    DataSpec, Header, IndexSplit, LabelColumn, Scaling, Source, Split, Synthetic,
};
pub use self::split::{check_fractions, partition, Partition};
pub use self::synthetic::generate;
