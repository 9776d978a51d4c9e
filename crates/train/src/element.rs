//! The floating-point types a run can compute in ([`crate::Precision`]): what the trainer
//! needs of one beyond the executor's and the optimizer's arithmetic (a value from an `f64`
//! constant is knit-tensor's [`Float::lit`]).

use knit_dist::{Collective, Contribution, DistError};
use knit_tensor::Float;
use safetensors::Dtype;

/// `f32` or `f64`: the element type of a [`Trainer`](crate::Trainer)'s executor, optimizer
/// state and checkpoint.
pub trait Element: Float + knit_optim::Real + From<f32> {
    /// How a checkpoint stores it.
    const DTYPE: Dtype;
    /// A data value (datasets hold `f32`) in this type, exactly: `From<f32>`, named so that
    /// it is not confused with `num_traits`' `NumCast::from`.
    fn from_f32(v: f32) -> Self {
        <Self as From<f32>>::from(v)
    }
    /// The little-endian bytes of `v`, appended to `out` (a checkpoint's tensor data).
    fn put_le_bytes(v: Self, out: &mut Vec<u8>);
    /// Replaces `buffer` by the element-wise sum of every rank's `buffer`.
    fn all_reduce_sum(group: &dyn Collective, buffer: &mut [Self]) -> Result<(), DistError>;
    /// Sums every rank's `part` through the collective's own buffer (see
    /// [`Contribution`]).
    fn all_reduce_sum_with(
        group: &dyn Collective,
        part: &mut dyn Contribution<Self>,
    ) -> Result<(), DistError>;
}

impl Element for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn put_le_bytes(v: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn all_reduce_sum(group: &dyn Collective, buffer: &mut [f32]) -> Result<(), DistError> {
        group.all_reduce_sum_f32(buffer)
    }
    fn all_reduce_sum_with(
        group: &dyn Collective,
        part: &mut dyn Contribution<f32>,
    ) -> Result<(), DistError> {
        group.all_reduce_sum_f32_with(part)
    }
}

impl Element for f64 {
    const DTYPE: Dtype = Dtype::F64;
    fn put_le_bytes(v: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn all_reduce_sum(group: &dyn Collective, buffer: &mut [f64]) -> Result<(), DistError> {
        group.all_reduce_sum_f64(buffer)
    }
    fn all_reduce_sum_with(
        group: &dyn Collective,
        part: &mut dyn Contribution<f64>,
    ) -> Result<(), DistError> {
        group.all_reduce_sum_f64_with(part)
    }
}
