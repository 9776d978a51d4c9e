//! The world of one process.

use crate::{Collective, DistError};

/// A group of one: every collective leaves the buffers as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Single;

impl Collective for Single {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_reduce_sum_f32(&self, _buffer: &mut [f32]) -> Result<(), DistError> {
        Ok(())
    }

    fn all_reduce_sum_f64(&self, _buffer: &mut [f64]) -> Result<(), DistError> {
        Ok(())
    }

    fn broadcast_bytes(&self, _bytes: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        check_root(root, 1)
    }

    fn gather_bytes(&self, bytes: &[u8], root: usize) -> Result<Option<Vec<Vec<u8>>>, DistError> {
        check_root(root, 1)?;
        Ok(Some(vec![bytes.to_vec()]))
    }

    fn barrier(&self) -> Result<(), DistError> {
        Ok(())
    }

    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Refuses a root outside a group of `size`.
pub(crate) fn check_root(root: usize, size: usize) -> Result<(), DistError> {
    if root < size {
        Ok(())
    } else {
        Err(DistError::BadRoot { root, size })
    }
}
