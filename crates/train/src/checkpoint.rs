//! Checkpoints: named `f32` tensors and string metadata in a safetensors file.
//!
//! Parameters and buffers keep PyTorch's names, layouts and types (`h1.weight` `[out, in]`,
//! `bn1.running_mean`, `bn1.num_batches_tracked` as `i64`), so
//! `torch.nn.Module.load_state_dict` accepts them once the resume-only entries, whose names
//! start with `_knit.`, are filtered out:
//!
//! ```python
//! from safetensors.torch import load_file
//! state = {k: v for k, v in load_file("run.safetensors").items() if not k.startswith("_knit.")}
//! model.load_state_dict(state)
//! ```
//!
//! Files are written atomically: to a temporary file in the same folder, flushed to disk,
//! then renamed over the target, so a crash never leaves a half-written checkpoint and an
//! earlier one stays intact until the new one is complete.

use crate::TrainError;
use ndarray::{ArrayD, IxDyn};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The prefix of entries that only knit reads (optimizer state, best weights).
pub const PRIVATE_PREFIX: &str = "_knit.";

/// The name ending of batch norm's batch counters, stored as `i64` as PyTorch keeps them
/// (every other tensor is `f32`).
pub const COUNTER_SUFFIX: &str = ".num_batches_tracked";

/// Whether the tensor `name` is a batch counter, stored as `i64` rather than `f32`.
pub fn is_counter(name: &str) -> bool {
    name.ends_with(COUNTER_SUFFIX)
}

/// The contents of a checkpoint file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    /// Named tensors.
    pub tensors: BTreeMap<String, ArrayD<f32>>,
    /// Named strings (the program, the epoch, schedule state...).
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), TrainError> {
        let error = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let bytes: Vec<(String, Dtype, Vec<u8>, Vec<usize>)> = self
            .tensors
            .iter()
            .map(|(name, a)| {
                let (dtype, data) = if is_counter(name) {
                    let counts = a.iter().flat_map(|&v| (v as i64).to_le_bytes());
                    (Dtype::I64, counts.collect())
                } else {
                    (Dtype::F32, a.iter().flat_map(|v| v.to_le_bytes()).collect())
                };
                (name.clone(), dtype, data, a.shape().to_vec())
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, dtype, data, shape)| {
                TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| error(e.to_string()))?;
        let metadata: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        let encoded =
            safetensors::serialize(views, Some(metadata)).map_err(|e| error(e.to_string()))?;
        let encoded = with_sorted_header(encoded).map_err(error)?;
        write_atomically(path, &encoded).map_err(|e| error(e.to_string()))
    }

    /// Reads a checkpoint, accepting `f32`, `f64` and `i64` tensors (converted to `f32`).
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        let error = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        let (_, meta) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| error(format!("not a valid safetensors file ({e})")))?;
        let file = SafeTensors::deserialize(&bytes)
            .map_err(|e| error(format!("not a valid safetensors file ({e})")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let values: Vec<f32> = match view.dtype() {
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                    .collect(),
                Dtype::I64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                    .collect(),
                other => {
                    return Err(error(format!(
                        "tensor '{name}' has type {other:?}; knit reads F32, F64 and I64"
                    )))
                }
            };
            let array = ArrayD::from_shape_vec(IxDyn(view.shape()), values)
                .map_err(|e| error(format!("tensor '{name}': {e}")))?;
            tensors.insert(name, array);
        }
        let metadata = meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(Checkpoint { tensors, metadata })
    }

    /// A metadata entry, or an error naming it.
    pub fn meta(&self, key: &str, path: &Path) -> Result<&str, TrainError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!(
                    "metadata entry '{key}' is missing; was this file written by `knit train`?"
                ),
            })
    }
}

/// The safetensors file `encoded` with the entries of its JSON header, the metadata's
/// among them, in sorted order.
///
/// `safetensors::serialize` takes the metadata as a `HashMap` and writes it in that map's
/// order, which changes from process to process; sorted, the same run writes the same bytes,
/// so checkpoints can be compared or hashed as files. The tensor data is untouched (the
/// header gives its offsets explicitly), and the header is padded with spaces to a multiple
/// of 8 bytes, as the format asks.
fn with_sorted_header(encoded: Vec<u8>) -> Result<Vec<u8>, String> {
    let malformed = || "safetensors wrote a malformed header".to_string();
    let length: [u8; 8] = encoded
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(malformed)?;
    let end = usize::try_from(u64::from_le_bytes(length))
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= encoded.len())
        .ok_or_else(malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&encoded[8..end]).map_err(|_| malformed())?;
    let mut text = serde_json::to_string(&sorted(header)).map_err(|e| e.to_string())?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + encoded.len() - end);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&encoded[end..]);
    Ok(out)
}

/// `value` with the keys of every object in sorted order (whatever order `serde_json`'s
/// map keeps).
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        other => other,
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = temporary_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}
