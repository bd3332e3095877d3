#!/usr/bin/env bash
# Collects into one git-ignored folder (default .gpu_deps/ at the repository root) what a lent
# GPU machine lacks for building the CUDA tests and benches: doctest (header + CMake package
# and its doctest_discover_tests module) and Google Benchmark as a STATIC library (headers,
# libbenchmark.a, CMake package). The GPU machine has nvcc, CMake, ninja and Python with the
# nvidia-cudnn-cu13 wheel but no Debian packages and no network, so everything the build needs
# must travel with the working tree (`carry: [".gpu_deps"]`); bench/gpu/first_contact.sh uses
# it through -DFOVEA_DEPS_DIR. Also writes .gpu_deps/cudnn_env.sh, which finds the cuDNN wheel's
# include/ and lib/ on the GPU machine. Run it here, where Debian's packages are.
#
# Usage: bench/gpu/prepare_deps.sh [--benchmark-src DIR] [--out DIR]
#   --benchmark-src: Google Benchmark sources, a source tree or a git directory (the tag in
#     FOVEA_BENCHMARK_REF, default v1.7.1 = Debian bookworm's version, is exported from it).
#     Needed only when no static libbenchmark.a is installed (Debian ships only the .so).
#   --out: the folder to fill (default <repo>/.gpu_deps); it is recreated from scratch.
# Needs: Debian's doctest-dev (apt-get install doctest-dev), cmake, a C++ compiler, git (for a
# git directory as --benchmark-src).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/.gpu_deps
benchmark_src=${FOVEA_BENCHMARK_SRC:-}
benchmark_ref=${FOVEA_BENCHMARK_REF:-v1.7.1}
while [[ $# -gt 0 ]]; do
  case $1 in
    --benchmark-src) benchmark_src=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "prepare_deps: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "prepare_deps: $*" >&2; exit 1; }
# The machine here has 2 cores shared with timing runs: build gently.
jobs=${FOVEA_PREPARE_JOBS:-2}

rm -rf "$out"
mkdir -p "$out/include" "$out/lib/cmake"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- doctest: one header plus CMake glue --------------------------------------------------------
# Debian's doctestTargets.cmake hard-codes /usr as its prefix, so we copy only the header and the
# two script modules (doctest.cmake and doctestAddTests.cmake give doctest_discover_tests) and
# write a relocatable package config of our own.
doctest_header=/usr/include/doctest/doctest.h
doctest_cmake_dir=/usr/lib/cmake/doctest
[[ -f $doctest_header ]] || die "no $doctest_header (apt-get install doctest-dev)"
[[ -f $doctest_cmake_dir/doctest.cmake ]] || die "no $doctest_cmake_dir/doctest.cmake"
mkdir -p "$out/include/doctest" "$out/lib/cmake/doctest"
cp "$doctest_header" "$out/include/doctest/"
cp "$doctest_cmake_dir/doctest.cmake" "$doctest_cmake_dir/doctestAddTests.cmake" \
  "$out/lib/cmake/doctest/"
doctest_version=$(for part in MAJOR MINOR PATCH; do
  sed -n "s/^#define DOCTEST_VERSION_$part \([0-9]*\).*/\1/p" "$doctest_header"; done | paste -sd.)
cat >"$out/lib/cmake/doctest/doctestConfig.cmake" <<'EOF'
# Written by bench/gpu/prepare_deps.sh: doctest::doctest from the header next to this package,
# wherever the folder lies (it travels to the GPU machine).
if(NOT TARGET doctest::doctest)
  get_filename_component(_fovea_deps_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
  add_library(doctest::doctest INTERFACE IMPORTED)
  set_target_properties(doctest::doctest PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_fovea_deps_prefix}/include")
  unset(_fovea_deps_prefix)
  # include(doctest) finds doctest_discover_tests here.
  list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")
endif()
EOF
cat >"$out/lib/cmake/doctest/doctestConfigVersion.cmake" <<EOF
set(PACKAGE_VERSION "$doctest_version")
if(PACKAGE_FIND_VERSION AND PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF
echo "doctest $doctest_version: header and CMake package copied"

# --- Google Benchmark, static -------------------------------------------------------------------
# A static library needs nothing at run time on the GPU machine. Built here with this machine's
# older GCC, it links there with a newer libstdc++ (backward compatible).
benchmark_version=
if [[ -f /usr/lib/x86_64-linux-gnu/libbenchmark.a ]]; then
  # A distribution that ships the static library: take its headers and archive as they are.
  cp -r /usr/include/benchmark "$out/include/"
  cp /usr/lib/x86_64-linux-gnu/libbenchmark.a "$out/lib/"
  benchmark_version=$(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo system)
  mkdir -p "$out/lib/cmake/benchmark"
  cat >"$out/lib/cmake/benchmark/benchmarkConfig.cmake" <<'EOF'
include(CMakeFindDependencyMacro)
find_dependency(Threads)
if(NOT TARGET benchmark::benchmark)
  get_filename_component(_fovea_deps_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
  add_library(benchmark::benchmark STATIC IMPORTED)
  set_target_properties(benchmark::benchmark PROPERTIES
    IMPORTED_LOCATION "${_fovea_deps_prefix}/lib/libbenchmark.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_fovea_deps_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS BENCHMARK_STATIC_DEFINE
    INTERFACE_LINK_LIBRARIES "Threads::Threads;rt")
  unset(_fovea_deps_prefix)
endif()
EOF
  echo "benchmark $benchmark_version: static library copied from the system"
else
  # Debian bookworm's libbenchmark-dev has only libbenchmark.so: build the static one.
  [[ -n $benchmark_src ]] || die "no static libbenchmark.a installed; pass --benchmark-src DIR" \
    "(a Google Benchmark source tree or git directory, e.g. a clone of github.com/google/benchmark)"
  src=$benchmark_src
  if [[ ! -f $src/CMakeLists.txt ]]; then
    # A (bare) git directory: export the pinned tag.
    mkdir "$work/benchmark-src"
    git --git-dir="$src" archive "$benchmark_ref" | tar -x -C "$work/benchmark-src" ||
      die "cannot export $benchmark_ref from $src"
    src=$work/benchmark-src
  fi
  benchmark_version=$(sed -n 's/^project *(benchmark VERSION \([0-9.]*\).*/\1/p' \
    "$src/CMakeLists.txt" | head -1)
  # No tests (they would want GoogleTest), no -Werror (a newer compiler must not break it),
  # position-independent so it links into anything.
  cmake -S "$src" -B "$work/benchmark-build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_GTEST_TESTS=OFF \
    -DBENCHMARK_ENABLE_WERROR=OFF -DBENCHMARK_ENABLE_INSTALL=ON \
    -DBENCHMARK_INSTALL_DOCS=OFF -DBENCHMARK_ENABLE_LIBPFM=OFF \
    -DCMAKE_INSTALL_PREFIX="$out" -DCMAKE_INSTALL_LIBDIR=lib >"$work/benchmark-configure.log" 2>&1 ||
    { cat "$work/benchmark-configure.log" >&2; die "configuring Google Benchmark failed"; }
  nice -n 19 cmake --build "$work/benchmark-build" -j "$jobs" --target benchmark benchmark_main \
    >"$work/benchmark-build.log" 2>&1 ||
    { tail -40 "$work/benchmark-build.log" >&2; die "building Google Benchmark failed"; }
  cmake --install "$work/benchmark-build" >/dev/null
  # pkg-config files and docs are not needed (benchmark_main stays: its CMake targets file
  # checks that the archive exists).
  rm -rf "$out/lib/pkgconfig" "$out/share"
  echo "benchmark $benchmark_version: built from source as a static library"
fi
[[ -f $out/lib/libbenchmark.a ]] || die "libbenchmark.a missing after the build"

# --- cuDNN on the GPU machine -------------------------------------------------------------------
# cuDNN comes with PyTorch there, as the nvidia-cudnn-cu13 wheel; sourcing this prints nothing,
# sets FOVEA_CUDNN_ROOT (its include/ and lib/) when the wheel is importable, and puts its lib/ on
# LD_LIBRARY_PATH: libcudnn.so.9 dlopens its engine libraries by name at run time.
cat >"$out/cudnn_env.sh" <<'EOF'
# Sourced by bench/gpu/first_contact.sh (written by bench/gpu/prepare_deps.sh).
# Sets FOVEA_CUDNN_ROOT to the nvidia-cudnn wheel's folder (include/, lib/) when python3 can
# import it, or leaves it unset; never fails.
if [ -z "${FOVEA_CUDNN_ROOT:-}" ]; then
  FOVEA_CUDNN_ROOT=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null || true)
  # A namespace package has no __file__ on some versions: fall back to its __path__.
  if [ -z "$FOVEA_CUDNN_ROOT" ]; then
    FOVEA_CUDNN_ROOT=$(python3 -c "import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])" 2>/dev/null || true)
  fi
fi
if [ -n "${FOVEA_CUDNN_ROOT:-}" ] && [ -d "$FOVEA_CUDNN_ROOT/lib" ]; then
  export FOVEA_CUDNN_ROOT
  export LD_LIBRARY_PATH="$FOVEA_CUDNN_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  unset FOVEA_CUDNN_ROOT
fi
EOF

cat >"$out/MANIFEST" <<EOF
written by bench/gpu/prepare_deps.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) ($(uname -m), $(. /etc/os-release && echo "$PRETTY_NAME"), $(c++ --version | head -1))
doctest $doctest_version
benchmark $benchmark_version (static)
EOF
echo "filled $out ($(du -sh "$out" | cut -f1)):"
(cd "$out" && find . -type f | sort | sed 's/^/  /')
