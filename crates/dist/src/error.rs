//! Why a collective failed.

/// A failed collective operation.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// Another member of the group stopped (panicked, errored or was killed) while this one
    /// waited for it in a collective.
    #[error("rank {rank} of {size} stopped during a collective operation")]
    PeerStopped {
        /// The member that stopped (or the first one found stopped).
        rank: usize,
        /// The group's size.
        size: usize,
    },
    /// The members called a collective with buffers of different lengths.
    #[error("rank {rank} passed {len} values to a collective operation, rank 0 passed {expected}")]
    LengthMismatch {
        /// The member whose buffer differs.
        rank: usize,
        /// Its length.
        len: usize,
        /// Rank 0's length.
        expected: usize,
    },
    /// A root rank outside the group.
    #[error("root rank {root} is outside a group of {size}")]
    BadRoot {
        /// The rank asked for.
        root: usize,
        /// The group's size.
        size: usize,
    },
    /// The MPI library reported an error, or the launcher and the library disagree.
    #[error("MPI: {0}")]
    Mpi(String),
}
