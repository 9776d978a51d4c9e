#!/usr/bin/env bash
# knit-dist's Mpi under a real launcher: builds examples/mpi_check with `--features mpi` and
# runs it with `mpirun` (Open MPI):
#   (a) the checks (bit-exact all-reduce, broadcast, gather, barrier, timing) on 2 and 3
#       ranks summing in shared memory, and on 2 with KNIT_MPI_ALLREDUCE=mpi (the
#       MPI_Allreduce path a run across machines takes): each must exit 0;
#   (b) `mpi_check panic` (rank 1 panics while rank 0 waits in an all-reduce): must end
#       within the timeout with a non-zero exit code and "rank 1 of 2" on stderr.
# A missing mpirun is a failure, not a skip. Run from anywhere; honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../../.."

if ! command -v mpirun >/dev/null; then
  echo "mpi.sh: mpirun not found (apt-get install libopenmpi-dev openmpi-bin)" >&2
  exit 1
fi

# Build, and take the binary's path from cargo's own report (wherever the target dir is).
binary=$(cargo build -p knit-dist --features mpi --example mpi_check --locked \
           --message-format=json-render-diagnostics \
         | sed -n 's/.*"executable":"\([^"]*mpi_check\)".*/\1/p' | tail -n 1)
if [[ -z "$binary" || ! -x "$binary" ]]; then
  echo "mpi.sh: cargo did not report the mpi_check binary" >&2
  exit 1
fi

# Open MPI in a container: as root, more ranks than cores, no cross-memory-attach, loopback.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_btl_tcp_if_include=lo
launch=(timeout 60 mpirun -np 2 --bind-to none)

# check EXPECTED COMMAND...: runs the command, which must exit 0 and print EXPECTED (the
# path the sums took).
check() {
  local expected=$1 status=0 out
  shift
  out=$("$@") || status=$?
  echo "$out"
  if [[ $status -ne 0 ]]; then
    [[ $status -eq 124 ]] && echo "mpi.sh: mpi_check hung (killed after 60 s)" >&2
    echo "mpi.sh: $* failed with exit code $status" >&2
    exit 1
  fi
  if ! grep -q "$expected" <<<"$out"; then
    echo "mpi.sh: $* did not report \"$expected\"" >&2
    exit 1
  fi
}
echo "-- mpirun -np 2 mpi_check"
check "bit for bit (summed in shared memory)" "${launch[@]}" "$binary"
echo "-- mpirun -np 3 mpi_check (three ranks: the shared-memory sums in rank order, bit for bit)"
check "bit for bit (summed in shared memory)" timeout 60 mpirun -np 3 --bind-to none "$binary"
echo "-- KNIT_MPI_ALLREDUCE=mpi mpirun -np 2 mpi_check (MPI_Allreduce, as across machines)"
KNIT_MPI_ALLREDUCE=mpi check "bit for bit (MPI_Allreduce)" "${launch[@]}" "$binary"

echo "-- mpirun -np 2 mpi_check panic (must end the job, naming rank 1)"
stderr_file=$(mktemp)
trap 'rm -f "$stderr_file"' EXIT
status=0
RUST_BACKTRACE=0 "${launch[@]}" "$binary" panic 2>"$stderr_file" || status=$?
if [[ $status -eq 124 ]]; then
  cat "$stderr_file" >&2
  echo "mpi.sh: the panic mode hung: a panicking rank left the other blocked" >&2
  exit 1
fi
if [[ $status -eq 0 ]]; then
  cat "$stderr_file" >&2
  echo "mpi.sh: the panic mode exited 0" >&2
  exit 1
fi
if ! grep -q "rank 1 of 2" "$stderr_file"; then
  cat "$stderr_file" >&2
  echo "mpi.sh: the panic mode's stderr does not name \"rank 1 of 2\"" >&2
  exit 1
fi
grep "rank 1 of 2" "$stderr_file"
echo "mpi.sh: panic mode ended with exit code $status, as it should"
echo "mpi.sh: ok"
