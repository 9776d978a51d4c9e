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

/// The threads a process of a data-parallel run should use: `requested`, but no more than
/// the CPUs this process may run on (`std::thread::available_parallelism` follows the CPU
/// affinity a launcher binds a rank to: Open MPI binds each rank to one core unless told
/// `--bind-to none`), so that ranks do not oversubscribe their cores. Outside a launcher's
/// world, `requested` unchanged. Returns the count and, when it was lowered, a note saying
/// why.
pub fn threads_for(requested: usize, mode: Distributed) -> (usize, Option<String>) {
    let distributed = mode != Distributed::Off && knit_dist::launched_size().is_some_and(|n| n > 1);
    let allowed = std::thread::available_parallelism().map_or(requested, usize::from);
    if !distributed || requested <= allowed {
        return (requested, None);
    }
    let note = format!(
        "note: --threads {requested} lowered to {allowed}: this rank may run on {allowed} CPU{} \
         (its CPU affinity; `mpirun --bind-to none` or `--map-by slot:PE=N` gives it more)",
        if allowed == 1 { "" } else { "s" }
    );
    (allowed, Some(note))
}
