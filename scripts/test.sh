#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole suite
# through ctest (labels: unit, cli, slow, cuda; the cuda tests skip themselves without a GPU).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DDDIM_BUILD_TESTS=ON
cd "${DDIM_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" "$@"
