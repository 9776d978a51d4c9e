//! [`load`]: a whole [`DataSpec`] into training, validation and test sets, scaled.

use std::path::Path;

use crate::dataset::Dataset;
use crate::index_split::partition_by_indices;
use crate::scale::Scaler;
use crate::split::{check_fractions, partition};
use crate::synthetic::{generate, kind_name};
use crate::{csv, idx, npy, npz, DataError, DataSpec, Source};

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
pub fn load(spec: &DataSpec, base_dir: &Path) -> Result<Splits, DataError> {
    check_fractions(&spec.split)?;
    for (which, separate, fraction) in [
        ("validation", &spec.validation, spec.split.validation),
        ("test", &spec.test, spec.split.test),
    ] {
        if separate.is_some() && fraction > 0.0 {
            return Err(DataError::SplitConflict { which, fraction });
        }
    }
    let main = load_source(&spec.source, base_dir, spec.seed, Role::Main)?;
    let mut classes = main.classes;
    let (validation, test) = (spec.validation.as_ref(), spec.test.as_ref());
    let seed = spec.seed;
    let validation_file = load_separate(
        validation,
        Role::Validation,
        &main,
        base_dir,
        seed,
        &mut classes,
    )?;
    let test_file = load_separate(test, Role::Test, &main, base_dir, seed, &mut classes)?;

    let parts = match &spec.indices {
        Some(indices) => {
            let parts = partition_by_indices(indices, base_dir, main.len())?;
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
    let mut train = main.subset(&parts.train);
    let mut validation = validation_file.or_else(|| nonempty(&parts.validation));
    let mut test = test_file.or_else(|| nonempty(&parts.test));

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

/// Loads a separate validation or test source, if there is one, and checks it against the
/// main source: the same per-example shape, and class labels when the main source has them
/// (`classes` grows to the largest class count seen).
fn load_separate(
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
    let data = load_source(source, base_dir, seed, role)?;
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

/// Loads one source (a path relative to `base_dir`) as a dataset; synthetic sources are
/// generated from `seed` on the stream of `role`.
pub fn load_source(
    source: &Source,
    base_dir: &Path,
    seed: u64,
    role: Role,
) -> Result<Dataset, DataError> {
    match source {
        Source::Csv {
            path,
            label,
            header,
        } => csv::load_csv(&base_dir.join(path), label, *header),
        Source::Idx { images, labels } => {
            idx::load_idx(&base_dir.join(images), &base_dir.join(labels))
        }
        Source::Npy { features, labels } => {
            npy::load_npy(&base_dir.join(features), &base_dir.join(labels))
        }
        Source::Npz {
            path,
            features,
            labels,
        } => npz::load_npz(&base_dir.join(path), features, labels),
        Source::Synthetic {
            kind,
            samples,
            noise,
        } => generate(kind, *samples, *noise, seed, role as u64),
    }
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
