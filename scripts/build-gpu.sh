#!/usr/bin/env bash
# Builds ddim against a CUDA LibTorch on a machine without a package registry (such as a
# lent GPU machine with CUDA, cmake, ninja and a Python PyTorch). The Debian packages that
# scripts/gpu-bundle.sh downloaded (.deps/debs) are unpacked into .deps/prefix, never into /.
# fmt and spdlog are used header-only and GoogleTest is built from source, so nothing
# compiled by Debian is linked against a LibTorch built with another C++ ABI. PLplot is
# optional there: without it, charts are skipped with a warning and every other output stays.
#   scripts/build-gpu.sh [build-dir]          (default build-gpu; extra CMake args in $CMAKE_ARGS)
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; -*) die "unknown option $1 (see --help)" ;; esac
build="${1:-build-gpu}"
prefix="$PWD/.deps/prefix"
if [ -d .deps/debs ]; then
  mkdir -p "$prefix"
  for deb in .deps/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
fi
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
abi="$(python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')"
echo "build-gpu: LibTorch at $torch_prefix (C++11 ABI: $abi)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr;$prefix/usr/lib/x86_64-linux-gnu/cmake;$prefix/usr/share/cmake" \
  -DCMAKE_INCLUDE_PATH="$prefix/usr/include" \
  -DDDIM_HEADER_ONLY_DEPS=ON -DDDIM_GTEST_SOURCE="$prefix/usr/src/googletest" \
  ${CMAKE_ARGS:-}
cmake --build "$build" --parallel "$(nproc)"
echo "build-gpu: built $build/ddim; run the GPU tests with: (cd $build && ctest -L cuda --output-on-failure)"
