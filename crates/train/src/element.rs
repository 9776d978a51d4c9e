//! The floating-point types a run can compute in ([`crate::Precision`]): what the trainer
//! needs of one beyond the executor's and the optimizer's arithmetic.

use knit_dist::{Collective, DistError};
use knit_tensor::Float;
use safetensors::Dtype;

/// `f32` or `f64`: the element type of a [`Trainer`](crate::Trainer)'s executor, optimizer
/// state and checkpoint.
pub trait Element: Float + knit_optim::Real + From<f32> {
    /// The run's precision.
    const PRECISION: crate::Precision;
    /// How a checkpoint stores it.
    const DTYPE: Dtype;
    /// A data value (datasets hold `f32`) in this type, exactly.
    fn from_f32(v: f32) -> Self;
    /// A value read from a checkpoint stored as `f64` (rounded to nearest for `f32`).
    fn from_f64(v: f64) -> Self;
    /// The little-endian bytes of `v`, appended to `out` (a checkpoint's tensor data).
    fn put_le_bytes(v: Self, out: &mut Vec<u8>);
    /// The element-wise sum of every rank's `send` in `sum` (same length).
    fn all_reduce_sum_into(
        group: &dyn Collective,
        send: &[Self],
        sum: &mut [Self],
    ) -> Result<(), DistError>;
}

impl Element for f32 {
    const PRECISION: crate::Precision = crate::Precision::F32;
    const DTYPE: Dtype = Dtype::F32;
    fn from_f32(v: f32) -> Self {
        v
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn put_le_bytes(v: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn all_reduce_sum_into(
        group: &dyn Collective,
        send: &[f32],
        sum: &mut [f32],
    ) -> Result<(), DistError> {
        group.all_reduce_sum_f32_into(send, sum)
    }
}

impl Element for f64 {
    const PRECISION: crate::Precision = crate::Precision::F64;
    const DTYPE: Dtype = Dtype::F64;
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn put_le_bytes(v: Self, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn all_reduce_sum_into(
        group: &dyn Collective,
        send: &[f64],
        sum: &mut [f64],
    ) -> Result<(), DistError> {
        sum.copy_from_slice(send);
        group.all_reduce_sum_f64(sum)
    }
}
