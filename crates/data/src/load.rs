//! [`load`]: a whole [`DataSpec`] into training, validation and test sets, scaled.

use std::path::Path;

use crate::dataset::Dataset;
use crate::index_split::partition_within;
use crate::scale::Scaler;
use crate::split::{check_fractions, partition};
use crate::synthetic::{generate, kind_name};
use crate::{csv, idx, npy, npz, DataError, DataSpec, LabelRule, Limit, Source, Synthetic};

/// The sets a [`DataSpec`] describes, scaled, with the fitted scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Splits {
    /// The training set.
    pub train: Dataset,
    /// The validation set, from a split fraction or a separate source.
    pub validation: Option<Dataset>,
    /// The test set, from a split fraction or a separate source.
    pub test: Option<Dataset>,
    /// The scaling fitted on the training set and applied to all three.
    pub scaler: Scaler,
}

/// Which set a source provides; synthetic sources draw from a stream of their own per role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The main source, split into the sets (synthetic stream 0).
    Main = 0,
    /// A separate validation source (synthetic stream 1).
    Validation = 1,
    /// A separate test source (synthetic stream 2).
    Test = 2,
}

impl Role {
    /// The role's name in messages.
    fn name(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Validation => "validation",
            Role::Test => "test",
        }
    }
}

/// Loads every source of `spec` (paths relative to `base_dir`, the `.net` file's folder),
/// splits the main source (by its index file, or by fractions seeded by `spec.seed`,
/// stratified when asked), fits the scaling on
/// the training split and applies it to all splits.
///
/// Every set shares the main source's class count (the largest over all sources when they
/// all hold class labels) and per-example shape.
///
/// Each file is read within the spec's [`Limit`]; labels must be class indices when the
/// split is stratified (see [`load_for`] to check them against a model's classes).
pub fn load(spec: &DataSpec, base_dir: &Path) -> Result<Splits, DataError> {
    load_for(spec, base_dir, None)
}

/// [`load`] for a model that predicts `classes` classes (`None`: a regression): every
/// label of every source must then be a class index below `classes`, checked where it is
/// read, so that a bad label is an error naming its file and line (or byte offset).
///
/// The training set keeps the main source's allocation (its rows moved to the front, the
/// rest released): each example is held once.
pub fn load_for(
    spec: &DataSpec,
    base_dir: &Path,
    classes: Option<usize>,
) -> Result<Splits, DataError> {
    let read = Read {
        limit: Limit::new(spec.limit),
        rule: LabelRule::for_split(&spec.split, classes),
    };
    check_fractions(&spec.split)?;
    for (which, separate, fraction) in [
        ("validation", &spec.validation, spec.split.validation),
        ("test", &spec.test, spec.split.test),
    ] {
        if separate.is_some() && fraction > 0.0 {
            return Err(DataError::SplitConflict { which, fraction });
        }
    }
    let main = read.source(&spec.source, base_dir, spec.seed, Role::Main)?;
    let mut classes = main.classes;
    let (validation, test) = (spec.validation.as_ref(), spec.test.as_ref());
    let seed = spec.seed;
    let validation_file = read.separate(
        validation,
        Role::Validation,
        &main,
        base_dir,
        seed,
        &mut classes,
    )?;
    let test_file = read.separate(test, Role::Test, &main, base_dir, seed, &mut classes)?;

    let parts = match &spec.indices {
        Some(indices) => {
            let parts = partition_within(indices, base_dir, main.len(), read.limit)?;
            for (which, separate, rows) in [
                ("validation", &validation_file, &parts.validation),
                ("test", &test_file, &parts.test),
            ] {
                if separate.is_some() && !rows.is_empty() {
                    return Err(DataError::IndexConflict {
                        which,
                        rows: rows.len(),
                    });
                }
            }
            parts
        }
        None => partition(&main, &spec.split, spec.seed)?,
    };
    let nonempty = |rows: &[usize]| (!rows.is_empty()).then(|| main.subset(rows));
    let mut validation = validation_file.or_else(|| nonempty(&parts.validation));
    let mut test = test_file.or_else(|| nonempty(&parts.test));
    let mut train = main.retain_rows(&parts.train);

    let scaler = Scaler::fit(spec.scaling, train.features.view())?;
    for set in [Some(&mut train), validation.as_mut(), test.as_mut()]
        .into_iter()
        .flatten()
    {
        set.classes = classes;
        scaler.try_apply(&mut set.features)?;
    }
    Ok(Splits {
        train,
        validation,
        test,
        scaler,
    })
}

/// How sources are read: within a limit, their labels checked by a rule.
#[derive(Clone, Copy)]
struct Read {
    /// The most bytes decoded from one file.
    limit: Limit,
    /// What every label must be.
    rule: LabelRule,
}

impl Read {
    /// Loads a separate validation or test source, if there is one, and checks it against
    /// the main source: the same per-example shape, and class labels when the main source
    /// has them (`classes` grows to the largest class count seen).
    fn separate(
        self,
        source: Option<&Source>,
        role: Role,
        main: &Dataset,
        base_dir: &Path,
        seed: u64,
        classes: &mut Option<usize>,
    ) -> Result<Option<Dataset>, DataError> {
        let Some(source) = source else {
            return Ok(None);
        };
        let data = self.source(source, base_dir, seed, role)?;
        let source_name = describe(source, base_dir);
        let which = role.name();
        if data.feature_dims != main.feature_dims {
            return Err(DataError::FeatureMismatch {
                source_name,
                which,
                found: data.feature_dims,
                expected: main.feature_dims.clone(),
            });
        }
        if let Some(k) = *classes {
            let own = data.classes.ok_or(DataError::LabelKindMismatch {
                source_name,
                which,
                classes: k,
            })?;
            *classes = Some(k.max(own));
        }
        Ok(Some(data))
    }

    /// Loads one source (a path relative to `base_dir`).
    fn source(
        self,
        source: &Source,
        base_dir: &Path,
        seed: u64,
        role: Role,
    ) -> Result<Dataset, DataError> {
        let Read { limit, rule } = self;
        match source {
            Source::Csv {
                path,
                label,
                header,
            } => csv::load_csv_within(&base_dir.join(path), label, *header, limit, rule),
            Source::Idx { images, labels } => {
                let (images, labels) = (base_dir.join(images), base_dir.join(labels));
                idx::load_idx_within(&images, &labels, limit, rule)
            }
            Source::Npy { features, labels } => {
                let (features, labels) = (base_dir.join(features), base_dir.join(labels));
                npy::load_npy_within(&features, &labels, limit, rule)
            }
            Source::Npz {
                path,
                features,
                labels,
            } => npz::load_npz_within(&base_dir.join(path), features, labels, limit, rule),
            Source::Synthetic {
                kind,
                samples,
                noise,
            } => {
                check_synthetic_size(kind, *samples, limit)?;
                generate(kind, *samples, *noise, seed, role as u64)
            }
        }
    }
}

/// Refuses, before generating, a synthetic set whose values would pass `limit`.
fn check_synthetic_size(kind: &Synthetic, samples: usize, limit: Limit) -> Result<(), DataError> {
    let features = match kind {
        Synthetic::Uniform { features, .. } => *features,
        Synthetic::Adding { steps } => steps.saturating_mul(2),
        Synthetic::TemporalOrder { steps } => steps.saturating_mul(8),
        _ => 2,
    };
    let bytes = (samples as u64)
        .checked_mul(features as u64)
        .and_then(|v| v.checked_mul(4));
    if bytes.is_some_and(|b| b <= limit.bytes) {
        return Ok(());
    }
    Err(DataError::SyntheticSize {
        kind: kind_name(kind),
        samples,
        features,
        limit: limit.bytes,
        origin: limit.origin,
    })
}

/// Loads one source (a path relative to `base_dir`) as a dataset, within the default
/// [`Limit`]; synthetic sources are generated from `seed` on the stream of `role`.
pub fn load_source(
    source: &Source,
    base_dir: &Path,
    seed: u64,
    role: Role,
) -> Result<Dataset, DataError> {
    let read = Read {
        limit: Limit::default(),
        rule: LabelRule::Any,
    };
    read.source(source, base_dir, seed, role)
}

/// A source's name for messages: its (first) file, or the synthetic generator.
fn describe(source: &Source, base_dir: &Path) -> String {
    let file = match source {
        Source::Csv { path, .. } | Source::Npz { path, .. } => path,
        Source::Idx { images: path, .. } | Source::Npy { features: path, .. } => path,
        Source::Synthetic { kind, .. } => return format!("synthetic {}", kind_name(kind)),
    };
    base_dir.join(file).display().to_string()
}
