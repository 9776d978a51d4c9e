//! The operations a synchronous data-parallel run needs from its process group.

use crate::{Contribution, DistError};

/// A group of `size` processes (ranks `0..size`) that train together.
///
/// Every member must call the same collectives in the same order with buffers of the same
/// length; a collective returns when every member has taken part. Implementations are not
/// required to be `Send` (MPI's communicator handle is not): create one on the thread that
/// uses it.
pub trait Collective {
    /// This member's rank, in `0..size()`.
    fn rank(&self) -> usize;

    /// The number of members.
    fn size(&self) -> usize;

    /// Replaces `buffer` on every member with the element-wise sum of all members' buffers.
    fn all_reduce_sum_f32(&self, buffer: &mut [f32]) -> Result<(), DistError>;

    /// [`all_reduce_sum_f32`](Self::all_reduce_sum_f32) of values that `part` writes into
    /// the collective's own buffer and reads back summed (see [`Contribution`]): a caller
    /// that gathers its values from many places saves a staging copy each way. The default
    /// goes through a temporary buffer and the in-place sum.
    fn all_reduce_sum_f32_with(&self, part: &mut dyn Contribution<f32>) -> Result<(), DistError> {
        through_buffer(part, |buffer| self.all_reduce_sum_f32(buffer))
    }

    /// [`all_reduce_sum_f32`](Self::all_reduce_sum_f32) for `f64`.
    fn all_reduce_sum_f64(&self, buffer: &mut [f64]) -> Result<(), DistError>;

    /// [`all_reduce_sum_f32_with`](Self::all_reduce_sum_f32_with) for `f64`.
    fn all_reduce_sum_f64_with(&self, part: &mut dyn Contribution<f64>) -> Result<(), DistError> {
        through_buffer(part, |buffer| self.all_reduce_sum_f64(buffer))
    }

    /// Replaces `bytes` on every member with the `root` member's (lengths may differ).
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>, root: usize) -> Result<(), DistError>;

    /// Collects every member's `bytes` on `root`, in rank order: `Some` there, `None`
    /// elsewhere.
    fn gather_bytes(&self, bytes: &[u8], root: usize) -> Result<Option<Vec<Vec<u8>>>, DistError>;

    /// Returns when every member has called it.
    fn barrier(&self) -> Result<(), DistError>;

    /// Ends the whole group with exit code `code`, as soon as possible, without waiting for
    /// the others (MPI's `MPI_Abort`): for a member that cannot go on, so that none is left
    /// blocked in a collective.
    fn abort(&self, code: i32) -> !;

    /// Whether this member is rank 0, the one that prints and writes files.
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
}

/// `part` summed in place in a temporary buffer by `sum`: the default of the `_with`
/// all-reduces.
fn through_buffer<T: Copy + Default>(
    part: &mut dyn Contribution<T>,
    sum: impl FnOnce(&mut [T]) -> Result<(), DistError>,
) -> Result<(), DistError> {
    let mut buffer = vec![T::default(); part.len()];
    part.write(&mut buffer);
    sum(&mut buffer)?;
    part.read(&buffer);
    Ok(())
}
