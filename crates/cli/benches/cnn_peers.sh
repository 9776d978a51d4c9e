#!/usr/bin/env bash
# knit against the CNN peers of shared/bench/PEERS.md ("Convolutional and recurrent peers"),
# interleaved in one run: `knit bench dsl-examples/bench_cnn.net`, `cnn_torch.py` (PyTorch,
# oneDNN, FTZ on) and `cnn_jax.py` (JAX, jit, NHWC; pinned to one core at 1 thread), at 1 and
# 2 threads and batch 64 and 256, over ROUNDS rounds (default 2). Prints samples/s per cell
# and round, then per cell the best round of each framework, knit's GFLOP/s and its ratio to
# the faster peer. The FLOPs per sample are PEERS.md's exact count (24,995,328).
# PEERS: a copy of shared/bench with its .venv (PEERS.md, "Rerunning the peers"); KNIT: the
# knit binary (default target/release/knit).
set -euo pipefail
cd "$(dirname "$0")/../../.."
knit=${KNIT:-target/release/knit}
peers=${PEERS:?set PEERS to a copy of shared/bench with its .venv}
rounds=${ROUNDS:-2}
flops=24995328
results=$(mktemp)
trap 'rm -f "$results"' EXIT
rate() { grep -o '[0-9]* samples/s' | head -1 | cut -d' ' -f1; }
for round in $(seq "$rounds"); do
  for t in 1 2; do
    for b in 64 256; do
      k=$("$knit" bench dsl-examples/bench_cnn.net --threads "$t" --runs 3 --set "batch=$b" |
            grep -o 'median [0-9]*' | cut -d' ' -f2)
      torch=$(cd "$peers" && .venv/bin/python cnn_torch.py --threads "$t" --batch "$b" --ftz | rate)
      pin=(); [[ $t == 1 ]] && pin=(taskset -c 0)
      jax=$(cd "$peers" && "${pin[@]}" .venv/bin/python cnn_jax.py --threads "$t" --batch "$b" 2>/dev/null | rate)
      echo "$t $b $k $torch $jax" >>"$results"
      echo "round $round  threads $t  batch $b  knit $k  torch $torch  jax $jax"
    done
  done
done
awk -v f="$flops" '
  { key = $1 " " $2; for (i = 3; i <= 5; i++) if ($i > best[key, i]) best[key, i] = $i; keys[key] = 1 }
  END {
    print "threads batch | knit (GFLOP/s) | PyTorch | JAX | knit / faster peer"
    for (t = 1; t <= 2; t++) for (b = 64; b <= 256; b *= 4) {
      key = t " " b; if (!(key in keys)) continue
      k = best[key, 3]; p = best[key, 4] > best[key, 5] ? best[key, 4] : best[key, 5]
      printf "%d %d | %d (%.1f) | %d | %d | %.2f\n", t, b, k, k * f / 1e9, best[key, 4], best[key, 5], k / p
    }
  }' "$results"
