#!/usr/bin/env bash
# Configures and builds ddim (library, CLI and tests) into build/ (or $DDIM_BUILD_DIR).
#   scripts/build.sh [CMAKE ARGS...]
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA LibTorch.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
build="${DDIM_BUILD_DIR:-build}"
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" --parallel "$(nproc)"
