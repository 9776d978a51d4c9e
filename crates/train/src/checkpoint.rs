//! Checkpoints: named `f32` (or, for a `precision f64` run, `f64`) tensors and string
//! metadata in a safetensors file.
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
//! Files are written atomically (knit-io's `write_atomically`): to a temporary file in the
//! same folder, flushed to disk, then renamed over the target, so a crash never leaves a
//! half-written checkpoint and an earlier one stays intact until the new one is complete;
//! the temporaries a killed save left behind are removed by the next save of the same file.
//! Reading refuses anything but a regular file and stops at [`read_limit`] bytes.

use crate::element::Element;
use crate::TrainError;
use ndarray::{ArrayD, IxDyn};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Writes `bytes` to `path` so that it holds the old contents or the new ones, never part of
/// either: knit-io's [`knit_io::write_atomically`] (symlinks written through, special files
/// written in place, temporaries of killed processes removed), re-exported for the crates
/// that already used it from here.
pub use knit_io::write_atomically;

/// The prefix of entries that only knit reads (optimizer state, best weights).
pub const PRIVATE_PREFIX: &str = "_knit.";

/// The name ending of batch norm's batch counters, stored as `i64` as PyTorch keeps them
/// (every other tensor is `f32`, or `f64` in a checkpoint of `f64`).
pub const COUNTER_SUFFIX: &str = ".num_batches_tracked";

/// Whether the tensor `name` is a batch counter, stored as `i64` rather than `f32`.
pub fn is_counter(name: &str) -> bool {
    name.ends_with(COUNTER_SUFFIX)
}

/// The contents of a checkpoint file, its tensors in `F` (`f32` unless the run was
/// `precision f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint<F = f32> {
    /// Named tensors.
    pub tensors: BTreeMap<String, ArrayD<F>>,
    /// Named strings (the program, the epoch, schedule state...).
    pub metadata: BTreeMap<String, String>,
}

impl<F> Default for Checkpoint<F> {
    fn default() -> Self {
        Checkpoint {
            tensors: BTreeMap::new(),
            metadata: BTreeMap::new(),
        }
    }
}

impl Checkpoint {
    /// Reads a checkpoint, accepting `f32`, `f64`, `f16`, `bf16` and `i64` tensors
    /// (converted to `f32`): [`Checkpoint::read_as`] for `f32`.
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        Self::read_as(path)
    }

    /// Parses the bytes of a checkpoint file as [`Checkpoint::read`] does; `path` is the
    /// file named in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, TrainError> {
        Self::from_bytes_as(bytes, path)
    }
}

impl<F: Element> Checkpoint<F> {
    /// Writes the checkpoint to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), TrainError> {
        let encoded = self.to_bytes(path)?;
        knit_io::write_atomically(path, &encoded).map_err(|e| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: e.reason(),
        })
    }

    /// The checkpoint as the bytes of a safetensors file (what [`write`](Self::write)
    /// writes; [`from_bytes`](Self::from_bytes) reads them back); `path` names it in errors.
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, TrainError> {
        let error = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let bytes: Vec<(String, Dtype, Vec<u8>, Vec<usize>)> = self
            .tensors
            .iter()
            .map(|(name, a)| {
                let (dtype, data) = if is_counter(name) {
                    let counts = a.iter().flat_map(|&v| (v.as_f64() as i64).to_le_bytes());
                    (Dtype::I64, counts.collect())
                } else {
                    let mut data = Vec::with_capacity(a.len() * std::mem::size_of::<F>());
                    a.iter().for_each(|&v| F::put_le_bytes(v, &mut data));
                    (F::DTYPE, data)
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
        with_sorted_header(encoded).map_err(error)
    }

    /// Reads a checkpoint, accepting `f32`, `f64`, `f16`, `bf16` and `i64` tensors
    /// (converted to `F`: exactly, but for `f64` values read as `f32`, rounded to nearest).
    ///
    /// Only a regular file is read (`/dev/zero` or a FIFO is refused before a byte is
    /// read), and at most [`read_limit`] bytes of it; a header that names a tensor twice is
    /// refused (JSON parsers keep the last one silently). The tensors' values are not
    /// checked here: what a tensor must hold depends on what reads it ([`Trainer::resume`],
    /// [`Trainer::load_weights`], [`Trainer::load_masks`] check theirs).
    ///
    /// [`Trainer::resume`]: crate::Trainer::resume
    /// [`Trainer::load_weights`]: crate::Trainer::load_weights
    /// [`Trainer::load_masks`]: crate::Trainer::load_masks
    pub fn read_as(path: &Path) -> Result<Self, TrainError> {
        let error = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let bytes = knit_io::read_bounded(path, read_limit()).map_err(|e| error(e.reason()))?;
        Self::from_bytes_as(&bytes, path)
    }

    /// Parses the bytes of a checkpoint file as [`Checkpoint::read_as`] does; `path` is the
    /// file named in errors.
    pub fn from_bytes_as(bytes: &[u8], path: &Path) -> Result<Self, TrainError> {
        let error = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let invalid =
            |e: &dyn std::fmt::Display| error(format!("not a valid safetensors file ({e})"));
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(&e))?;
        if let Some(name) = duplicate_name(bytes) {
            return Err(invalid(&format!("the header names '{name}' twice")));
        }
        let file = SafeTensors::deserialize(bytes).map_err(|e| invalid(&e))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let values: Vec<F> = match view.dtype() {
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|c| F::from_f32(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
                Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| F::lit(f64::from_le_bytes(eight(c))))
                    .collect(),
                Dtype::I64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| F::lit(i64::from_le_bytes(eight(c)) as f64))
                    .collect(),
                // Half precision (a model saved with `.half()` or `.bfloat16()`) widens
                // exactly: every F16 and BF16 value is an f32.
                Dtype::F16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|c| F::from_f32(half::f16::from_le_bytes([c[0], c[1]]).to_f32()))
                    .collect(),
                Dtype::BF16 => view
                    .data()
                    .chunks_exact(2)
                    .map(|c| F::from_f32(half::bf16::from_le_bytes([c[0], c[1]]).to_f32()))
                    .collect(),
                other => {
                    return Err(error(format!(
                        "tensor '{name}' has type {other:?}; knit reads F32, F64, F16, BF16 and I64"
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

/// The most bytes [`Checkpoint::read`] reads: half the memory the machine has available
/// (`MemAvailable` in `/proc/meminfo`; the file's bytes and its tensors as `f32` are held
/// together while it is parsed), or 8 GiB where that is unknown; at least 64 MiB.
pub fn read_limit() -> u64 {
    const FALLBACK: u64 = 8 << 30;
    let available = knit_data::available_memory().unwrap_or(2 * FALLBACK);
    (available / 2).max(64 << 20)
}

/// Eight bytes of a `chunks_exact(8)` chunk.
fn eight(chunk: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&chunk[..8]);
    out
}

/// A tensor name that the header of the safetensors file `bytes` gives twice, if any (the
/// header was already found well formed).
fn duplicate_name(bytes: &[u8]) -> Option<String> {
    struct Keys(Option<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut seen = std::collections::HashSet::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        if !seen.insert(key.clone()) {
                            return Ok(Keys(Some(key)));
                        }
                    }
                    Ok(Keys(None))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    let length = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let end = usize::try_from(length).ok()?.checked_add(8)?;
    let header = bytes.get(8..end)?;
    serde_json::from_slice::<Keys>(header).ok()?.0
}
