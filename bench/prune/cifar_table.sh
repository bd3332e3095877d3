#!/usr/bin/env bash
# Accuracy against cost on CIFAR-10: a pretrained CIFAR ResNet fine-tuned dense and pruned to
# 1.5x, 2x and 3x fewer MACs (l1, per group, widths multiple of 4), each fine-tuned for the same
# epochs on the same images, with MACs, parameters, file size and latency at batch 1 and 8
# (timed in turns with the dense file, after all the training). Prints a markdown table; each
# run's log and file stay in OUT_DIR.
#
#   bash bench/prune/cifar_table.sh WEIGHTS OUT_DIR [EPOCHS] [TRAIN_IMAGES] [TARGETS...]
#
# WEIGHTS comes from weights_tools/import_pytorch.py (../shared/data/cifar10-resnets) or from
# train_resnet_cifar10. TRAIN_IMAGES 0 fine-tunes on all 50 000. TARGETS are --target-macs
# values (default: 1 0.6667 0.5 0.3333; 1 is the dense baseline, fine-tuned like the others).
# Environment: PRUNE (the binary), CIFAR10 (the data folder), CACHE (where it is unpacked),
# BENCH (latency repeats, default 15), THREADS (default 1), PHASES (default "train time": which
# passes to run before the table; "" prints the table from the logs already in OUT_DIR), DISTILL
# (1: the pruned rows learn from WEIGHTS by distillation as well as from the labels, prune
# --distill; the dense row fine-tunes as before).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n 2,17p "$0" >&2; exit 2; }
weights=$1 out=$2 epochs=${3:-1} train_images=${4:-0}
shift $(($# < 4 ? $# : 4))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(1 0.6667 0.5 0.3333)
[ -f "$weights" ] || { echo "cifar_table: no weights file $weights" >&2; exit 2; }
prune=${PRUNE:-build/examples/prune/prune}
[ -x "$prune" ] || { echo "cifar_table: build prune first (cmake --build build --target prune)" >&2; exit 2; }
data=${CIFAR10:-../shared/data/cifar10}
mkdir -p "$out"
subset=()
[ "$train_images" -gt 0 ] && subset=(--train-images "$train_images")
distill=()
[ "${DISTILL:-0}" = 1 ] && distill=(--distill)

lscpu | sed -n 's/^Model name:[[:space:]]*/cpu: /p'
stem=$(basename "$weights" .safetensors)
# Training first, then the timing of every file in a row, so the timings do not share the
# machine with a training run of this script. Widths depend only on the target (per group), so
# the timing pass prunes again without fine-tuning and times that file.
phases=${PHASES-train time}
if [[ $phases == *train* ]]; then
  for target in "${targets[@]}"; do
    echo "== --target-macs $target: pruning and fine-tuning"
    teach=()
    [ "$target" = 1 ] || teach=("${distill[@]}")
    "$prune" --weights "$weights" --method l1 --target-macs "$target" --round 4 \
      --data "$data" --cache "${CACHE:-$out/cifar10-cache}" --epochs "$epochs" "${subset[@]}" \
      "${teach[@]}" \
      --bench 0 --threads "${THREADS:-1}" --out "$out/${stem}_macs$target.safetensors" \
      > "$out/${stem}_macs$target.log" 2>&1 || { tail -5 "$out/${stem}_macs$target.log" >&2; exit 1; }
    grep -E '^(epoch|early stop|test top-1)' "$out/${stem}_macs$target.log" || true
  done
fi
if [[ $phases == *time* ]]; then
  for target in "${targets[@]}"; do
    echo "== --target-macs $target: timing"
    "$prune" --weights "$weights" --method l1 --target-macs "$target" --round 4 \
      --bench "${BENCH:-15}" --threads "${THREADS:-1}" --out "$out/timing.safetensors" \
      > "$out/${stem}_macs$target.timing" 2>&1 || { tail -5 "$out/${stem}_macs$target.timing" >&2; exit 1; }
  done
  rm -f "$out/timing.safetensors"
fi

# One row per run from the key=value lines prune prints last.
echo
echo "| MACs (reduction) | parameters | file | top-1 before fine-tuning | top-1 after | latency b1 | latency b8 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for target in "${targets[@]}"; do
  log=$out/${stem}_macs$target.log
  figures=("$log")  # the timing pass's figures, when there are some, come last and win
  [ -f "$out/${stem}_macs$target.timing" ] && figures+=("$out/${stem}_macs$target.timing")
  cat "${figures[@]}" | grep -hE '^(macs_before|macs_after)=' |
    tr ' ' '\n' | sed 's/_before=/ before /; s/_after=/ after /' |
    awk -v tuned="$(sed -n 's/^test top-1 pruned, before fine-tuning: \([0-9.]*\) %/\1/p' "$log")" '
      { v[$1 "_" $2] = $3 }
      END {
        if (tuned == "") tuned = 100 * v["top1_before"]
        printf "| %.2f M (%.2fx) | %.1f k | %.0f kB | %.2f %% | %.2f %% | %.2f ms (%.2fx) | %.2f ms (%.2fx) |\n",
          v["macs_after"] / 1e6, v["macs_before"] / v["macs_after"], v["parameters_after"] / 1e3,
          v["file_bytes_after"] / 1e3, tuned, 100 * v["top1_after"],
          v["latency_b1_ms_after"], v["latency_b1_ms_before"] / v["latency_b1_ms_after"],
          v["latency_b8_ms_after"], v["latency_b8_ms_before"] / v["latency_b8_ms_after"]
      }'
done
