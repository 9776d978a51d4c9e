//! Checks of the entries read from a checkpoint, made before anything uses them: a tensor
//! of the wrong shape must not reach ndarray's broadcasting (which panics) and a NaN read
//! from a file must not be taken for a diverging run. Every error names the file and the
//! entry ([`TrainError::CheckpointEntry`]).

use crate::checkpoint::is_counter;
use crate::{Element, TrainError};
use ndarray::ArrayD;
use std::path::Path;

/// The error for entry `entry` of the checkpoint at `path`.
pub(crate) fn entry_error(path: &Path, entry: &str, message: impl Into<String>) -> TrainError {
    TrainError::CheckpointEntry {
        path: path.to_path_buf(),
        entry: entry.to_string(),
        message: message.into(),
    }
}

/// `value` has the shape `expected` of `what` ("the model's parameter 'h1.weight'").
pub(crate) fn shape<F: Element>(
    path: &Path,
    entry: &str,
    value: &ArrayD<F>,
    expected: &[usize],
    what: &str,
) -> Result<(), TrainError> {
    if value.shape() == expected {
        return Ok(());
    }
    Err(entry_error(
        path,
        entry,
        format!(
            "has shape {:?}, but {what} has shape {expected:?}",
            value.shape()
        ),
    ))
}

/// Every value of `value` is finite.
pub(crate) fn finite<F: Element>(
    path: &Path,
    entry: &str,
    value: &ArrayD<F>,
) -> Result<(), TrainError> {
    match value.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(entry_error(
            path,
            entry,
            format!(
                "the checkpoint holds non-finite values ({} at element {i} of {}); the file is \
                 damaged or was written by a run that had already diverged",
                value.iter().nth(i).copied().unwrap_or(F::nan()),
                value.len()
            ),
        )),
    }
}

/// Every value of `value` is a non-negative integer (a count).
pub(crate) fn counts<F: Element>(
    path: &Path,
    entry: &str,
    value: &ArrayD<F>,
) -> Result<(), TrainError> {
    match value
        .iter()
        .find(|v| !(**v >= F::zero() && v.fract() == F::zero()))
    {
        None => Ok(()),
        Some(v) => Err(entry_error(
            path,
            entry,
            format!("holds {v}, but a count must be a non-negative integer"),
        )),
    }
}

/// Every value of `value` is at least 0 (a variance, a sum of squares).
pub(crate) fn non_negative<F: Element>(
    path: &Path,
    entry: &str,
    value: &ArrayD<F>,
    what: &str,
) -> Result<(), TrainError> {
    match value.iter().find(|v| **v < F::zero()) {
        None => Ok(()),
        Some(v) => Err(entry_error(
            path,
            entry,
            format!("holds {v}, but {what} cannot be negative"),
        )),
    }
}

/// Every value of the pruning mask `value` is 0 (pruned) or 1 (kept).
pub(crate) fn mask<F: Element>(
    path: &Path,
    entry: &str,
    value: &ArrayD<F>,
) -> Result<(), TrainError> {
    match value.iter().find(|v| **v != F::zero() && **v != F::one()) {
        None => Ok(()),
        Some(v) => Err(entry_error(
            path,
            entry,
            format!("holds {v}, but a pruning mask holds only 0 (pruned) and 1 (kept)"),
        )),
    }
}

/// A parameter's or buffer's value read from entry `entry` for the model's `name`: the
/// model's shape, finite, counts that are non-negative integers, variances that are not
/// negative.
pub(crate) fn model_state<F: Element>(
    path: &Path,
    entry: &str,
    name: &str,
    value: &ArrayD<F>,
    expected: &[usize],
    is_param: bool,
) -> Result<(), TrainError> {
    let kind = if is_param { "parameter" } else { "buffer" };
    shape(
        path,
        entry,
        value,
        expected,
        &format!("the model's {kind} '{name}'"),
    )?;
    finite(path, entry, value)?;
    if is_counter(name) {
        counts(path, entry, value)?;
    }
    if name.ends_with(".running_var") {
        non_negative(path, entry, value, "a running variance")?;
    }
    Ok(())
}
