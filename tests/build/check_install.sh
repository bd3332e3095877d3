#!/usr/bin/env bash
# Installs fovea into a temporary prefix, then configures, builds and runs a consumer project
# that finds it with find_package(fovea). Usage: check_install.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
source_dir=$1
binary_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$binary_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/build/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
test -f "$work/prefix/include/fovea/fovea.hpp"
echo "find_package(fovea) works from an installed tree"
