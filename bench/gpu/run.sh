#!/usr/bin/env bash
# Builds the CUDA backend (Release, sm_90 SASS + PTX), runs the CUDA tests, times our kernels
# against cuDNN and cuBLAS on every ResNet-50 / MobileNetV2 / EfficientNet-B0 conv shape (FP16)
# and ResNet-50's distinct conv shapes (INT8), then whole-model ResNet-50 FP16 throughput at
# batch 1, 32 and 256, and prints short tables. Sized for under 8 minutes on one H200.
#
# Usage: bench/gpu/run.sh [build-dir]     (default: build-gpu-bench in the repository)
# Environment: FOVEA_BENCH_BATCH (default 32), FOVEA_BENCH_ITERATIONS (rounds per case, default 7),
# FOVEA_BENCH_MODEL_SCALE (multiplies the model bench's iteration counts, default 1).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build-gpu-bench}
jobs=$(nproc)

echo "== configure and build ($build, $jobs jobs)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" \
  -DFOVEA_BUILD_BENCH=ON -DFOVEA_BUILD_TESTS=ON -DFOVEA_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target fovea_cuda_tests bench_gpu_kernels bench_gpu_model

if command -v cuobjdump >/dev/null; then
  echo "== device code in libfovea_cuda.a (want sm_90 ELF and sm_90 PTX)"
  cuobjdump --list-elf "$build/kernels/libfovea_cuda.a" | sort -u -k3 | head -4
  cuobjdump --list-ptx "$build/kernels/libfovea_cuda.a" | sort -u -k3 | head -4
fi

echo "== CUDA tests"
(cd "$build" && ctest -L cuda -j 4 --output-on-failure --timeout 300)

echo "== ours vs cuDNN / cuBLAS (FP16 and ResNet-50 INT8, NHWC, batch ${FOVEA_BENCH_BATCH:-32})"
# Google Benchmark's own report goes to a log; the summary table (from the "layer" header on)
# is what we print.
status=0
"$build/bench/gpu/bench_gpu_kernels" --benchmark_counters_tabular=true \
  --benchmark_out="$build/bench_gpu_kernels.json" --benchmark_out_format=json \
  >"$build/bench_gpu_kernels.log" 2>&1 || status=$?
sed -n '1p;/^layer /,$p' "$build/bench_gpu_kernels.log"
echo "full report: $build/bench_gpu_kernels.log and .json"

echo "== whole model: ResNet-50 FP16 (DeviceModel), 224x224, CUDA events, median"
"$build/bench/gpu/bench_gpu_model" || status=1
exit $status
