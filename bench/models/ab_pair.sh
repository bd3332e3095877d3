#!/usr/bin/env bash
# Compares two classify builds on one model, in rounds that alternate which runs first, and
# prints the median of the paired ratios B/A (< 1: B is faster). On a host whose speed drifts
# by 15-20 % over minutes, a ratio of runs next to each other is the only fair comparison;
# repeats of it still move by about 1.5 %.
#
#   bench/models/ab_pair.sh CLASSIFY_A CLASSIFY_B MODEL THREADS [ITERS] [ROUNDS]
#
# Weights come from BUILD/models/MODEL.safetensors (written by compare.sh), BUILD being the build
# folder either classify lies in (B's first); MODELS_DIR overrides the folder, SHAPE the input
# shape (default 1,3,224,224).
set -euo pipefail
(( $# >= 4 )) || { sed -n 2,10p "$0" >&2; exit 2; }
a=$1 b=$2 model=$3 threads=$4 iters=${5:-100} rounds=${6:-10}
weights=""
for candidate in ${MODELS_DIR:-} "$(dirname "$(dirname "$(dirname "$b")")")/models" \
                 "$(dirname "$(dirname "$(dirname "$a")")")/models"; do
  [[ -f $candidate/$model.safetensors ]] && { weights=$candidate/$model.safetensors; break; }
done
[[ -n $weights ]] || { echo "no $model.safetensors: run bench/models/compare.sh first" >&2; exit 1; }
run() {
  "$1" --model "$model" --weights "$weights" --input-shape "${SHAPE:-1,3,224,224}" \
    --bench "$iters" --threads "$threads" --topk 0 2>&1 | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'
}
for (( i = 0; i < rounds; ++i )); do
  if (( i % 2 == 0 )); then ta=$(run "$a"); tb=$(run "$b"); else tb=$(run "$b"); ta=$(run "$a"); fi
  echo "$ta $tb"
done | awk -v m="$model" -v t="$threads" '
  { a[NR] = $1; b[NR] = $2; r[NR] = $2 / $1 }
  function median(v, n,   i, j, x) {
    for (i = 2; i <= n; ++i) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; --j) v[j + 1] = v[j]; v[j + 1] = x }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  END { printf "%s threads=%s rounds=%d median_ms A=%.2f B=%.2f paired B/A=%.3f\n", m, t, NR, median(a, NR), median(b, NR), median(r, NR) }'
