#!/usr/bin/env bash
# The test command: installs what is missing, builds in build/, and runs the default test tier
# (everything except tests labelled slow or cuda). Extra arguments go to ctest, e.g. -L model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -LE "slow|cuda" -j"$(nproc)" "$@"
