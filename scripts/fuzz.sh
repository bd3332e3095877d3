#!/usr/bin/env bash
# fuzz.sh [--seconds N] [--runs N] [--jobs J] [TARGET...]: builds the libFuzzer targets of
# tests/fuzz (clang, with ASan and UBSan) in build-fuzz/ and runs each (and tfjs, the Python
# importer's mutation fuzzer, weights_tools/tests/fuzz_import_tfjs.py), every target when none
# is named, until N seconds or N executions pass (defaults: 600 s, 1,000,000 runs), J at a time
# (default: the number of cores). Each keeps its corpus in build-fuzz/corpus/<target> between
# runs, starting from generated seeds. Prints a table of executions and coverage per target and
# exits non-zero if any target found a crash, a leak, a timeout or a sanitizer report; the
# input is left in build-fuzz/findings/<target>/ (docs/robustness.md: turning it into a
# regression test).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600 runs=1000000 jobs=$(nproc)
targets=()
usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --seconds | --runs | --jobs)
      [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: $1 wants a whole number >= 1" >&2; usage; }
      case $1 in --seconds) seconds=$2 ;; --runs) runs=$2 ;; --jobs) jobs=$2 ;; esac
      shift 2 ;;
    -h | --help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done

bash scripts/install_deps.sh clang libclang-rt-14-dev
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFOVEA_BUILD_FUZZ=ON -DFOVEA_BUILD_EXAMPLES=OFF -DFOVEA_CUDA=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all

out=build-fuzz
# The libFuzzer targets, and tfjs: weights_tools/import_tfjs.py under its Python mutation fuzzer.
all="$(cd "$out/tests/fuzz" && ls fuzz_* | sed 's/^fuzz_//' | tr '\n' ' ')tfjs"
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$all"
for t in "${targets[@]}"; do
  [ "$t" = tfjs ] || [ -x "$out/tests/fuzz/fuzz_$t" ] ||
    { echo "fuzz.sh: no target '$t' (targets: $all)" >&2; exit 2; }
done
rm -rf "$out/seeds"
"$out/tests/fuzz/fovea_fuzz_seeds" "$out/seeds" "${targets[@]}"
mkdir -p "$out/logs"

run_tfjs() {
  local start=$SECONDS status=0
  /usr/bin/python3 weights_tools/tests/fuzz_import_tfjs.py --seconds "$seconds" --runs "$runs" \
    --findings "$out/findings/tfjs" >"$out/logs/tfjs.log" 2>&1 || status=$?
  # In libFuzzer's words, for the table.
  sed -n 's/^fuzz_import_tfjs: \([0-9]*\) runs in .* (\([0-9]*\)\/s), \([0-9]*\) distinct refusals.*/stat::number_of_executed_units: \1\nstat::average_exec_per_sec: \2\n#0 DONE cov: \3 ft: - corp: -/p' \
    "$out/logs/tfjs.log" >>"$out/logs/tfjs.log"
  echo "stat::seconds: $((SECONDS - start))" >>"$out/logs/tfjs.log"
  return $status
}

run_target() {
  local t=$1 dict=()
  [ "$t" = tfjs ] && { run_tfjs; return; }
  mkdir -p "$out/corpus/$t" "$out/findings/$t"
  # Each target's dictionary: its own tokens, and those of the formats it reads.
  local parts=("tests/fuzz/dict/$t.dict")
  case $t in
    safetensors | model_file | graph | int8_model | checkpoint)
      parts+=(tests/fuzz/dict/safetensors.dict tests/fuzz/dict/json.dict) ;;
    preprocessing) parts+=(tests/fuzz/dict/json.dict) ;;
  esac
  mkdir -p "$out/dict"
  cat "${parts[@]}" 2>/dev/null >"$out/dict/$t.dict" || true
  [ -s "$out/dict/$t.dict" ] && dict=(-dict="$out/dict/$t.dict")
  local start=$SECONDS status=0
  "$out/tests/fuzz/fuzz_$t" "$out/corpus/$t" "$out/seeds/$t" "${dict[@]}" \
    -max_total_time="$seconds" -runs="$runs" -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="$out/findings/$t/" -print_final_stats=1 >"$out/logs/$t.log" 2>&1 || status=$?
  echo "stat::seconds: $((SECONDS - start))" >>"$out/logs/$t.log"
  return $status
}

status=0
pids=() names=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz.sh: $t for up to $seconds s or $runs runs" >&2
  run_target "$t" &
  pids+=($!) names+=("$t")
done
# edges: coverage counters reached (for tfjs: distinct refusal messages); features: libFuzzer's
# finer coverage measure; corpus: inputs kept.
printf '%-14s %8s %12s %9s %8s %8s %8s  %s\n' target seconds executions exec/s edges features corpus result
for i in "${!pids[@]}"; do
  t=${names[$i]} result=ok
  wait "${pids[$i]}" || { result="FOUND (log: $out/logs/$t.log)"; status=1; }
  log=$out/logs/$t.log
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  edges=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-14s %8s %12s %9s %8s %8s %8s  %s\n' "$t" "$(stat seconds)" \
    "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${edges:--}" \
    "${features:--}" "${corpus:--}" "$result"
done
exit $status
