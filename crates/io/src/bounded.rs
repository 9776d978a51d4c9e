//! [`Bounded`]: a reader that fails once a stream yields more bytes than a limit, for data
//! whose decoded size is not known in advance (a gzip bomb decodes 1 MB into gigabytes).

use std::io::{self, Read};

/// The error a [`Bounded`] reader returns past its limit, inside an [`io::Error`] of kind
/// `Other`; [`LimitExceeded::find`] recovers it, so a caller can tell "too large" from a
/// failing disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the data holds more than {limit} bytes")]
pub struct LimitExceeded {
    /// The limit, in bytes.
    pub limit: u64,
}

impl LimitExceeded {
    /// The limit that `error` reports being exceeded, if it came from a [`Bounded`] reader.
    pub fn find(error: &io::Error) -> Option<LimitExceeded> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<LimitExceeded>())
            .copied()
    }
}

/// Reads from `inner` until it has yielded `limit` bytes; a read past that fails with
/// [`LimitExceeded`] instead of returning more.
#[derive(Debug)]
pub struct Bounded<R> {
    inner: R,
    remaining: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    /// `inner`, limited to `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            remaining: limit,
            limit,
        }
    }

    /// How many bytes have been read so far.
    pub fn consumed(&self) -> u64 {
        self.limit - self.remaining
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            // At the limit: one more byte means the stream is too long, none means it ends
            // exactly there.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(LimitExceeded { limit: self.limit })),
            };
        }
        let len = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_of_exactly_the_limit_reads_whole() {
        let mut out = Vec::new();
        Bounded::new(&b"abcd"[..], 4).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn one_byte_more_is_an_error_that_can_be_told_apart() {
        let mut out = Vec::new();
        let err = Bounded::new(&b"abcde"[..], 4)
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(LimitExceeded::find(&err), Some(LimitExceeded { limit: 4 }));
        assert_eq!(err.to_string(), "the data holds more than 4 bytes");
        assert!(LimitExceeded::find(&io::Error::other("disk")).is_none());
    }

    #[test]
    fn an_endless_stream_stops_at_the_limit() {
        let mut out = Vec::new();
        let err = Bounded::new(io::repeat(0), 1 << 16)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(LimitExceeded::find(&err).is_some());
        assert_eq!(out.len(), 1 << 16);
    }
}
