#!/usr/bin/env bash
# Downloads (without installing) the Debian packages that scripts/build-gpu.sh needs on a GPU
# machine that has CUDA, cmake, ninja and a Python PyTorch but no package registry: the
# header-only libraries (CLI11, spdlog, fmt, nlohmann-json, stb), GoogleTest's sources, gloo's
# headers and zlib's. Run it where Debian's archive is reachable; it fills .deps/debs
# (ignored by git), which travels with the working tree.
#   scripts/gpu-bundle.sh
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; ?*) die "no arguments (see --help)" ;; esac
mkdir -p .deps/debs
# (libfmt9 and libspdlog1.10 only so that their CMake package files load: ddim uses both header-only.)
packages=(libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev libstb-dev libstb0 googletest
          libgloo-dev zlib1g-dev)
cd .deps/debs
apt-get download "${packages[@]}"
ls -1 *.deb
echo "gpu-bundle: $(ls *.deb | wc -l) packages in .deps/debs; on the GPU machine run scripts/build-gpu.sh"
