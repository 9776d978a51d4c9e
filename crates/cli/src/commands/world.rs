//! Which process group a command trains in: one process, or the MPI world of the launcher
//! that started it (`mpirun -np N knit train ...`).

use knit_dist::{Collective, Single};

/// Whether to train data-parallel when started by an MPI launcher.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Distributed {
    /// Join the launcher's MPI world when it announces more than one process.
    #[default]
    Auto,
    /// Fail unless started by an MPI launcher with more than one process (for scripts
    /// that must not silently train alone).
    Require,
    /// Train alone even under a launcher (every rank would then train the whole run).
    Off,
}

/// The group this process trains in, chosen by `mode` from the environment
/// ([`knit_dist::launched_size`]); an error message when the run cannot be what was asked.
/// Call it on the thread that will use the group (MPI's handle stays on its thread).
pub fn join(mode: Distributed) -> Result<Box<dyn Collective>, String> {
    let launched = knit_dist::launched_size();
    match (mode, launched) {
        (Distributed::Off, _) => Ok(Box::new(Single)),
        (Distributed::Auto, None | Some(1)) => Ok(Box::new(Single)),
        (Distributed::Require, None) => Err(
            "--distributed require: this process was not started by an MPI launcher (run \
             `mpirun -np N knit train ...` or `srun knit train ...`)"
                .into(),
        ),
        (Distributed::Require, Some(1)) => Err(
            "--distributed require: the launcher started a single process; ask for more \
             (`mpirun -np N`)"
                .into(),
        ),
        (_, Some(size)) => mpi_world(size),
    }
}

/// The MPI world of a launcher that announced `size` processes.
#[cfg(feature = "mpi")]
fn mpi_world(_size: usize) -> Result<Box<dyn Collective>, String> {
    knit_dist::Mpi::init()
        .map(|world| Box::new(world) as Box<dyn Collective>)
        .map_err(|e| e.to_string())
}

/// Without MPI support, a launcher's world is an error rather than N copies training alone.
#[cfg(not(feature = "mpi"))]
fn mpi_world(size: usize) -> Result<Box<dyn Collective>, String> {
    Err(format!(
        "an MPI launcher started {size} processes, but this knit was built without MPI \
         support: rebuild it with `cargo build --release -p knit-cli --features mpi` (Open MPI \
         or MPICH and libclang installed), or pass --distributed off to train each process \
         alone"
    ))
}
