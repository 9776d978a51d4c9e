//! All-reduce sums in memory that the ranks of one machine share: an MPI-3 shared window
//! (`MPI_Win_allocate_shared`), every rank's segment mapped into every rank's process.
//!
//! `MPI_Allreduce` between processes of one machine copies each message twice, into a
//! shared-memory queue and out of it, a fragment at a time; for the 235,146 gradients of the
//! benchmark MLP that took 3-8× as long as this sum on a 2-core machine. Here each rank
//! writes its values once into its own segment (the [`Contribution`] writes them there
//! directly), then
//!
//! 1. a barrier: every segment is complete, and every rank checks every rank's length;
//! 2. rank `r` of `N` sums its slice `⌊n·r/N⌋ .. ⌊n·(r+1)/N⌋` over the segments in rank
//!    order, `((s₀ + s₁) + s₂) + …` (starting from rank 0's value, so `-0.0` stays `-0.0`),
//!    and writes the sum into that slice of every segment;
//! 3. a barrier: every segment holds the whole sum, which each rank reads from its own.
//!
//! Each rank thus reads `n` values of others' segments and writes `n`, and the sums are
//! those of [`ThreadGroup`](crate::ThreadGroup) bit for bit, for any number of ranks. The
//! barriers are `MPI_Barrier`, bracketed by `MPI_Win_sync` (MPI's unified memory model for
//! shared windows); a rank that dies leaves the others in an MPI call, which the launcher
//! ends.

use crate::{Contribution, DistError};
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ops::{Add, Range};

/// Every segment's size is a multiple of this many bytes, so that every segment is aligned
/// for any element type even where the library lays them out contiguously.
const SEGMENT_ALIGN: usize = 64;

/// Values summed per pass of [`sum_slice`]: a chunk and its accumulator stay in L1.
const CHUNK: usize = 1024;

/// One shared window of `bytes` per rank over a communicator of one machine.
struct Window {
    raw: ffi::MPI_Win,
    /// Every rank's segment in this process's address space, in rank order.
    segments: Vec<*mut u8>,
    /// The size of each segment.
    bytes: usize,
}

impl Window {
    /// Allocates the window (collective over `comm`: every rank passes the same `bytes`) and
    /// opens a passive epoch on it for the window's lifetime, as shared-memory access
    /// without MPI's put/get needs.
    fn allocate(comm: &SimpleCommunicator, bytes: usize) -> Window {
        let bytes = bytes.max(1).next_multiple_of(SEGMENT_ALIGN);
        let size = usize::try_from(comm.size()).expect("MPI sizes are positive");
        let aint = ffi::MPI_Aint::try_from(bytes).expect("a shared window's size fits MPI_Aint");
        // SAFETY: plain MPI calls with valid out-pointers; the library's default error
        // handler ends the job on failure, so every call that returns succeeded.
        unsafe {
            let mut info = MaybeUninit::<ffi::MPI_Info>::uninit();
            ffi::MPI_Info_create(info.as_mut_ptr());
            let mut info = info.assume_init();
            // One segment per rank, each page-aligned in its own mapping.
            ffi::MPI_Info_set(info, c"alloc_shared_noncontig".as_ptr(), c"true".as_ptr());
            let mut base: *mut u8 = std::ptr::null_mut();
            let mut raw = MaybeUninit::<ffi::MPI_Win>::uninit();
            ffi::MPI_Win_allocate_shared(
                aint,
                1,
                info,
                comm.as_raw(),
                (&mut base as *mut *mut u8).cast::<c_void>(),
                raw.as_mut_ptr(),
            );
            ffi::MPI_Info_free(&mut info);
            let raw = raw.assume_init();
            let segments = (0..size)
                .map(|rank| {
                    let mut len: ffi::MPI_Aint = 0;
                    let mut unit = 0;
                    let mut segment: *mut u8 = std::ptr::null_mut();
                    ffi::MPI_Win_shared_query(
                        raw,
                        rank as i32,
                        &mut len,
                        &mut unit,
                        (&mut segment as *mut *mut u8).cast::<c_void>(),
                    );
                    segment
                })
                .collect();
            ffi::MPI_Win_lock_all(ffi::MPI_MODE_NOCHECK as i32, raw);
            Window {
                raw,
                segments,
                bytes,
            }
        }
    }

    /// Segment `rank` as `len` values of `T` (the caller keeps within the segment and
    /// within the phase's slice, so no other rank writes what this borrows).
    ///
    /// # Safety
    ///
    /// `len · size_of::<T>() ≤ bytes`, and during the borrow no process writes the values
    /// read nor touches the values written.
    #[allow(clippy::mut_from_ref)]
    unsafe fn values<T>(&self, rank: usize, range: Range<usize>) -> &mut [T] {
        debug_assert!(range.end * size_of::<T>() <= self.bytes);
        // SAFETY: the segment is `bytes` long, aligned to SEGMENT_ALIGN (≥ align_of::<T>()),
        // and the caller guarantees the range is in bounds and not shared during the borrow.
        unsafe {
            let first = self.segments[rank].cast::<T>().add(range.start);
            std::slice::from_raw_parts_mut(first, range.len())
        }
    }

    /// Makes this process's stores to the window visible and others' visible to it.
    fn sync(&self) {
        // SAFETY: a valid window in a passive epoch.
        unsafe {
            ffi::MPI_Win_sync(self.raw);
        }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: the window was allocated and locked in `allocate`; freeing is collective,
        // and every rank drops its windows at the same point of the same program.
        unsafe {
            ffi::MPI_Win_unlock_all(self.raw);
            ffi::MPI_Win_free(&mut self.raw);
        }
    }
}

/// All-reduce sums over the ranks of one machine through shared windows (see the module).
pub(super) struct SharedWindowSum {
    /// The ranks of this machine, in world order (here: the whole world).
    comm: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// One `u64` per rank: the length each rank contributes to the sum under way.
    lengths: Window,
    /// The values, grown to the largest sum so far (`None` before the first).
    values: Option<Window>,
}

impl SharedWindowSum {
    /// The shared-memory sums of `world`, when all its ranks run on one machine (`None`
    /// otherwise, the same answer on every rank: the machine's group is the world on every
    /// rank or on none). Collective over `world`.
    pub(super) fn for_world(world: &SimpleCommunicator) -> Option<SharedWindowSum> {
        let comm = world.split_shared(world.rank());
        if comm.size() != world.size() || world.size() < 2 {
            return None;
        }
        let lengths = Window::allocate(&comm, size_of::<u64>());
        Some(SharedWindowSum {
            rank: usize::try_from(comm.rank()).expect("MPI ranks are non-negative"),
            size: usize::try_from(comm.size()).expect("MPI sizes are positive"),
            comm,
            lengths,
            values: None,
        })
    }

    /// A barrier that also orders every rank's stores to the windows before every rank's
    /// loads after it.
    fn barrier(&self) {
        self.lengths.sync();
        if let Some(values) = &self.values {
            values.sync();
        }
        self.comm.barrier();
        self.lengths.sync();
        if let Some(values) = &self.values {
            values.sync();
        }
    }

    /// Every rank's `part` summed in rank order, into every rank's `part` (see the module).
    /// Buffers of different lengths are [`DistError::LengthMismatch`] on every rank.
    pub(super) fn sum<T>(&mut self, part: &mut dyn Contribution<T>) -> Result<(), DistError>
    where
        T: Copy + Default + Add<Output = T>,
    {
        let len = part.len();
        let bytes = len.saturating_mul(size_of::<T>());
        // SAFETY: this rank's own length slot, which no other rank writes, and which none
        // reads before the barrier below (nor after the last barrier of the previous sum).
        unsafe { self.lengths.values::<u64>(self.rank, 0..1)[0] = len as u64 };
        let fits = self.values.as_ref().is_some_and(|w| w.bytes >= bytes);
        if fits {
            // SAFETY: this rank's own segment, which others read only after the barrier.
            part.write(unsafe { self.window()?.values::<T>(self.rank, 0..len) });
        }
        self.barrier();
        self.check_lengths()?;
        if !fits {
            // Every rank has the same length and window, so all of them come here together
            // (and all refuse a length too large together).
            if bytes > isize::MAX as usize / 2 {
                return Err(DistError::Mpi(format!(
                    "an all-reduce of {len} values of {} bytes does not fit in a shared window",
                    size_of::<T>()
                )));
            }
            self.values = None;
            self.values = Some(Window::allocate(&self.comm, bytes));
            // SAFETY: as above, in the new window.
            part.write(unsafe { self.window()?.values::<T>(self.rank, 0..len) });
            self.barrier();
        }
        let window = self.window()?;
        let mine = len * self.rank / self.size..len * (self.rank + 1) / self.size;
        // SAFETY: between the two barriers every rank touches only its own slice of every
        // segment, and the slices of different ranks are disjoint.
        unsafe { sum_slice::<T>(window, self.size, mine) };
        self.barrier();
        // SAFETY: after the barrier every segment holds the sum, and no rank writes this
        // segment before the next sum's first barrier, which waits for this rank.
        part.read(unsafe { window.values::<T>(self.rank, 0..len) });
        Ok(())
    }

    /// The values' window (allocated by the first sum).
    fn window(&self) -> Result<&Window, DistError> {
        self.values
            .as_ref()
            .ok_or_else(|| DistError::Mpi("the shared window was not allocated".into()))
    }

    /// Refuses lengths that differ from rank 0's, naming the first rank that differs, on
    /// every rank (each reads all the lengths after the same barrier).
    fn check_lengths(&self) -> Result<(), DistError> {
        // SAFETY: the length slots are written only before the barrier each sum starts with.
        let of = |rank| unsafe { self.lengths.values::<u64>(rank, 0..1)[0] as usize };
        let expected = of(0);
        match (0..self.size).find(|&rank| of(rank) != expected) {
            None => Ok(()),
            Some(rank) => Err(DistError::LengthMismatch {
                rank,
                len: of(rank),
                expected,
            }),
        }
    }
}

/// Sums `range` of the first `size` segments of `window` in rank order, a chunk at a time,
/// and writes the sum into `range` of every segment.
///
/// # Safety
///
/// `range` is within every segment, and no other process touches it during the call.
unsafe fn sum_slice<T>(window: &Window, size: usize, range: Range<usize>)
where
    T: Copy + Default + Add<Output = T>,
{
    let mut acc = [T::default(); CHUNK];
    let mut start = range.start;
    while start < range.end {
        let chunk = start..(start + CHUNK).min(range.end);
        let acc = &mut acc[..chunk.len()];
        // SAFETY: the caller's guarantee, one segment borrowed at a time.
        unsafe {
            acc.copy_from_slice(window.values::<T>(0, chunk.clone()));
            for rank in 1..size {
                let values = window.values::<T>(rank, chunk.clone());
                for (a, &v) in acc.iter_mut().zip(values.iter()) {
                    *a = *a + v;
                }
            }
            for rank in 0..size {
                window.values::<T>(rank, chunk.clone()).copy_from_slice(acc);
            }
        }
        start = chunk.end;
    }
}
