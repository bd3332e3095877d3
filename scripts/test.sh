#!/usr/bin/env bash
# The test command: installs what is missing, builds in build/, and runs the default test tier
# (everything except tests labelled slow or cuda). Extra arguments go to ctest, e.g. -L model.
#
#   scripts/test.sh --sanitize address,undefined   a subset of the default tier that runs every
#                                                  CPU header, under ASan and UBSan (build-asan/)
#   scripts/test.sh --sanitize thread              the threads suites under TSan (build-tsan/)
#   scripts/test.sh --target aarch64               the kernel and parity tests cross-built for
#                                                  AArch64, run under qemu (build-aarch64/;
#                                                  scripts/test_aarch64.sh)
# With --sanitize, extra arguments go to each doctest program.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--target" ]; then
  [ "${2:-}" = aarch64 ] || { echo "test.sh: --target takes aarch64, got '${2:-}'" >&2; exit 2; }
  shift 2
  exec bash scripts/test_aarch64.sh "$@"
fi

sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
  [ $# -ge 2 ] || { echo "test.sh: --sanitize needs address,undefined or thread" >&2; exit 2; }
  sanitize=$2
  shift 2
fi
bash scripts/install_deps.sh

case $sanitize in
  "")
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
    cmake --build build -j"$(nproc)"
    cd build
    # A test without its own TIMEOUT gets 600 s, so a hung one fails instead of stalling the run.
    ctest --output-on-failure -LE "slow|cuda" -j"$(nproc)" --timeout 600 "$@"
    ;;
  address,undefined | undefined,address | address | undefined | thread)
    # Under the sanitizers a translation unit of the engine takes minutes to compile, so these
    # tiers build a subset of the test programs, chosen so every header of the CPU engine runs:
    # the loaders and every fuzz finding (io, image, data, graph, quant, train), the fast
    # kernels against the reference, INT8 models on every ISA, the batch runner, and the
    # concurrency tests. TSan runs the programs with threads suites. CUDA is left out: its
    # host code runs on a GPU machine, where the sanitizers' runtime cannot follow the driver.
    if [ "$sanitize" = thread ]; then
      mapfile -t programs < <(grep -l 'TEST_SUITE("threads")' tests/*/test_*.cpp | xargs -n1 basename | sed 's/\.cpp$//')
      dir=build-tsan
    else
      programs=(test_fuzz_regressions test_safetensors_hostile test_npy test_json test_image_decode
        test_inflate test_image_set test_graph test_resume test_cpu_ops test_quantized_model
        test_batch_runner test_concurrent_forward test_thread_pool)
      dir=build-asan
    fi
    # -O1 keeps compile times and the slowdown low; frames are kept for readable reports.
    flags="-O1 -g -fno-omit-frame-pointer -fsanitize=$sanitize"
    # GCC 12 crashes (an internal compiler error in its SRA pass) on the AVX-512 exp under TSan.
    if [ "$sanitize" = thread ]; then flags+=" -fno-tree-sra"; else flags+=" -fno-sanitize-recover=all"; fi
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=None -DFOVEA_CUDA=OFF -DFOVEA_BUILD_EXAMPLES=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize" >/dev/null
    cmake --build "$dir" -j"$(nproc)" --target "${programs[@]}"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    failed=()
    for program in "${programs[@]}"; do
      echo "== $program under $sanitize" >&2
      "$dir/tests/$program" "$@" || failed+=("$program")
    done
    if [ ${#failed[@]} -gt 0 ]; then
      echo "test.sh: failed under $sanitize: ${failed[*]}" >&2
      exit 1
    fi
    echo "test.sh: ${#programs[@]} test programs passed under $sanitize" >&2
    ;;
  *)
    echo "test.sh: --sanitize wants address,undefined or thread, got '$sanitize'" >&2
    exit 2
    ;;
esac
