#!/usr/bin/env bash
# fovea_scan's images/s against classify --bench on the same model, batch and threads, in
# alternating rounds; prints each round and the median ratio. The scan decodes, hashes and
# preprocesses every photo and writes its records; classify --bench times forwards of a batch
# already in memory, so the ratio is what the pipeline around inference costs.
#
#   bench/scan/scan_vs_bench.sh BUILD_DIR WEIGHTS IMAGE_DIR [ROUNDS] [BATCH] [THREADS]
set -euo pipefail
build=$1 weights=$2 images=$3 rounds=${4:-3} batch=${5:-8} threads=${6:-$(nproc)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ratios=()
for round in $(seq "$rounds"); do
  ms=$("$build/examples/classify/classify" --weights "$weights" --input-shape "$batch,3,224,224" \
    --bench 20 --threads "$threads" 2>/dev/null | sed -n 's/^median_ms=\([0-9.]*\).*/\1/p')
  bench_rate=$(awk -v ms="$ms" -v b="$batch" 'BEGIN { printf "%.2f", b * 1000 / ms }')
  rm -rf "$out/scan"
  "$build/examples/scan/fovea_scan" --model "$weights" --out "$out/scan" --batch "$batch" \
    --threads "$threads" "$images" 2>/dev/null || true
  scan_rate=$(/usr/bin/python3 -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['images_per_second'])" "$out/scan/_SUCCESS")
  ratio=$(awk -v s="$scan_rate" -v b="$bench_rate" 'BEGIN { printf "%.3f", s / b }')
  ratios+=("$ratio")
  echo "round $round: classify --bench $bench_rate images/s, fovea_scan $scan_rate images/s, ratio $ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median ratio fovea_scan / classify --bench: $median (batch $batch, threads $threads, $(nproc) cores)"
