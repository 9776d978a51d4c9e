//! # knit-dist
//!
//! The communication a data-parallel run needs, behind one small trait: [`Collective`]
//! (rank, size, all-reduce sums of `f32`/`f64` buffers, broadcast and gather of bytes,
//! barrier, abort). Three implementations:
//!
//! - [`Single`]: a world of one process; every collective is the identity. A run without a
//!   launcher uses it, so one code path serves both.
//! - [`ThreadGroup`]: N members in one process, one per thread, for tests: the reductions
//!   add the members' buffers in rank order, which is what two MPI ranks compute too (for
//!   two, `a + b = b + a` bit for bit), so a 2-rank MPI run can be compared with it exactly.
//! - `Mpi` (cargo feature `mpi`, off by default): the world of `mpirun`/`srun`, over
//!   `MPI_COMM_WORLD` through rsmpi. `Mpi::init` refuses a launcher of another MPI than the
//!   one linked (the world would be N separate processes of one) and makes a panicking rank
//!   end the whole job with `MPI_Abort` rather than leave the others blocked.
//!
//! [`launched_size`] reads the world size the launcher announces in the environment,
//! without MPI (and without the feature), so that a program can choose between [`Single`]
//! and `Mpi` before initializing anything.
//!
//! ```
//! use knit_dist::{Collective, ThreadGroup};
//!
//! let sums: Vec<Vec<f32>> = std::thread::scope(|s| {
//!     let handles: Vec<_> = ThreadGroup::new(2)
//!         .into_iter()
//!         .map(|member| {
//!             s.spawn(move || {
//!                 let mut buffer = vec![member.rank() as f32 + 1.0; 3];
//!                 member.all_reduce_sum_f32(&mut buffer).unwrap();
//!                 buffer
//!             })
//!         })
//!         .collect();
//!     handles.into_iter().map(|h| h.join().unwrap()).collect()
//! });
//! assert_eq!(sums, vec![vec![3.0; 3], vec![3.0; 3]]);
//! ```

#![warn(missing_docs)]

mod collective;
mod contribution;
mod error;
mod launcher;
#[cfg(feature = "mpi")]
mod mpi;
mod single;
mod thread_group;

#[cfg(feature = "mpi")]
pub use self::mpi::Mpi;
pub use collective::Collective;
pub use contribution::Contribution;
pub use error::DistError;
pub use launcher::{launched_size, launched_size_from};
pub use single::Single;
pub use thread_group::{ThreadGroup, ThreadMember};
