#!/usr/bin/env bash
# The main job: installs what is missing, builds the examples, fetches and converts the
# ImageNet-pretrained ResNet-50 (cached after the first run), and classifies the given photos.
#   bash scripts/run.sh [--topk K] [--json] [--threads N] PHOTO [PHOTO ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { echo "usage: bash scripts/run.sh [resnet50_infer options] PHOTO [PHOTO ...]" >&2; exit 2; }
bash "$root/scripts/install_deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target resnet50_infer >/dev/null
weights=$(bash "$root/weights_tools/fetch_resnet50.sh" | tail -n 1)
"$root/build/examples/resnet50_infer/resnet50_infer" --weights "$weights" "$@"
