//! The MPI world of `mpirun`/`srun`, through rsmpi (cargo feature `mpi`).
//!
//! # Errors
//!
//! rsmpi does not return MPI's error codes: the library's default error handler,
//! `MPI_ERRORS_ARE_FATAL`, ends the whole job on any MPI error, which is what a training run
//! wants (no rank is left waiting). [`DistError::Mpi`] is therefore returned only for what
//! this module checks itself (initialization, launcher/library mismatch); a wrong root gives
//! [`DistError::BadRoot`] and buffers of different lengths [`DistError::LengthMismatch`], on
//! every rank, as with [`ThreadGroup`](crate::ThreadGroup). What cannot be reported to every
//! rank (a message too long for MPI's `int` counts, found on one rank only) ends the job
//! with `MPI_Abort` and a message naming the rank.

mod shared_window;

use self::shared_window::SharedWindowSum;
use crate::launcher::check_world_size;
use crate::single::check_root;
use crate::{Collective, Contribution, DistError};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use mpi::{Count, Threading};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether [`Mpi::init`] was called in this process (MPI can be initialized once only, and
/// not again after it is finalized).
static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// The processes of `MPI_COMM_WORLD`, as started by `mpirun -np N` or `srun -n N`.
///
/// Create it once per process with [`Mpi::init`], on the thread that will call the
/// collectives (MPI is initialized with `MPI_THREAD_FUNNELED`: other threads may exist, for
/// example rayon's, but only this one talks to MPI; the type is neither `Send` nor `Sync`).
/// Dropping it finalizes MPI, which cannot be initialized again in the same process.
///
/// When every rank runs on one machine, the all-reduce sums go through memory the ranks
/// share (an MPI-3 shared window, see `shared_window.rs`): each rank writes its values into
/// its own segment, sums a slice of all segments in rank order and writes that slice of the
/// sum into every segment, so every rank gets `((b₀ + b₁) + b₂) + …`, bit for bit what
/// [`ThreadGroup`](crate::ThreadGroup) computes, at a fraction of `MPI_Allreduce`'s copies.
/// Across machines they use `MPI_Allreduce` with `MPI_SUM`: with two ranks every rank gets
/// `a + b`, bit for bit the same again; with more, the library chooses the order of the
/// additions (the same on every rank for a given library, size and length).
pub struct Mpi {
    /// `MPI_COMM_WORLD`.
    world: SimpleCommunicator,
    /// This process's rank in the world.
    rank: usize,
    /// The world's size.
    size: usize,
    /// The sums in shared memory, when the world is one machine.
    shared: RefCell<Option<SharedWindowSum>>,
    /// Otherwise, the send and receive buffers of the `f32` all-reduce (rsmpi has no
    /// `MPI_IN_PLACE`): reused, so a training step allocates nothing once it has seen its
    /// largest buffer.
    scratch_f32: RefCell<[Vec<f32>; 2]>,
    /// The same for `f64`.
    scratch_f64: RefCell<[Vec<f64>; 2]>,
    /// Every rank's buffer length, gathered before each reduction to refuse a mismatch.
    lengths: RefCell<Vec<u64>>,
    /// Keeps MPI initialized; finalizes it when dropped (declared last: dropped last).
    _universe: Universe,
    /// Not `Send`: Open MPI's handles belong to the thread that initialized it.
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Mpi {
    /// Initializes MPI and returns this process's view of `MPI_COMM_WORLD`.
    ///
    /// Besides `MPI_Init_thread`, it
    ///
    /// - refuses a second call in the same process (MPI can be initialized once only);
    /// - refuses a world whose size differs from what the launcher's environment announced
    ///   ([`launched_size`](crate::launched_size)): a binary built against Open MPI started
    ///   by MPICH's `mpiexec`, say, would otherwise run as N separate worlds of one;
    /// - installs a panic hook that prints the panic message on one line prefixed with
    ///   `rank R of N:`, then runs the hook installed before (the full report, with the
    ///   backtrace if enabled), then calls
    ///   `MPI_Abort(MPI_COMM_WORLD, 1)`, so that a rank that panics ends the whole job
    ///   instead of leaving the others blocked in a collective forever. Any panic counts,
    ///   on any thread, even one that would later be caught;
    /// - sets up the sums in shared memory when every rank runs on this machine, unless
    ///   the environment variable `KNIT_MPI_ALLREDUCE` is `mpi` on some rank (any other
    ///   value than `shared` or `mpi` is refused): then every sum is `MPI_Allreduce`'s,
    ///   as across machines, for comparison.
    pub fn init() -> Result<Mpi, DistError> {
        if INITIALIZED.swap(true, Ordering::SeqCst) {
            return Err(DistError::Mpi(
                "Mpi::init was already called in this process; MPI can be initialized once \
                 only (keep the first Mpi and pass it by reference)"
                    .into(),
            ));
        }
        let (universe, threading) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or_else(|| {
                DistError::Mpi(
                    "MPI was already initialized in this process by other code than \
                     Mpi::init"
                        .into(),
                )
            })?;
        if threading < Threading::Funneled {
            return Err(DistError::Mpi(format!(
                "the MPI library offers thread support {threading:?}; knit needs Funneled \
                 (worker threads that do not call MPI)"
            )));
        }
        let world = universe.world();
        let rank = usize::try_from(world.rank()).expect("MPI ranks are non-negative");
        let size = usize::try_from(world.size()).expect("MPI sizes are positive");
        check_world_size(|name| std::env::var(name).ok(), size)?;
        install_abort_on_panic(rank, size);
        let wants_shared = match std::env::var("KNIT_MPI_ALLREDUCE").as_deref() {
            Err(_) | Ok("shared") => true,
            Ok("mpi") => false,
            Ok(other) => {
                return Err(DistError::Mpi(format!(
                    "KNIT_MPI_ALLREDUCE is `{other}`; it must be `shared` (the default: sums \
                     in shared memory on one machine) or `mpi` (MPI_Allreduce)"
                )))
            }
        };
        // Every rank must take the same path: shared memory only if all of them want it.
        let mut all_want = 0i32;
        world.all_reduce_into(
            &i32::from(wants_shared),
            &mut all_want,
            SystemOperation::min(),
        );
        let shared = if all_want == 1 {
            SharedWindowSum::for_world(&world)
        } else {
            None
        };
        Ok(Mpi {
            world,
            rank,
            size,
            shared: RefCell::new(shared),
            scratch_f32: RefCell::new([Vec::new(), Vec::new()]),
            scratch_f64: RefCell::new([Vec::new(), Vec::new()]),
            lengths: RefCell::new(vec![0; size]),
            _universe: universe,
            _not_send: PhantomData,
        })
    }

    /// Whether the all-reduce sums go through memory the ranks share (every rank runs on
    /// this machine), in rank order, rather than through `MPI_Allreduce`.
    pub fn shares_memory(&self) -> bool {
        self.shared.borrow().is_some()
    }

    /// Prints `message` prefixed with this rank and ends the job: for an error that the
    /// other ranks cannot learn about (they would wait in the next collective forever).
    fn fail(&self, message: &str) -> ! {
        eprintln!("rank {} of {}: {message}", self.rank, self.size);
        self.abort(1)
    }

    /// A length as MPI's `int` count, or the end of the job.
    fn count(&self, len: usize, what: &str) -> Count {
        Count::try_from(len).unwrap_or_else(|_| {
            self.fail(&format!(
                "{what} of {len} elements exceeds MPI's int count ({})",
                Count::MAX
            ))
        })
    }

    /// Gathers every rank's `len` on every rank and refuses a difference with rank 0's,
    /// naming the first rank that differs, like [`ThreadGroup`](crate::ThreadGroup).
    fn check_lengths(&self, len: usize) -> Result<(), DistError> {
        let mut lengths = self.lengths.borrow_mut();
        self.world.all_gather_into(&(len as u64), &mut lengths[..]);
        let expected = lengths[0];
        match lengths.iter().position(|&l| l != expected) {
            None => Ok(()),
            Some(rank) => Err(DistError::LengthMismatch {
                rank,
                len: lengths[rank] as usize,
                expected: expected as usize,
            }),
        }
    }

    /// The all-reduce sum of every rank's `part`: in the shared window when there is one,
    /// else by `MPI_Allreduce` from and into the `scratch` buffers; `what` names the call
    /// in errors.
    fn sum_with<T>(
        &self,
        part: &mut dyn Contribution<T>,
        scratch: &RefCell<[Vec<T>; 2]>,
        what: &str,
    ) -> Result<(), DistError>
    where
        T: mpi::traits::Equivalence + Copy + Default + std::ops::Add<Output = T>,
    {
        if let Some(shared) = self.shared.borrow_mut().as_mut() {
            return shared.sum(part);
        }
        let len = part.len();
        self.count(len, what);
        self.check_lengths(len)?;
        if len == 0 {
            // An empty slice's pointer may be Open MPI's MPI_IN_PLACE: nothing to send.
            part.read(&[]);
            return Ok(());
        }
        let [send, sum] = &mut *scratch.borrow_mut();
        send.resize(len, T::default());
        sum.resize(len, T::default());
        part.write(send);
        self.world
            .all_reduce_into(&send[..], &mut sum[..], SystemOperation::sum());
        part.read(sum);
        Ok(())
    }
}

/// Makes any panic print `rank R of N:` before the previous hook's message, then end the
/// whole MPI job with exit code 1.
fn install_abort_on_panic(rank: usize, size: usize) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // One line that names the rank (the launcher mixes every rank's output), then the
        // previous hook's full report (location, backtrace).
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a panic payload that is not text)");
        match info.location() {
            Some(at) => eprintln!("rank {rank} of {size}: panicked at {at}: {message}"),
            None => eprintln!("rank {rank} of {size}: panicked: {message}"),
        }
        previous(info);
        // After MPI_Finalize (the Mpi dropped) MPI_Abort is not allowed; the ordinary
        // unwinding then applies.
        if !mpi::environment::is_finalized() {
            // The world handle is a constant, not the (non-Send) Mpi value.
            SimpleCommunicator::world().abort(1);
        }
    }));
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    /// The sum in shared memory on one machine, else `MPI_Allreduce(MPI_SUM)`; either
    /// first compares every rank's length (a mismatch is an error on every rank instead of
    /// undefined behaviour).
    fn all_reduce_sum_f32(&self, buffer: &mut [f32]) -> Result<(), DistError> {
        self.sum_with(&mut &mut *buffer, &self.scratch_f32, "an f32 all-reduce")
    }

    /// As [`all_reduce_sum_f32`](Self::all_reduce_sum_f32), with `part` writing straight
    /// into the shared window (or the send buffer) and reading the sum from it.
    fn all_reduce_sum_f32_with(&self, part: &mut dyn Contribution<f32>) -> Result<(), DistError> {
        self.sum_with(part, &self.scratch_f32, "an f32 all-reduce")
    }

    /// As [`all_reduce_sum_f32`](Self::all_reduce_sum_f32).
    fn all_reduce_sum_f64(&self, buffer: &mut [f64]) -> Result<(), DistError> {
        self.sum_with(&mut &mut *buffer, &self.scratch_f64, "an f64 all-reduce")
    }

    /// As [`all_reduce_sum_f32_with`](Self::all_reduce_sum_f32_with).
    fn all_reduce_sum_f64_with(&self, part: &mut dyn Contribution<f64>) -> Result<(), DistError> {
        self.sum_with(part, &self.scratch_f64, "an f64 all-reduce")
    }

    /// Two `MPI_Bcast`s: the root's length (a `u64`), then its bytes into `bytes` resized
    /// to it.
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        check_root(root, self.size)?;
        let root_process = self.world.process_at_rank(root as mpi::Rank);
        let mut len = bytes.len() as u64;
        root_process.broadcast_into(&mut len);
        let len = usize::try_from(len).unwrap_or_else(|_| self.fail("broadcast too long"));
        self.count(len, "a broadcast");
        bytes.resize(len, 0);
        // An empty slice's pointer may be 1, which is Open MPI's MPI_IN_PLACE: skip it
        // (every rank knows the length is zero).
        if len > 0 {
            root_process.broadcast_into(&mut bytes[..]);
        }
        Ok(())
    }

    /// `MPI_Gather` of the lengths (`u64`), then `MPI_Gatherv` of the bytes into one
    /// buffer on the root, split by rank.
    fn gather_bytes(&self, bytes: &[u8], root: usize) -> Result<Option<Vec<Vec<u8>>>, DistError> {
        check_root(root, self.size)?;
        self.count(bytes.len(), "a gather");
        let root_process = self.world.process_at_rank(root as mpi::Rank);
        let len = bytes.len() as u64;
        // An empty slice's pointer may be 1, which is Open MPI's MPI_IN_PLACE (`MPI_Gatherv`
        // would read it as "in place" on the root): give MPI a real address.
        let nothing = [0u8; 1];
        let bytes = if bytes.is_empty() {
            &nothing[..0]
        } else {
            bytes
        };
        if self.rank != root {
            root_process.gather_into(&len);
            root_process.gather_varcount_into(bytes);
            return Ok(None);
        }
        let mut lengths = vec![0u64; self.size];
        root_process.gather_into_root(&len, &mut lengths[..]);
        let counts: Vec<Count> = lengths
            .iter()
            .map(|&l| self.count(l as usize, "a gather's part"))
            .collect();
        let mut displs = Vec::with_capacity(self.size);
        let mut total: usize = 0;
        for &l in &lengths {
            displs.push(self.count(total, "a gather's total"));
            total += l as usize;
        }
        self.count(total, "a gather's total");
        // At least one byte, for a real address (see above); the partition covers `total`.
        let mut all = vec![0u8; total.max(1)];
        {
            let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            root_process.gather_varcount_into_root(bytes, &mut partition);
        }
        let mut parts = Vec::with_capacity(self.size);
        let mut rest = &all[..total];
        for &l in &lengths {
            let (part, tail) = rest.split_at(l as usize);
            parts.push(part.to_vec());
            rest = tail;
        }
        Ok(Some(parts))
    }

    /// `MPI_Barrier`.
    fn barrier(&self) -> Result<(), DistError> {
        self.world.barrier();
        Ok(())
    }

    /// `MPI_Abort(MPI_COMM_WORLD, code)`: the launcher ends every rank.
    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
