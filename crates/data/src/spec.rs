//! Descriptions of datasets: sources, splits and scaling.

use std::path::PathBuf;

/// Which column of a CSV file holds the label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The last column (the default).
    Last,
    /// The first column.
    First,
    /// A 0-based column position.
    Index(usize),
    /// The column with this header name.
    Name(String),
}

/// Whether a CSV file starts with a header row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Header {
    /// Detect it: a first row with a non-numeric cell is a header.
    #[default]
    Auto,
    /// The first row is a header.
    Yes,
    /// Every row is data.
    No,
}

/// A synthetic dataset, generated from a seed.
#[derive(Clone, Debug, PartialEq)]
pub enum Synthetic {
    /// The four corners of the unit square with XOR labels, repeated `samples / 4` times with noise.
    Xor,
    /// Two interleaved spirals (2 classes).
    Spirals {
        /// How many half-turns each spiral makes.
        turns: f64,
    },
    /// Two interleaving half circles (2 classes).
    Moons,
    /// Features uniform in [0, 1) and labels uniform in `0..classes`, independent of each
    /// other: nothing to learn, a workload for benchmarks (PEERS.md's MLP benchmark data).
    Uniform {
        /// Number of features per example.
        features: usize,
        /// Number of classes.
        classes: usize,
    },
    /// The adding problem, a regression over sequences `[steps, 2]` (see `sequences.rs`).
    Adding {
        /// Time steps per sequence (at least 2).
        steps: usize,
    },
    /// The temporal-order problem, 4 classes over sequences `[steps, 8]` (see
    /// `sequences.rs`).
    TemporalOrder {
        /// Time steps per sequence (at least 10).
        steps: usize,
    },
    /// Gaussian blobs around `centers` random centres (one class each).
    Blobs {
        /// Number of blobs, and of classes.
        centers: usize,
        /// Standard deviation of each blob.
        std: f64,
    },
}

/// Where examples come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A CSV file, plain or gzip-compressed (told by its first bytes, so `x.csv.gz` works).
    Csv {
        /// The file, relative to the program file's folder.
        path: PathBuf,
        /// The label column.
        label: LabelColumn,
        /// Whether the first row is a header.
        header: Header,
    },
    /// A pair of IDX files (the MNIST format), gzip-compressed or not.
    Idx {
        /// The images (or feature) file.
        images: PathBuf,
        /// The labels file.
        labels: PathBuf,
    },
    /// A pair of NPY files (plain or gzip-compressed): features `[n, ...]` and labels `[n]`
    /// or `[n, 1]`.
    Npy {
        /// The features file.
        features: PathBuf,
        /// The labels file.
        labels: PathBuf,
    },
    /// An NPZ archive with named feature and label arrays.
    Npz {
        /// The archive.
        path: PathBuf,
        /// The features array's name.
        features: String,
        /// The labels array's name.
        labels: String,
    },
    /// Generated data.
    Synthetic {
        /// Which generator.
        kind: Synthetic,
        /// How many examples.
        samples: usize,
        /// Standard deviation of the noise added to each coordinate.
        noise: f64,
    },
}

/// The fractions of the examples that go to training, validation and test (summing to 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    /// Fraction for training.
    pub train: f64,
    /// Fraction for validation (early stopping, pruning floors).
    pub validation: f64,
    /// Fraction for the final test.
    pub test: f64,
    /// Whether each class is split in these proportions separately.
    pub stratified: bool,
}

impl Default for Split {
    /// Everything for training.
    fn default() -> Self {
        Split {
            train: 1.0,
            validation: 0.0,
            test: 0.0,
            stratified: false,
        }
    }
}

/// Which rows of the main source go to each set, listed in a JSON file (see
/// [`partition_by_indices`](crate::partition_by_indices)); used instead of split fractions to
/// reproduce a given split exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexSplit {
    /// The JSON file, relative to the program's folder.
    pub path: PathBuf,
    /// The key of the training rows.
    pub train: String,
    /// The key of the validation rows; `None` takes `"validation"` if the file has it.
    pub validation: Option<String>,
    /// The key of the test rows; `None` takes `"test"` if the file has it.
    pub test: Option<String>,
}

/// How features are scaled before training.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Scaling {
    /// Unchanged.
    #[default]
    None,
    /// Divided by a constant (`x / 255`).
    Divide(f64),
    /// Standardized per feature with the training split's mean and standard deviation.
    Standardize,
    /// Mapped per feature to [0, 1] with the training split's minimum and maximum.
    MinMax,
}

/// A whole dataset description.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSpec {
    /// The name the program gives it.
    pub name: String,
    /// The main source; split by [`DataSpec::split`] unless separate files are given.
    pub source: Source,
    /// A separate validation source, if any (then `split.validation` is 0).
    pub validation: Option<Source>,
    /// A separate test source, if any (then `split.test` is 0).
    pub test: Option<Source>,
    /// How the main source is divided.
    pub split: Split,
    /// Rows listed in an index file, used instead of [`DataSpec::split`]'s fractions.
    pub indices: Option<IndexSplit>,
    /// Feature scaling.
    pub scaling: Scaling,
    /// Seed of the split's shuffle (derived from the program's seed when not given).
    pub seed: u64,
    /// The most bytes decoded from any one data file, and held for its values (the data
    /// block's `limit` line); `None` for the default (see [`Limit`](crate::Limit)). The
    /// memory available on the machine caps either.
    pub limit: Option<u64>,
}
