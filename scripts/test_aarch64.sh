#!/usr/bin/env bash
# scripts/test.sh --target aarch64: cross-builds the kernel and parity tests for AArch64 Linux in
# build-aarch64/ (scripts/aarch64-toolchain.cmake) and runs them under qemu-user, twice: on qemu's
# "max" CPU (ARMv8.2 dot product: every INT8 path, sdot included) and, for the INT8 suite, on a
# Cortex-A53 (no dot product: the smull/sadalp fallback, chosen by run-time detection). Extra
# arguments go to the first ctest run. docs/embedding.md, "ARM builds", has the figures.
#
# The suites: the fast CPU kernels against the reference (cpu_kernels, ops, quant) and whole
# models against torchvision (parity). Emulation makes the rest of the default tier too slow.
set -euo pipefail
cd "$(dirname "$0")/.."

suites="cpu_kernels;ops;quant;parity"
dir=build-aarch64

# The cross compiler, qemu-user, and the target's OpenSSL (examples/quantize needs it to
# configure) from Debian's arm64 packages beside the host's (multiarch).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
fi
# Ninja builds the programs side by side (make's top level runs named targets one at a time).
bash scripts/install_deps.sh g++-aarch64-linux-gnu qemu-user libssl-dev:arm64 ninja-build

start=$SECONDS
cmake -G Ninja -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=scripts/aarch64-toolchain.cmake \
  -DCMAKE_BUILD_TYPE=Release -DFOVEA_CUDA=OFF -DFOVEA_BUILD_BENCH=OFF -DFOVEA_C_API=OFF \
  -DFOVEA_NATIVE_ARCH=OFF -DFOVEA_TEST_SUITES="$suites" >/dev/null
# The suites' programs, and classify for the parity tests; nothing else of the tree.
mapfile -t targets < <(for s in ${suites//;/ }; do ls tests/"$s"/test_*.cpp 2>/dev/null || true; done |
  xargs -n1 basename | sed 's/\.cpp$//')
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}" classify
echo "test_aarch64: cross build took $((SECONDS - start)) s" >&2

# doctest's discovery leaves a *_NOT_BUILT placeholder for programs outside the suites' targets.
# Four whole-model cases take 5 to 20 minutes each under qemu (measured: real-layer convs 754 s,
# quantized zoo on every ISA 1152 s, sensitivity report 343 s, dataflow graphs 312 s); the
# random-problem and hand-checked cases cover the same kernels in seconds, and the x86 tier runs
# these four natively. FOVEA_AARCH64_ALL=1 runs them too.
exclude="_NOT_BUILT"
if [ "${FOVEA_AARCH64_ALL:-0}" != 1 ]; then
  exclude+="|conv2d kernels match the reference on real layers"
  exclude+="|a quantized model's fast path equals the integer reference on every ISA"
  exclude+="|the sensitivity report and the mixed-precision policy"
  exclude+="|each zoo family's dataflow graph computes its forward"
fi
start=$SECONDS
QEMU_CPU=max ctest --test-dir "$dir" --output-on-failure -LE "slow|cuda" -E "$exclude" \
  -j"$(nproc)" --timeout 1200 "$@"
echo "test_aarch64: tests under qemu -cpu max took $((SECONDS - start)) s" >&2
start=$SECONDS
QEMU_CPU=cortex-a53 ctest --test-dir "$dir" --output-on-failure -L quant -E "$exclude" \
  -j"$(nproc)" --timeout 1200
echo "test_aarch64: INT8 tests under qemu -cpu cortex-a53 took $((SECONDS - start)) s" >&2
