#!/usr/bin/env bash
# Whole-model CPU latency of fovea FP32, fovea INT8 and ONNX Runtime INT8 on the same models,
# weights, batch sizes and thread counts, in one run; prints a markdown table and writes it to
# BUILD/bench_int8.md. The INT8 sibling of compare.sh; see docs/benchmarking.md.
#
#   bench/models/compare_int8.sh [BUILD_DIR]   (default: build; needs BUILD/examples/classify,
#                                               and BUILD/examples/quantize for the fovea INT8
#                                               column)
#
# Environment: MODELS ("resnet50 mobilenet_v2 efficientnet_b0"), BATCHES ("1 8"),
# THREADS ("1 2"), ROUNDS (3), ORT_DIR (where `npm install --ignore-scripts onnxruntime-node`
# was run; default ~/.cache/fovea/ort), PYTHON (/usr/bin/python3 with torch, torchvision and
# onnx), CALIB (calibration photos; default ../shared/data/imagenet/samples, never the
# validation set), CALIB_IMAGES (64), MODELS_DIR (where the model files go; default
# BUILD/models).
#
# Files, made once when missing (delete them to remake):
#   <model>.safetensors             FP32 weights, export_models.py (also .pt and FP32 .onnx)
#   <model>_int8.safetensors        fovea INT8: quantize --method percentile on CALIB
#   <model>_int8_b<B>.onnx          ONNX Runtime INT8: export_int8.py, torch.ao static
#                                   quantization of the same weights on the same photos, QDQ
#
# Each round times fovea FP32, fovea INT8 and ONNX Runtime INT8 once, one after the other; the
# table gives each engine's median over ROUNDS rounds, so a neighbour's burst on the shared
# machine lands in one round of one engine, not in a ratio.
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
calib="${CALIB:-$root/../shared/data/imagenet/samples}"
calib_images="${CALIB_IMAGES:-64}"
classify="$build/examples/classify/classify"
quantize="$build/examples/quantize/quantize"
work="${MODELS_DIR:-$build/models}"
out="$build/bench_int8.md"

die() { echo "compare_int8.sh: $*" >&2; exit 1; }
[[ -x "$classify" ]] || die "$classify not found: cmake --build $build --target classify"
[[ -d "$ort_dir/node_modules/onnxruntime-node" ]] ||
  die "no onnxruntime-node in $ort_dir: (mkdir -p $ort_dir && cd $ort_dir && npm install --ignore-scripts onnxruntime-node)"
"$python" -c "import torch, torchvision, onnx" 2>/dev/null ||
  die "$python cannot import torch, torchvision and onnx"
[[ -d "$calib" ]] || die "no calibration photos in $calib"
have_quantize=1
if [[ ! -x "$quantize" ]]; then
  have_quantize=0
  echo "compare_int8.sh: $quantize not found (cmake --build $build --target quantize):" \
       "the fovea INT8 column is skipped unless <model>_int8.safetensors already exist" >&2
fi

# Fewer timed iterations where one forward is long; every engine gets the same count (as in
# compare.sh, so the FP32 column matches its fovea column).
iterations() {  # model batch
  local base=30
  [[ "$1" == resnet50 ]] && base=12
  (( $2 > 1 )) && base=$(( base / 3 ))
  echo "$base"
}

# One timed run: prints its median_ms, or "-" (and the tail of its output on stderr) when
# the command fails or prints none, so one broken engine leaves a gap, not a dead run.
timed() {
  local log ms
  log="$(mktemp)"
  if "$@" > "$log" 2>&1; then
    ms="$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' "$log" | tail -1)"
  fi
  if [[ -z "${ms:-}" ]]; then
    echo "compare_int8.sh: no timing from: $*" >&2
    tail -3 "$log" >&2
    ms=-
  fi
  rm -f "$log"
  echo "$ms"
}
# The median of the rounds that gave a number ("-" when none did).
middle() {
  printf '%s\n' "$@" | grep -v '^-$' | sort -g |
    awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "-"}'
}

# --- Model files -------------------------------------------------------------------------
mkdir -p "$work"
batch_list="$(echo $batches | tr ' ' ',')"
for model in $models; do
  if [[ ! -f "$work/$model.safetensors" ]]; then
    echo "exporting $model (FP32) ..." >&2
    "$python" "$here/export_models.py" --model "$model" --out-dir "$work" \
      --batches "$batch_list" >&2
  fi
  missing=0
  for b in $batches; do [[ -f "$work/${model}_int8_b$b.onnx" ]] || missing=1; done
  if (( missing )); then
    echo "exporting $model (ONNX Runtime INT8, calibrated on $calib_images photos) ..." >&2
    "$python" "$here/export_int8.py" --model "$model" --out-dir "$work" \
      --batches "$batch_list" --calib "$calib" --calib-images "$calib_images" >&2
  fi
  if [[ ! -f "$work/${model}_int8.safetensors" ]] && (( have_quantize )); then
    echo "quantizing $model with fovea (calibrated on $calib_images photos) ..." >&2
    "$quantize" --weights "$work/$model.safetensors" --calib "$calib" \
      --calib-images "$calib_images" --method percentile \
      --out "$work/${model}_int8.safetensors" >&2 ||
      echo "compare_int8.sh: quantize failed for $model: no fovea INT8 column" >&2
  fi
done

# --- Timing ------------------------------------------------------------------------------
load_before="$(cut -d" " -f1-3 /proc/loadavg)"
raw="$work/raw_int8.tsv"
: > "$raw"
for model in $models; do
  int8_weights="$work/${model}_int8.safetensors"
  for b in $batches; do
    for t in $threads_list; do
      n=$(iterations "$model" "$b")
      echo "$model batch $b threads $t: $n iterations each, $rounds rounds" >&2
      fp32_rounds=() int8_rounds=() ort_rounds=()
      for (( round = 0; round < rounds; ++round )); do
        fp32_rounds+=("$(timed "$classify" --weights "$work/$model.safetensors" \
                          --input-shape "$b,3,224,224" --bench "$n" --threads "$t" --topk 0)")
        if [[ -f "$int8_weights" ]]; then
          int8_rounds+=("$(timed "$classify" --weights "$int8_weights" \
                            --input-shape "$b,3,224,224" --bench "$n" --threads "$t" --topk 0)")
        else
          int8_rounds+=(-)
        fi
        ort_rounds+=("$(timed env NODE_PATH="$ort_dir/node_modules" node "$here/ort_bench.js" \
                        "$work/${model}_int8_b$b.onnx" "$n" "$t")")
      done
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$model" "$b" "$t" "$(middle "${fp32_rounds[@]}")" \
        "$(middle "${int8_rounds[@]}")" "$(middle "${ort_rounds[@]}")" >> "$raw"
    done
  done
done

# --- Table -------------------------------------------------------------------------------
{
  echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores;" \
       "ONNX Runtime $(node -p "require('$ort_dir/node_modules/onnxruntime-node/package.json').version")" \
       "(INT8: QDQ ONNX from torch $("$python" -c 'import torch; print(torch.__version__)')'s" \
       "static quantization, export_int8.py). Median latency over the timed forwards after" \
       "warm-up, the median of $rounds alternating rounds. INT8 speed-up = fovea FP32 ms /" \
       "fovea INT8 ms; fovea/ORT = ORT INT8 ms / fovea INT8 ms (> 1: fovea is faster)." \
       "Calibration: $calib_images photos of $calib. Load average before: $load_before;" \
       "after: $(cut -d" " -f1-3 /proc/loadavg) (the runs themselves add up to their thread count)."
  echo
  echo "| model | batch | threads | fovea FP32 ms | fovea INT8 ms | ORT INT8 ms | INT8 speed-up | fovea/ORT INT8 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '
    function ms(v) { return v == "-" ? "–" : sprintf("%.2f", v) }
    function ratio(a, b) { return (a == "-" || b == "-" || b == 0) ? "–" : sprintf("%.2f", a / b) }
    { printf "| %s | %d | %d | %s | %s | %s | %s | %s |\n",
        $1, $2, $3, ms($4), ms($5), ms($6), ratio($4, $5), ratio($6, $5) }' "$raw"
} | tee "$out"
echo "wrote $out" >&2
