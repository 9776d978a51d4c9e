#!/usr/bin/env bash
# Data-parallel efficiency on one machine: `knit bench dsl-examples/bench_mlp.net` in one
# process against `mpirun -np 2` (1 thread per rank), at batch B and 2B (B per rank) for
# B = 64 and 256, interleaved over ROUNDS rounds (default 5). The 2-rank run is measured
# twice per round: with the sums in shared memory (the default on one machine) and with
# KNIT_MPI_ALLREDUCE=mpi (MPI_Allreduce, as across machines). Prints, per round, samples/s,
# the efficiency (2-rank throughput / twice the 1-rank throughput) and the all-reduce time
# per step, then the median efficiency of each cell over the rounds.
# Needs a knit built with `--features mpi` (KNIT overrides the path).
set -euo pipefail
cd "$(dirname "$0")/../../.."
knit=${KNIT:-target/release/knit}
rounds=${ROUNDS:-5}
file=dsl-examples/bench_mlp.net
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_btl_tcp_if_include=lo
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
  for b in 64 256; do
    one=$("$knit" bench "$file" --runs 5 --set "batch=$b" | grep -o 'median [0-9]*' | cut -d' ' -f2)
    line="round $round  batch/rank $b  1 rank $one"
    for sums in shared mpi; do
      out=$(KNIT_MPI_ALLREDUCE=$sums timeout 300 mpirun -np 2 --bind-to none \
              "$knit" bench "$file" --runs 5 --set "batch=$((2 * b))")
      two=$(echo "$out" | grep -o 'median [0-9]*' | cut -d' ' -f2)
      reduce=$(echo "$out" | grep -o 'all-reduce [0-9]* µs' | cut -d' ' -f2)
      efficiency=$(awk "BEGIN { printf \"%.3f\", $two / (2 * $one) }")
      echo "$b $sums $efficiency" >>"$results"
      line="$line  | $sums: 2 ranks $two, efficiency $efficiency, all-reduce $reduce µs/step"
    done
    echo "$line"
  done
done
for b in 64 256; do
  for sums in shared mpi; do
    m=$(awk -v b="$b" -v s="$sums" '$1 == b && $2 == s { print $3 }' "$results" | median)
    echo "median over $rounds rounds: batch/rank $b, sums $sums: efficiency $m"
  done
done
