//! [`Limit`]: the most bytes knit decodes from one data file, and allocates for its values.
//!
//! A gzip bomb decodes a megabyte into gigabytes and `/dev/zero` never ends, so decoded
//! data is counted while it is read (through [`knit_io::Bounded`]), and arrays whose size
//! comes from a header (IDX and NPY dimensions) are refused before they are allocated. The
//! default is [`DEFAULT_LIMIT`], lowered to the memory the machine has available
//! (`MemAvailable` in `/proc/meminfo`); a program sets its own with a `limit` line in its
//! data block, which the available memory still caps.

use std::fmt;
use std::path::Path;

/// The default limit: 4 GiB (Fashion-MNIST's training images are 188 MB as `f32`).
pub const DEFAULT_LIMIT: u64 = 4 << 30;

/// Where a [`Limit`] comes from, for messages that say how to raise it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitOrigin {
    /// [`DEFAULT_LIMIT`].
    Default,
    /// The program's data block (`limit 8 GiB`).
    Program,
    /// The memory available on this machine, lower than the default or the program's limit.
    Memory,
}

impl LimitOrigin {
    /// What a message says after "expected at most": the limit and how to change it.
    pub(crate) fn explain(self, limit: u64) -> String {
        let size = bytes_text(limit);
        match self {
            LimitOrigin::Default => format!(
                "{size}, the default data limit (raise it with a line such as `limit 8 GiB` in \
                 the data block)"
            ),
            LimitOrigin::Program => format!("{size}, the data block's `limit`"),
            LimitOrigin::Memory => {
                format!("{size}, the memory available on this machine (MemAvailable)")
            }
        }
    }
}

/// The most bytes decoded from any one data file, and allocated for the values of any one
/// array read from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The limit in bytes.
    pub bytes: u64,
    /// Where it comes from.
    pub origin: LimitOrigin,
}

impl Default for Limit {
    /// [`DEFAULT_LIMIT`], or the available memory when that is lower.
    fn default() -> Self {
        Limit::new(None)
    }
}

impl Limit {
    /// The limit a program asks for (`None`: [`DEFAULT_LIMIT`]), capped by the memory
    /// available on this machine when that can be read.
    pub fn new(requested: Option<u64>) -> Limit {
        let wanted = match requested {
            Some(bytes) => Limit {
                bytes,
                origin: LimitOrigin::Program,
            },
            None => Limit {
                bytes: DEFAULT_LIMIT,
                origin: LimitOrigin::Default,
            },
        };
        match available_memory() {
            Some(bytes) if bytes < wanted.bytes => Limit {
                bytes,
                origin: LimitOrigin::Memory,
            },
            _ => wanted,
        }
    }

    /// Exactly `bytes`, as if a program had asked for it, not capped by the available memory.
    pub fn exactly(bytes: u64) -> Limit {
        Limit {
            bytes,
            origin: LimitOrigin::Program,
        }
    }

    /// The error for a file whose decoded bytes passed the limit.
    pub(crate) fn exceeded(&self, path: &Path, gzip: bool) -> crate::DataError {
        crate::DataError::TooLarge {
            path: path.to_owned(),
            limit: self.bytes,
            origin: self.origin,
            gzip,
        }
    }

    /// Checks, before allocating, that an array of `dims` (read at byte `offset` of
    /// `path`'s header) fits: its `f32` values, and its `element_size`-byte values as read.
    pub(crate) fn check_array(
        &self,
        path: &Path,
        offset: u64,
        dims: &[usize],
        element_size: usize,
    ) -> Result<usize, crate::DataError> {
        let values = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let per_value = element_size.max(std::mem::size_of::<f32>()) as u64;
        let fits = values
            .and_then(|v| v.checked_mul(per_value))
            .is_some_and(|bytes| bytes <= self.bytes);
        match values.and_then(|v| usize::try_from(v).ok()) {
            Some(count) if fits => Ok(count),
            _ => Err(crate::DataError::ArrayTooLarge {
                path: path.to_owned(),
                offset,
                dims: dims.iter().map(|&d| d as u64).collect(),
                values: values.unwrap_or(u64::MAX),
                limit: self.bytes,
                origin: self.origin,
            }),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bytes_text(self.bytes))
    }
}

/// The memory this machine has available (`MemAvailable` in `/proc/meminfo`), if known.
pub fn available_memory() -> Option<u64> {
    let text = knit_io::read_text_bounded(Path::new("/proc/meminfo"), 1 << 20).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// A byte count for people: "64 MiB", "1.5 GiB", "100 bytes".
pub(crate) fn bytes_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
        if bytes >= size && size >= 1 << 20 {
            let value = bytes as f64 / size as f64;
            return format!("{value:.1} {unit} ({bytes} bytes)");
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes_text(64 << 20), "64 MiB");
        assert_eq!(bytes_text(1536 << 20), "1.5 GiB (1610612736 bytes)");
        assert_eq!(bytes_text(100), "100 bytes");
    }

    #[test]
    fn the_default_is_capped_by_memory() {
        let limit = Limit::default();
        assert!(limit.bytes <= DEFAULT_LIMIT);
        if let Some(memory) = available_memory() {
            assert!(limit.bytes <= memory);
        }
    }

    #[test]
    fn arrays_past_the_limit_are_refused_before_allocating() {
        let limit = Limit::exactly(1000);
        assert_eq!(
            limit.check_array(Path::new("a"), 4, &[10, 25], 1).unwrap(),
            250
        );
        let err = limit
            .check_array(Path::new("a"), 4, &[10, 26], 1)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a: byte offset 4: the header's dimensions 10 × 26 make 260 values (1040 bytes as \
             f32), more than 1000 bytes; expected at most 1000 bytes, the data block's `limit`"
        );
        let err = limit
            .check_array(Path::new("a"), 4, &[usize::MAX, 3], 1)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("18446744073709551615 × 3 make 18446744073709551615 values"),
            "{err}"
        );
    }
}
