#!/usr/bin/env bash
# The README's C++ example path (load_model(...).model->forward) against classify --bench's
# (prepare_for_inference + BatchRunner) on the pretrained ResNet-50, alternating in one process.
#
#   bash bench/embedding/readme_vs_bench.sh [WEIGHTS] [THREADS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
weights=${1:-$(bash weights_tools/fetch_resnet50.sh | tail -n 1)}
[ -f "$weights" ] || { echo "readme_vs_bench: no weights file $weights" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++17 -O2 -march=native -Iinclude bench/embedding/readme_path.cpp -o "$out/readme_path" -pthread
lscpu | sed -n 's/^Model name:[[:space:]]*/cpu: /p'
"$out/readme_path" "$weights" "${2:-0}" "${3:-15}"
