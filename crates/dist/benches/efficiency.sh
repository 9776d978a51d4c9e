#!/usr/bin/env bash
# Data-parallel efficiency on one machine: `knit bench dsl-examples/bench_mlp.net` in one
# process against `mpirun -np 2` (1 thread per rank), at batch B and 2B (B per rank) for
# B = 64 and 256, three interleaved rounds. Prints samples/s, the efficiency (2-rank
# throughput / twice the 1-rank throughput) and the all-reduce time per step.
# Needs a knit built with `--features mpi` (KNIT overrides the path).
set -euo pipefail
cd "$(dirname "$0")/../../.."
knit=${KNIT:-target/release/knit}
file=dsl-examples/bench_mlp.net
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_btl_tcp_if_include=lo
for round in 1 2 3; do
  for b in 64 256; do
    one=$("$knit" bench "$file" --runs 5 --set "batch=$b" | grep -o 'median [0-9]*' | cut -d' ' -f2)
    out=$(timeout 300 mpirun -np 2 --bind-to none "$knit" bench "$file" --runs 5 --set "batch=$((2 * b))")
    two=$(echo "$out" | grep -o 'median [0-9]*' | cut -d' ' -f2)
    reduce=$(echo "$out" | grep -o 'all-reduce [0-9]* µs')
    efficiency=$(awk "BEGIN { printf \"%.3f\", $two / (2 * $one) }")
    echo "round $round  batch/rank $b  1 rank $one  2 ranks $two  efficiency $efficiency  $reduce per step"
  done
done
