//! What the launcher (`mpirun`, `mpiexec`, `srun`) announces in the environment, read
//! without initializing MPI, so that a program can decide whether a run is distributed
//! before (and without) linking or starting MPI; compiled with or without the `mpi` feature.

use crate::DistError;

/// The environment variables that announce a world size, by launcher, in the order they are
/// consulted (the first one set to a positive integer wins).
///
/// - `OMPI_COMM_WORLD_SIZE`: Open MPI's `mpirun`/`mpiexec`.
/// - `PMI_SIZE`: PMI launchers: MPICH's Hydra `mpiexec`, Intel MPI.
/// - `MV2_COMM_WORLD_SIZE`: MVAPICH2's `mpirun_rsh`.
/// - `SLURM_STEP_NUM_TASKS`: Slurm's `srun` (the tasks of this job step). Not
///   `SLURM_NTASKS`: `sbatch` and `salloc` set that one for the whole allocation, also in
///   the batch script itself, which is a single process.
///
/// PMIx launchers set no size variable (Open MPI 4.1 sets `PMIX_RANK` but no `PMIX_SIZE`);
/// Open MPI's own variable covers them.
pub(crate) const SIZE_VARIABLES: [&str; 4] = [
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "MV2_COMM_WORLD_SIZE",
    "SLURM_STEP_NUM_TASKS",
];

/// The number of processes the launcher started, as its environment variables announce it
/// (see the list below), or `None` for a process started without a launcher.
///
/// Reads only the environment: it does not initialize MPI and works without the `mpi`
/// feature, so a command line can decide whether a run is distributed (more than one
/// process announced) before choosing between [`Single`](crate::Single) and `Mpi`.
///
/// The variables, first match wins: `OMPI_COMM_WORLD_SIZE` (Open MPI), `PMI_SIZE` (MPICH's
/// Hydra, Intel MPI), `MV2_COMM_WORLD_SIZE` (MVAPICH2), `SLURM_STEP_NUM_TASKS` (`srun`).
/// A value that is not a positive integer is ignored.
pub fn launched_size() -> Option<usize> {
    launched_size_from(|name| std::env::var(name).ok())
}

/// [`launched_size`] with `lookup` in place of the process environment (`lookup(name)` is
/// the value of the variable `name`, if set): a pure function, for tests.
pub fn launched_size_from(lookup: impl Fn(&str) -> Option<String>) -> Option<usize> {
    announced_by(lookup).map(|(_, size)| size)
}

/// The first of [`SIZE_VARIABLES`] set to a positive integer, and its value.
pub(crate) fn announced_by(
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<(&'static str, usize)> {
    SIZE_VARIABLES.iter().find_map(|&name| {
        let size = lookup(name)?.trim().parse::<usize>().ok()?;
        (size > 0).then_some((name, size))
    })
}

/// Refuses a world whose size (`world_size`, from the MPI library) differs from what the
/// launcher announced (`lookup` as in [`launched_size_from`]).
///
/// The typical cause is a binary linked against one MPI (Open MPI, say) started by another
/// MPI's launcher (MPICH's `mpiexec`): the library does not understand the launcher, every
/// process initializes as a world of one, and N copies of a single-process run would go on
/// side by side, each believing it is alone.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn check_world_size(
    lookup: impl Fn(&str) -> Option<String>,
    world_size: usize,
) -> Result<(), DistError> {
    match announced_by(lookup) {
        Some((variable, announced)) if announced != world_size => Err(DistError::Mpi(format!(
            "the launcher announced {announced} processes ({variable}={announced}) but MPI's \
             world has {world_size}: a knit built against Open MPI started by another MPI's \
             launcher? (or the reverse; start it with the launcher of the MPI it was built \
             against, see `mpicc -show` and `mpirun --version`)"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup over a fixed list of variables.
    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn no_launcher_means_none() {
        assert_eq!(launched_size_from(env(&[])), None);
        assert_eq!(launched_size_from(env(&[("PATH", "/usr/bin")])), None);
    }

    #[test]
    fn each_launcher_is_recognized() {
        for name in SIZE_VARIABLES {
            assert_eq!(launched_size_from(env(&[(name, "4")])), Some(4), "{name}");
        }
    }

    #[test]
    fn open_mpi_wins_over_slurm() {
        let vars = [("SLURM_STEP_NUM_TASKS", "8"), ("OMPI_COMM_WORLD_SIZE", "2")];
        assert_eq!(launched_size_from(env(&vars)), Some(2));
    }

    #[test]
    fn an_allocation_is_not_a_launch() {
        // The batch script of `sbatch -n 4` sees SLURM_NTASKS=4 but is one process.
        assert_eq!(launched_size_from(env(&[("SLURM_NTASKS", "4")])), None);
    }

    #[test]
    fn garbage_and_zero_are_ignored() {
        assert_eq!(launched_size_from(env(&[("PMI_SIZE", "two")])), None);
        assert_eq!(launched_size_from(env(&[("PMI_SIZE", "0")])), None);
        assert_eq!(launched_size_from(env(&[("PMI_SIZE", " 3\n")])), Some(3));
        let vars = [("OMPI_COMM_WORLD_SIZE", ""), ("PMI_SIZE", "3")];
        assert_eq!(launched_size_from(env(&vars)), Some(3));
    }

    #[test]
    fn matching_sizes_pass() {
        assert!(check_world_size(env(&[]), 1).is_ok());
        assert!(check_world_size(env(&[("OMPI_COMM_WORLD_SIZE", "2")]), 2).is_ok());
    }

    #[test]
    fn another_launcher_is_detected() {
        // An Open MPI build under MPICH's mpiexec -n 2: each process is a world of one.
        let err = check_world_size(env(&[("PMI_SIZE", "2")]), 1).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DistError::Mpi(_)));
        assert!(
            text.contains("announced 2 processes (PMI_SIZE=2)"),
            "{text}"
        );
        assert!(text.contains("MPI's world has 1"), "{text}");
        assert!(text.contains("another MPI's launcher"), "{text}");
    }
}
