#!/usr/bin/env bash
# Whole-model CPU latency of fovea, ONNX Runtime and PyTorch on the same models, weights,
# batch sizes and thread counts, in one run; prints a markdown table and writes it to
# BUILD/bench_models.md. See docs/benchmarking.md.
#
#   bench/models/compare.sh [BUILD_DIR]        (default: build; needs BUILD/examples/classify)
#
# Environment: MODELS ("resnet50 mobilenet_v2 efficientnet_b0"), BATCHES ("1 8"),
# THREADS ("1 2"), ROUNDS (3), ORT_DIR (where `npm install --ignore-scripts onnxruntime-node`
# was run; default ~/.cache/fovea/ort), PYTHON (/usr/bin/python3 with torch and torchvision).
#
# fovea and ONNX Runtime run ROUNDS times each, alternating, and the table gives the median
# of their rounds: on a shared machine a neighbour's burst then lands in one round of one
# engine, not in the ratio. PyTorch, far slower, runs once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
models="${MODELS:-resnet50 mobilenet_v2 efficientnet_b0}"
batches="${BATCHES:-1 8}"
threads_list="${THREADS:-1 2}"
rounds="${ROUNDS:-3}"
ort_dir="${ORT_DIR:-$HOME/.cache/fovea/ort}"
python="${PYTHON:-/usr/bin/python3}"
classify="$build/examples/classify/classify"
work="$build/models"
out="$build/bench_models.md"

die() { echo "compare.sh: $*" >&2; exit 1; }
[[ -x "$classify" ]] || die "$classify not found: cmake --build $build --target classify"
[[ -d "$ort_dir/node_modules/onnxruntime-node" ]] ||
  die "no onnxruntime-node in $ort_dir: (mkdir -p $ort_dir && cd $ort_dir && npm install --ignore-scripts onnxruntime-node)"
"$python" -c "import torch, torchvision" 2>/dev/null || die "$python cannot import torch"

# Fewer timed iterations where one forward is long; every engine gets the same count.
iterations() {  # model batch
  local base=30
  [[ "$1" == resnet50 ]] && base=12
  (( $2 > 1 )) && base=$(( base / 3 ))
  echo "$base"
}

median_of() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' | tail -1; }
middle() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

mkdir -p "$work"
for model in $models; do
  missing=0
  for b in $batches; do [[ -f "$work/${model}_b$b.onnx" ]] || missing=1; done
  [[ -f "$work/$model.safetensors" && -f "$work/$model.pt" ]] || missing=1
  if (( missing )); then
    echo "exporting $model ..." >&2
    "$python" "$here/export_models.py" --model "$model" --out-dir "$work" \
      --batches "$(echo $batches | tr ' ' ',')" >&2
  fi
done

load_before="$(cut -d" " -f1-3 /proc/loadavg)"
raw="$work/raw.tsv"
: > "$raw"
for model in $models; do
  for b in $batches; do
    for t in $threads_list; do
      n=$(iterations "$model" "$b")
      echo "$model batch $b threads $t: $n iterations each, $rounds rounds" >&2
      fovea_rounds=() ort_rounds=()
      for (( round = 0; round < rounds; ++round )); do
        fovea_rounds+=("$("$classify" --weights "$work/$model.safetensors" \
                          --input-shape "$b,3,224,224" --bench "$n" --threads "$t" --topk 0 \
                          2>/dev/null | median_of)")
        ort_rounds+=("$(NODE_PATH="$ort_dir/node_modules" node "$here/ort_bench.js" \
                        "$work/${model}_b$b.onnx" "$n" "$t" | median_of)")
      done
      fovea=$(middle "${fovea_rounds[@]}")
      ort=$(middle "${ort_rounds[@]}")
      torch=$("$python" "$here/torch_bench.py" --model "$model" --state "$work/$model.pt" \
                --batch "$b" --threads "$t" --iters "$n" | median_of)
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$b" "$t" "$fovea" "$ort" "$torch" >> "$raw"
    done
  done
done

{
  echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores;" \
       "ONNX Runtime $(node -p "require('$ort_dir/node_modules/onnxruntime-node/package.json').version");" \
       "PyTorch $("$python" -c 'import torch; print(torch.__version__)'). Median latency over" \
       "the timed forwards after warm-up (fovea and ONNX Runtime: the median of $rounds" \
       "alternating rounds); img/s = batch / median. Ratios are throughput" \
       "ratios: > 1 means fovea is faster. Load average before: $load_before;" \
       "after: $(cut -d" " -f1-3 /proc/loadavg) (the runs themselves add up to their thread count)."
  echo
  echo "| model | batch | threads | fovea ms | ORT ms | PyTorch ms | fovea img/s | ORT img/s | PyTorch img/s | fovea/ORT | fovea/PyTorch |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{
    printf "| %s | %d | %d | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %.2f | %.2f |\n",
      $1, $2, $3, $4, $5, $6, 1000 * $2 / $4, 1000 * $2 / $5, 1000 * $2 / $6, $5 / $4, $6 / $4
  }' "$raw"
} | tee "$out"
echo "wrote $out" >&2
