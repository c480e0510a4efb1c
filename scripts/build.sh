#!/usr/bin/env bash
# Configures and builds ddim (library, CLI and tests) into build/ (or $DDIM_BUILD_DIR).
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DDIM_BUILD_DIR:-build}"
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" --parallel "$(nproc)"
