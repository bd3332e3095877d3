#!/usr/bin/env bash
# Compiles every public header on its own (each must include what it uses), then checks that
# the umbrella header compiles with plain `g++ -std=c++17 -Iinclude` and pulls in no
# third-party header. Usage: check_headers.sh CXX INCLUDE_DIR
set -euo pipefail
cxx=$1
include_dir=$2
failed=0
# One compiler per core: there are over a hundred headers, and this test used to take minutes.
check_one() {
  local rel=${1#"$2"/}
  if ! "$3" -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I "$2" -include "$rel" -x c++ \
      /dev/null; then
    echo "FAIL: $rel does not compile on its own"
    return 1
  fi
}
export -f check_one
if ! find "$include_dir/fovea" -name '*.hpp' | sort |
    xargs -P "$(nproc)" -I {} bash -c 'check_one "$@"' _ {} "$include_dir" "$cxx"; then
  failed=1
fi

deps=$("$cxx" -std=c++17 -I "$include_dir" -M -include fovea/fovea.hpp -x c++ /dev/null)
if grep -E -q 'stb|nlohmann|cuda|doctest|benchmark' <<<"$deps"; then
  echo "FAIL: fovea/fovea.hpp reaches a third-party header:"
  grep -E -o '[^ ]*(stb|nlohmann|cuda|doctest|benchmark)[^ ]*' <<<"$deps" | sort -u
  failed=1
fi
start=$(date +%s%N)
if ! "$cxx" -std=c++17 -I "$include_dir" -include fovea/fovea.hpp -x c++ -c /dev/null \
    -o /dev/null; then
  echo "FAIL: fovea/fovea.hpp does not compile with plain $cxx -std=c++17 -I$include_dir"
  failed=1
fi
end=$(date +%s%N)
echo "fovea/fovea.hpp alone: $(((end - start) / 1000000)) ms with $cxx -std=c++17"
[ $failed -eq 0 ] && echo "all public headers compile on their own"
exit $failed
