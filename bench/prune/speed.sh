#!/usr/bin/env bash
# Speed of a structured 2x MAC cut on the CPU: ResNet-50 (the pretrained file) and ResNet-56
# for CIFAR (random weights), dense and pruned timed in turns in one process, median of ROUNDS
# forwards at batch 1 and 8 (bench/prune/speed.cpp; docs/pruning.md has the figures).
#
#   bash bench/prune/speed.sh [THREADS] [ROUNDS] [WEIGHTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
rounds=${2:-9}
weights=${3:-$(bash weights_tools/fetch_resnet50.sh | tail -n 1)}
[ -f "$weights" ] || { echo "speed: no weights file $weights" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++17 -O3 -DNDEBUG -march=native -Iinclude -Iexamples/common bench/prune/speed.cpp \
    -o "$out/speed" -pthread
lscpu | sed -n 's/^Model name:[[:space:]]*/cpu: /p'
"$out/speed" "$weights" "$threads" "$rounds" 0.5
"$out/speed" resnet56_cifar "$threads" "$rounds" 0.5
