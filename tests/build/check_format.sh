#!/usr/bin/env bash
# Every C++ source in the repository follows its .clang-format: clang-format would change none.
#   check_format.sh CLANG_FORMAT SOURCE_DIR
set -euo pipefail
clang_format="$1"
cd "$2"
mapfile -t files < <(find include examples bench kernels tests -type f \
  \( -name '*.hpp' -o -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) | sort)
"$clang_format" --dry-run --Werror "${files[@]}"
echo "check_format: ${#files[@]} files follow .clang-format"
