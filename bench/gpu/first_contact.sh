#!/usr/bin/env bash
# First contact with a lent GPU machine: one script that makes ~15 minutes of device time count.
# It prints the environment, builds the CUDA backend, tests and benches for sm_90 from what the
# tree carries (.gpu_deps/ from bench/gpu/prepare_deps.sh: doctest, static Google Benchmark; cuDNN
# comes from the machine's nvidia-cudnn wheel), checks the binaries hold sm_90 code, runs the
# CUDA tests with FOVEA_REQUIRE_GPU=1 (a skipped test is a failure), runs compute-sanitizer's
# four tools on a few quick tests, times our kernels against cuDNN/cuBLAS and ResNet-50
# throughput, and ends with a summary of at most 60 lines. Sized for under 7 minutes: each phase
# has its own timeout, and a global budget (FOVEA_FIRST_CONTACT_BUDGET seconds, default 400)
# caps them so that late phases shrink rather than run over.
#
# Usage: bench/gpu/first_contact.sh [--dry-run] [--build-dir DIR]
#   --dry-run (or FOVEA_DRY_RUN=1): for a machine without a GPU; runs every phase it can, shows
#     the output format, reports the phases that need a device as failed or missing, exits 0.
#   Without --dry-run, no usable GPU is a failure: the script says why and exits 1.
# Output: full logs and the benchmark JSON under $OUT (default <build-dir>/out), at most 8 files,
# as the device tool brings back. Through the device tool (docs/cuda.md):
#   run(command="bash bench/gpu/first_contact.sh", carry=[".gpu_deps"], timeout_s=540)
# Environment: FOVEA_JOBS (build jobs, default all cores; 2 in a dry run), FOVEA_BENCH_BATCH,
# FOVEA_BENCH_ITERATIONS, FOVEA_BENCH_MODEL_SCALE (see bench/gpu/run.sh), FOVEA_CUDNN_ROOT.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dry_run=${FOVEA_DRY_RUN:-0}
build=$root/build-first-contact
while [[ $# -gt 0 ]]; do
  case $1 in
    --dry-run) dry_run=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "first_contact: unknown argument $1"; exit 2 ;;
  esac
done
[[ $dry_run == 1 ]] || dry_run=0
OUT=${OUT:-$build/out}
mkdir -p "$OUT" "$build"
deps=$root/.gpu_deps
budget=${FOVEA_FIRST_CONTACT_BUDGET:-400}
start=$SECONDS

# Everything goes to stdout and $OUT/first_contact.log, stderr included and in order: only the
# last 12,000 characters of output come back from the device tool, and an unbuffered stderr
# interleaved with a buffered stdout once lost the GPU name line.
exec > >(tee "$OUT/first_contact.log") 2>&1
tee_pid=$!
# On exit, let tee write its last lines before the script's own exit status is seen.
trap 'exec >&- 2>&-; wait "$tee_pid" 2>/dev/null || true' EXIT

if [[ $dry_run == 1 ]]; then
  jobs=${FOVEA_JOBS:-2}
  nice_cmd=(nice -n 19)   # a shared development machine: stay out of the way
else
  jobs=${FOVEA_JOBS:-$(nproc)}
  nice_cmd=()
fi
export PATH=$PATH:/usr/local/cuda/bin   # cuobjdump and compute-sanitizer live beside nvcc

# --- bookkeeping --------------------------------------------------------------------------------
results=()      # one "phase  status  detail" line per phase, for the summary
failures=0
record() {      # record PHASE STATUS DETAIL; STATUS is ok, FAIL, n/a (tool missing) or dry
  results+=("$(printf '%-18s %-5s %s' "$1" "$2" "$3")")
  if [[ $2 == FAIL ]]; then failures=$((failures + 1)); fi
  printf '   -> %s: %s %s\n' "$1" "$2" "$3"
}
phase() { printf '\n== [%3ds] %s\n' $((SECONDS - start)) "$*"; }
left() { echo $((budget - (SECONDS - start))); }
# limit WANTED: the seconds a phase may take, at most what the global budget has left.
limit() {
  local l; l=$(left)
  if ((l < $1)); then echo $((l > 5 ? l : 5)); else echo "$1"; fi
}
# A GPU run without a device must fail; a dry run just notes it and goes on.
fatal_without_gpu() {
  if [[ $dry_run == 1 ]]; then
    echo "   (dry run: a real run would stop here with: $*)"
    return 0
  fi
  echo "FIRST CONTACT FAILED: $*"
  echo "full log: $OUT/first_contact.log"
  exit 1
}

# --- 1. environment -----------------------------------------------------------------------------
phase "environment$([[ $dry_run == 1 ]] && echo ' (DRY RUN: no GPU expected)')"
gpu_line="no GPU"
gpu_why=""
if ! command -v nvidia-smi >/dev/null; then
  gpu_why="nvidia-smi not found (no NVIDIA driver on this machine)"
elif ! smi=$(timeout 30 nvidia-smi -L 2>&1); then
  gpu_why="nvidia-smi -L failed: $(echo "$smi" | head -1)"
elif ! grep -q '^GPU ' <<<"$smi"; then
  gpu_why="nvidia-smi -L lists no GPU: $(echo "$smi" | head -1)"
else
  gpu_line=$(grep -m1 '^GPU ' <<<"$smi")
fi
echo "gpu:        $gpu_line${gpu_why:+ ($gpu_why)}"
# The SM clock and its limit, before the builds and again around the benches: a ratio to
# cuDNN means little if the clock moved under it.
clocks() {
  timeout 30 nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
    --format=csv,noheader 2>&1 | head -1
}
if [[ -z $gpu_why ]]; then
  echo "device:     $(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
    --format=csv,noheader 2>&1 | head -1)"
  echo "clocks:     $(clocks) (sm, max sm, memory, temperature, power)"
fi
tool_version() { if command -v "$1" >/dev/null; then timeout 30 "$@" 2>&1 | grep -v '^$' | tail -1; else echo "not found"; fi; }
echo "host:       $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
nvcc_version=$(nvcc --version 2>/dev/null | grep -o 'release .*' || echo "not found")
echo "nvcc:       $nvcc_version"
echo "c++:        $(c++ --version 2>&1 | head -1)"
echo "cmake:      $(cmake --version | head -1)"
echo "ninja:      $(tool_version ninja --version)"
echo "python3:    $(tool_version python3 --version)"
echo "cuobjdump:  $(command -v cuobjdump || echo 'not found')"
echo "sanitizer:  $(command -v compute-sanitizer || echo 'not found')"
if [[ -f $deps/MANIFEST ]]; then
  sed -n '2,$s/^/deps:       /p' "$deps/MANIFEST"
else
  echo "deps:       $deps missing (run bench/gpu/prepare_deps.sh here, carry .gpu_deps)"
fi
# cuDNN: the nvidia-cudnn wheel next to PyTorch (sets FOVEA_CUDNN_ROOT and LD_LIBRARY_PATH).
if [[ -f $deps/cudnn_env.sh ]]; then
  # shellcheck source=/dev/null
  source "$deps/cudnn_env.sh"
fi
cudnn_version="not found: the cuDNN comparison will be skipped"
if [[ -n ${FOVEA_CUDNN_ROOT:-} ]]; then
  header=$FOVEA_CUDNN_ROOT/include/cudnn_version.h
  if [[ -f $header ]]; then
    cudnn_version=$(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) / {v = v (v ? "." : "") $3} END {print v}' "$header")
  else
    cudnn_version="?"
  fi
  cudnn_version="$cudnn_version at $FOVEA_CUDNN_ROOT"
fi
echo "cudnn:      $cudnn_version"
if [[ -n $gpu_why ]]; then
  record environment FAIL "$gpu_why"
  fatal_without_gpu "no usable GPU: $gpu_why"
else
  record environment ok "$gpu_line"
fi

# --- 2. configure and build ---------------------------------------------------------------------
phase "configure and build for sm_90 ($build, $jobs jobs)"
if [[ ! -d $deps/lib/cmake ]]; then
  record build FAIL "$deps missing: run bench/gpu/prepare_deps.sh here and carry .gpu_deps"
  echo "FIRST CONTACT FAILED: nothing to build with (no $deps)"
  exit 1
fi
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
# A build folder made with another generator cannot be reused.
if [[ -f $build/CMakeCache.txt ]] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${generator[1]:-Unix Makefiles}\$" \
  "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
build_log=$OUT/build.log
build_ok=1
if ! timeout "$(limit 120)" "${nice_cmd[@]}" cmake -S "$root" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" \
  -DFOVEA_BUILD_TESTS=ON -DFOVEA_BUILD_BENCH=ON -DFOVEA_BUILD_EXAMPLES=OFF \
  -DFOVEA_DEPS_DIR="$deps" -DFOVEA_CUDNN_ROOT="${FOVEA_CUDNN_ROOT:-}" >"$build_log" 2>&1; then
  build_ok=0
  tail -20 "$build_log"
  record configure FAIL "see build.log"
else
  grep -E '^-- fovea:' "$build_log" | sed 's/^/   /'
  t0=$SECONDS
  if timeout "$(limit 300)" "${nice_cmd[@]}" cmake --build "$build" -j "$jobs" \
    --target fovea_cuda_tests bench_gpu_kernels bench_gpu_model >>"$build_log" 2>&1; then
    record build ok "$((SECONDS - t0)) s, $(grep -c 'warning:' "$build_log" || true) warnings"
  else
    build_ok=0
    grep -E 'error|Error' "$build_log" | head -15
    record build FAIL "$((SECONDS - t0)) s (timeout or error; see build.log)"
  fi
fi
if [[ $build_ok == 0 ]]; then
  echo "FIRST CONTACT FAILED: the build failed; see $build_log"
  exit 1
fi

# --- 3. device code -----------------------------------------------------------------------------
phase "device code (want sm_90 SASS and compute_90 PTX)"
if command -v cuobjdump >/dev/null; then
  missing=()
  for binary in kernels/libfovea_cuda.a tests/cuda/cuda_test_conv2d bench/gpu/bench_gpu_model; do
    elf=$(timeout 60 cuobjdump --list-elf "$build/$binary" 2>&1 || true)
    ptx=$(timeout 60 cuobjdump --list-ptx "$build/$binary" 2>&1 || true)
    printf '   %-32s %3d sm_90 ELF, %3d compute_90 PTX, others: %s\n' "$binary" \
      "$(grep -c 'sm_90' <<<"$elf" || true)" "$(grep -c 'sm_90\|compute_90' <<<"$ptx" || true)" \
      "$( (grep -oE 'sm_[0-9]+a?' <<<"$elf$ptx" || true) | grep -v '^sm_90$' | sort -u | paste -sd, -)"
    grep -q 'sm_90' <<<"$elf" || missing+=("$binary: no sm_90 ELF")
    grep -q 'sm_90\|compute_90' <<<"$ptx" || missing+=("$binary: no compute_90 PTX")
  done
  if ((${#missing[@]})); then record sm_90 FAIL "${missing[*]}"; else record sm_90 ok "library, tests and bench"; fi
else
  record sm_90 n/a "cuobjdump not found"
fi

# --- 4. is the device usable from our runtime? --------------------------------------------------
phase "device probe (cuda_test_runtime, FOVEA_REQUIRE_GPU=1)"
export FOVEA_REQUIRE_GPU=1
probe=$(timeout "$(limit 60)" "$build/tests/cuda/cuda_test_runtime" \
  --test-case="cuda runtime: a device is usable" 2>&1) && probe_rc=0 || probe_rc=$?
grep -E 'device 0:|no CUDA device|FOVEA_REQUIRE_GPU|test cases' <<<"$probe" | head -5 | sed 's/^ *//; s/^/   /'
if [[ $probe_rc == 0 ]]; then
  record probe ok "$(grep -oE 'device 0: .*' <<<"$probe" | head -1)"
else
  reason=$(grep -oE 'no CUDA device is usable: .*' <<<"$probe" | head -1)
  record probe FAIL "${reason:-cuda_test_runtime exited $probe_rc}"
  fatal_without_gpu "${reason:-the device probe failed (exit $probe_rc)}"
fi

# --- 5. CUDA tests ------------------------------------------------------------------------------
phase "ctest -L cuda (FOVEA_REQUIRE_GPU=1: a skip is a failure)"
ctest_log=$OUT/ctest.log
(cd "$build" && timeout "$(limit 180)" ctest -L cuda -j 4 --output-on-failure --timeout 120) \
  >"$ctest_log" 2>&1 && ctest_rc=0 || ctest_rc=$?
# ctest's result lines: "12/58 Test #12: name ....   Passed  0.10 sec" (or ***Failed, ***Skipped,
# ***Timeout, ***Exception, Not Run).
result_lines=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+:' "$ctest_log" || true)
ran=$(grep -c . <<<"$result_lines" || true)
passed=$(grep -c ' Passed ' <<<"$result_lines" || true)
skipped=$(grep -c 'Skipped' <<<"$result_lines" || true)
failed=$((ran - passed - skipped))
ctest_counts="$passed passed, $failed failed, $skipped skipped of $ran"
echo "   $ctest_counts (ctest exit $ctest_rc)"
if ((ran == 0)); then
  record ctest FAIL "no CUDA test ran (exit $ctest_rc)"
elif ((failed > 0 || skipped > 0 || ctest_rc != 0)); then
  record ctest FAIL "$ctest_counts"
else
  record ctest ok "$ctest_counts"
fi
not_passed=$(grep -vE ' Passed ' <<<"$result_lines" | sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ \.{2,}.*\*\*\*/ : /; s/ +[0-9.]+ sec$//' || true)
failed_tests=$(head -5 <<<"$not_passed")
if (($(grep -c . <<<"$not_passed" || true) > 5)); then
  failed_tests+=$'\n'"... and $(($(grep -c . <<<"$not_passed") - 5)) more (ctest.log)"
fi

# --- 6. compute-sanitizer -----------------------------------------------------------------------
# Small cases only: the sanitizers slow kernels down by orders of magnitude.
phase "compute-sanitizer (memcheck, racecheck, synccheck, initcheck) on hand-checked cases"
sanitizer_log=$OUT/sanitizer.log
: >"$sanitizer_log"
sanitizer_cases=(
  "cuda_test_conv2d|cuda conv2d: hand-checked*"
  "cuda_test_linear_softmax|*hand-checked*"
  "cuda_test_pool2d|cuda pool2d: hand-checked*"
)
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck synccheck initcheck; do
    errors=0 broken=0 unsupported=0
    for entry in "${sanitizer_cases[@]}"; do
      binary=${entry%%|*} filter=${entry#*|}
      extra=()
      [[ $tool == memcheck ]] && extra=(--leak-check full)
      echo "### $tool $binary --test-case=$filter" >>"$sanitizer_log"
      timeout "$(limit 60)" compute-sanitizer --tool "$tool" "${extra[@]}" --error-exitcode 99 \
        "$build/tests/cuda/$binary" --test-case="$filter" >>"$sanitizer_log" 2>&1 && rc=0 || rc=$?
      n=$(tail -5 "$sanitizer_log" | grep -oE 'ERROR SUMMARY: [0-9]+' | grep -oE '[0-9]+' | tail -1 || true)
      if tail -30 "$sanitizer_log" | grep -qiE 'Device not supported|not supported on this|Unable to find injection'; then
        unsupported=1
      elif [[ -n $n && $n != 0 ]] || [[ $rc == 99 ]]; then
        errors=$((errors + ${n:-1}))
      elif [[ $rc != 0 ]]; then
        broken=$((broken + 1))   # the test itself failed (or timed out) under the tool
      fi
    done
    if ((errors > 0)); then
      record "sanitizer $tool" FAIL "$errors errors (sanitizer.log)"
    elif ((unsupported)); then
      record "sanitizer $tool" n/a "the tool refused this device (sanitizer.log)"
    elif ((broken > 0)); then
      record "sanitizer $tool" FAIL "$broken of ${#sanitizer_cases[@]} runs failed without a report"
    else
      record "sanitizer $tool" ok "0 errors in ${#sanitizer_cases[@]} test binaries"
    fi
  done
else
  echo "compute-sanitizer not found" >>"$sanitizer_log"
  record sanitizer n/a "compute-sanitizer not found"
fi

# --- 7. benches ---------------------------------------------------------------------------------
phase "bench_gpu_kernels: ours vs cuDNN / cuBLAS (batch ${FOVEA_BENCH_BATCH:-32})"
json=$OUT/bench_gpu_kernels.json
rm -f "$json"
timeout "$(limit 200)" "$build/bench/gpu/bench_gpu_kernels" --benchmark_counters_tabular=true \
  --benchmark_out="$json" --benchmark_out_format=json >"$OUT/bench_gpu_kernels.log" 2>&1 \
  && rc=0 || rc=$?
head -3 "$OUT/bench_gpu_kernels.log" | sed 's/^/   /'
if [[ -z $gpu_why ]]; then echo "   clocks after: $(clocks)"; fi
if [[ $rc == 0 ]]; then record "bench kernels" ok "bench_gpu_kernels.json"
elif [[ $rc == 124 ]]; then record "bench kernels" FAIL "timed out (partial log)"
else record "bench kernels" FAIL "exit $rc (bench_gpu_kernels.log)"; fi

phase "bench_gpu_model: ResNet-50 FP16 throughput at batch 1, 32, 256"
timeout "$(limit 150)" "$build/bench/gpu/bench_gpu_model" >"$OUT/bench_gpu_model.log" 2>&1 \
  && rc=0 || rc=$?
sed 's/^/   /' "$OUT/bench_gpu_model.log" | head -8
if [[ $rc == 0 ]]; then record "bench model" ok "bench_gpu_model.log"
elif [[ $rc == 124 ]]; then record "bench model" FAIL "timed out"
else record "bench model" FAIL "exit $rc (bench_gpu_model.log)"; fi

# --- 8. summary (at most 60 lines) --------------------------------------------------------------
{
  echo
  echo "================ first contact summary$([[ $dry_run == 1 ]] && echo ' (DRY RUN)') ($((SECONDS - start)) s) ================"
  echo "gpu: $gpu_line${gpu_why:+ ($gpu_why)}"
  echo "nvcc: $nvcc_version; cudnn: $cudnn_version"
  printf '%s\n' "${results[@]}"
  echo "ctest -L cuda: $ctest_counts"
  if [[ -n $failed_tests ]]; then sed 's/^/  not passed: /' <<<"$failed_tests"; fi
  python3 "$root/bench/gpu/summarize_first_contact.py" --json "$json" \
    --model-log "$OUT/bench_gpu_model.log" --kernels-log "$OUT/bench_gpu_kernels.log" --worst 10 ||
    echo "(summarizer failed)"
  if ((failures > 0)); then
    echo "VERDICT: FAIL ($failures failed phases)$([[ $dry_run == 1 ]] && echo '; expected in a dry run without a GPU')"
  else
    echo "VERDICT: PASS"
  fi
  echo "logs: $OUT (first_contact.log build.log ctest.log sanitizer.log bench_gpu_kernels.{log,json} bench_gpu_model.log summary.txt)"
} | head -60 | tee "$OUT/summary.txt"

if [[ $dry_run == 1 ]]; then exit 0; fi
((failures == 0))
