//! What one member puts into an all-reduce and takes out of it, without a buffer of its own.

/// One member's side of an all-reduce sum, written straight into the collective's buffer and
/// read back from it: [`Collective::all_reduce_sum_f32_with`](crate::Collective::all_reduce_sum_f32_with)
/// calls [`write`](Self::write) once, sums every member's values, then calls
/// [`read`](Self::read) once with the sum.
///
/// A trainer that gathers its gradients from many tensors writes them into the buffer the
/// collective reduces (for MPI on one machine, memory the other ranks read directly) and
/// scatters the sum back, so a step copies its gradients once each way and owns no
/// staging buffer.
///
/// A mutable slice is a contribution of its own values, summed in place:
///
/// ```
/// use knit_dist::{Collective, ThreadGroup};
///
/// let sums: Vec<[f32; 2]> = std::thread::scope(|s| {
///     let handles: Vec<_> = ThreadGroup::new(2)
///         .into_iter()
///         .map(|member| {
///             s.spawn(move || {
///                 let mut values = [1.0, member.rank() as f32];
///                 member.all_reduce_sum_f32_with(&mut &mut values[..]).unwrap();
///                 values
///             })
///         })
///         .collect();
///     handles.into_iter().map(|h| h.join().unwrap()).collect()
/// });
/// assert_eq!(sums, vec![[2.0, 1.0], [2.0, 1.0]]);
/// ```
pub trait Contribution<T> {
    /// How many values this member contributes (every member must give the same length).
    fn len(&self) -> usize;

    /// Whether the contribution is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes this member's values into `out`, which is [`len`](Self::len) long (its
    /// previous contents are unspecified).
    fn write(&mut self, out: &mut [T]);

    /// Takes the group's element-wise sum, [`len`](Self::len) long.
    fn read(&mut self, sum: &[T]);
}

impl<T: Copy> Contribution<T> for &mut [T] {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    fn write(&mut self, out: &mut [T]) {
        out.copy_from_slice(self);
    }

    fn read(&mut self, sum: &[T]) {
        self.copy_from_slice(sum);
    }
}
