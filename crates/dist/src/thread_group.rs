//! N members in one process, one per thread: the collectives of an MPI world with the
//! reductions in a fixed order, for tests.

use crate::single::check_root;
use crate::{Collective, DistError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// What a member contributes to one collective.
#[derive(Clone, Debug)]
enum Payload {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<u8>),
    Nothing,
}

/// The group's shared state: the contributions of the collective under way and the result of
/// the last one completed.
#[derive(Debug)]
struct State {
    /// The collective under way (how many completed before it).
    generation: u64,
    /// Contributions to it, by rank.
    slots: Vec<Option<Payload>>,
    /// The contributions of the last completed collective, by rank.
    completed: Arc<Vec<Payload>>,
    /// The first member that left the group (dropped or aborted) before the others were done.
    stopped: Option<usize>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// Builds the members of an in-process group.
///
/// Reductions add the members' buffers in rank order, `((b₀ + b₁) + b₂) + …`, the same on
/// every member, so a run is deterministic; with two members this is bit for bit what two
/// MPI ranks compute. A member that is dropped while the others still call collectives
/// (its thread panicked, say) makes their pending and later collectives fail with
/// [`DistError::PeerStopped`] instead of blocking.
#[derive(Debug)]
pub struct ThreadGroup;

impl ThreadGroup {
    /// The `size` members of a new group (at least one), in rank order; move each to its own
    /// thread.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(size: usize) -> Vec<ThreadMember> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                generation: 0,
                slots: vec![None; size],
                completed: Arc::new(Vec::new()),
                stopped: None,
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| ThreadMember {
                rank,
                size,
                shared: Arc::clone(&shared),
            })
            .collect()
    }
}

/// One member of a [`ThreadGroup`].
#[derive(Debug)]
pub struct ThreadMember {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl ThreadMember {
    /// Locks the state, recovering it from a member that panicked while holding it (the
    /// state is consistent between statements).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Contributes `payload` to the collective under way and returns every member's
    /// contribution, in rank order, once all have contributed.
    fn exchange(&self, payload: Payload) -> Result<Arc<Vec<Payload>>, DistError> {
        let stopped = |rank| DistError::PeerStopped {
            rank,
            size: self.size,
        };
        let mut state = self.lock();
        if let Some(rank) = state.stopped {
            return Err(stopped(rank));
        }
        let generation = state.generation;
        state.slots[self.rank] = Some(payload);
        if state.slots.iter().all(Option::is_some) {
            let slots = std::mem::replace(&mut state.slots, vec![None; self.size]);
            state.completed = Arc::new(slots.into_iter().flatten().collect());
            state.generation += 1;
            self.shared.changed.notify_all();
            return Ok(Arc::clone(&state.completed));
        }
        loop {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.generation > generation {
                return Ok(Arc::clone(&state.completed));
            }
            if let Some(rank) = state.stopped {
                return Err(stopped(rank));
            }
        }
    }

    /// Checks that every contribution has this member's length; returns them.
    fn same_lengths<T>(
        &self,
        parts: &[Payload],
        pick: impl Fn(&Payload) -> &[T],
    ) -> Result<(), DistError> {
        let expected = pick(&parts[0]).len();
        match parts.iter().position(|p| pick(p).len() != expected) {
            None => Ok(()),
            Some(rank) => Err(DistError::LengthMismatch {
                rank,
                len: pick(&parts[rank]).len(),
                expected,
            }),
        }
    }

    /// Marks this member as gone and wakes the others.
    fn leave(&self) {
        let mut state = self.lock();
        state.stopped.get_or_insert(self.rank);
        self.shared.changed.notify_all();
    }
}

/// The element-wise sum of `parts` in rank order into `out` (starting from rank 0's value,
/// not from zero, as MPI does: `-0.0` stays `-0.0`).
fn sum_in_rank_order<T: Copy + std::ops::Add<Output = T>>(parts: &[&[T]], out: &mut [T]) {
    out.copy_from_slice(parts[0]);
    for part in &parts[1..] {
        for (o, &v) in out.iter_mut().zip(part.iter()) {
            *o = *o + v;
        }
    }
}

/// The `f32` buffer of a payload (empty for another kind).
fn f32s(p: &Payload) -> &[f32] {
    match p {
        Payload::F32(v) => v,
        _ => &[],
    }
}

/// The `f64` buffer of a payload (empty for another kind).
fn f64s(p: &Payload) -> &[f64] {
    match p {
        Payload::F64(v) => v,
        _ => &[],
    }
}

/// The bytes of a payload (empty for another kind).
fn bytes(p: &Payload) -> &[u8] {
    match p {
        Payload::Bytes(v) => v,
        _ => &[],
    }
}

impl Collective for ThreadMember {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum_f32(&self, buffer: &mut [f32]) -> Result<(), DistError> {
        let parts = self.exchange(Payload::F32(buffer.to_vec()))?;
        self.same_lengths(&parts, f32s)?;
        let slices: Vec<&[f32]> = parts.iter().map(f32s).collect();
        sum_in_rank_order(&slices, buffer);
        Ok(())
    }

    fn all_reduce_sum_f64(&self, buffer: &mut [f64]) -> Result<(), DistError> {
        let parts = self.exchange(Payload::F64(buffer.to_vec()))?;
        self.same_lengths(&parts, f64s)?;
        let slices: Vec<&[f64]> = parts.iter().map(f64s).collect();
        sum_in_rank_order(&slices, buffer);
        Ok(())
    }

    fn broadcast_bytes(&self, data: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        check_root(root, self.size)?;
        let mine = if self.rank == root {
            Payload::Bytes(data.clone())
        } else {
            Payload::Nothing
        };
        let parts = self.exchange(mine)?;
        data.clear();
        data.extend_from_slice(bytes(&parts[root]));
        Ok(())
    }

    fn gather_bytes(&self, data: &[u8], root: usize) -> Result<Option<Vec<Vec<u8>>>, DistError> {
        check_root(root, self.size)?;
        let parts = self.exchange(Payload::Bytes(data.to_vec()))?;
        Ok((self.rank == root).then(|| parts.iter().map(|p| bytes(p).to_vec()).collect()))
    }

    fn barrier(&self) -> Result<(), DistError> {
        self.exchange(Payload::Nothing).map(|_| ())
    }

    /// Marks the member as stopped, so that the others' collectives fail, and panics: the
    /// in-process counterpart of ending the job.
    fn abort(&self, code: i32) -> ! {
        self.leave();
        panic!(
            "rank {} of {} aborted with exit code {code}",
            self.rank, self.size
        )
    }
}

impl Drop for ThreadMember {
    fn drop(&mut self) {
        self.leave();
    }
}
