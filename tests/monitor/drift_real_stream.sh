#!/usr/bin/env bash
# The drift monitor on real predictions: ResNet-50 (ImageNet weights) on the 1300 photos of
# ../shared/data/imagenet/val, then the "real ResNet-50 predictions" case of test_drift, which
# builds the reference from all 1300 predictions, streams 20,000 resampled ones (no alert
# expected) and streams whose class mix shifts halfway (50, 100, 200 and 500 classes dropped),
# printing the delay until the first alert.
#
#   tests/monitor/drift_real_stream.sh [BUILD_DIR]     (default: build)
#
# Needs BUILD_DIR/examples/resnet50_infer/resnet50_infer, BUILD_DIR/tests/test_drift and the
# weights of weights_tools/fetch_resnet50.sh (FOVEA_TEST_DRIFT and FOVEA_DRIFT_REFERENCE_BIN
# point at other builds of test_drift and fovea_drift_reference). The predictions (a minute or two on 2 cores) are
# cached in ${FOVEA_DRIFT_CACHE:-/tmp/fovea_drift}/val_predictions.jsonl.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
val="$root/../shared/data/imagenet/val"
cache="${FOVEA_DRIFT_CACHE:-/tmp/fovea_drift}"
predictions="$cache/val_predictions.jsonl"
infer="$build/examples/resnet50_infer/resnet50_infer"
test_drift="${FOVEA_TEST_DRIFT:-$build/tests/test_drift}"

missing() { echo "drift_real_stream.sh: $1 is missing; build it first" >&2; exit 2; }
[[ -x "$test_drift" ]] || missing "$test_drift"
[[ -f "$val/labels.txt" ]] || { echo "drift_real_stream.sh: no $val/labels.txt" >&2; exit 2; }

weights="${FOVEA_CACHE:-$HOME/.cache/fovea}/resnet50_v1.safetensors"
if [[ ! -s "$predictions" ]]; then
  [[ -x "$infer" ]] || missing "$infer"
  # Exit 77: ctest reports the case as skipped.
  [[ -f "$weights" ]] || { echo "drift_real_stream.sh: no $weights (bash scripts/run.sh fetches it)" >&2; exit 77; }
  mkdir -p "$cache"
  echo "drift_real_stream.sh: predicting the val photos into $predictions" >&2
  "$infer" --json --threads 2 "$val"/*.JPEG > "$predictions.tmp"
  mv "$predictions.tmp" "$predictions"
fi
lines=$(wc -l < "$predictions")
[[ "$lines" -eq 1300 ]] || { echo "drift_real_stream.sh: $predictions has $lines lines, expected 1300 (delete it to redo)" >&2; exit 1; }

# The reference through fovea_drift_reference too, when it is built: the test checks that it
# matches the predictions.
make_reference="${FOVEA_DRIFT_REFERENCE_BIN:-$build/examples/serve/fovea_drift_reference}"
if [[ -x "$make_reference" ]]; then
  "$make_reference" --description "ResNet-50 v1 on the 1300 photos of imagenet/val" \
    --out "$cache/val.drift.json" "$predictions"
  export FOVEA_DRIFT_REFERENCE="$cache/val.drift.json"
fi

FOVEA_DRIFT_PREDICTIONS="$predictions" FOVEA_DRIFT_LABELS="$val/labels.txt" \
  "$test_drift" --test-case="real ResNet-50 predictions*"
