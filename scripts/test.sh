#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole suite
# through ctest (labels: unit, cli, slow, cuda, fuzz; the cuda tests skip themselves without a
# GPU; the libFuzzer run is scripts/fuzz.sh's). Extra arguments go to ctest, e.g.
# `scripts/test.sh -L unit`.
#
#   scripts/test.sh --sanitize [CTEST ARGS]
#     builds the suite with AddressSanitizer and UBSan into build-sanitize/ and runs it (by
#     default the unit tests and the fuzz corpus replays; give ctest arguments for more).
#   scripts/test.sh --help      # this text
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
sanitize=0
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=1
  shift
fi
scripts/install-deps.sh
scripts/install-faces.sh  # node and the faces renderer's npm packages (tests render small faces sets)
if [ "$sanitize" = 1 ]; then
  # ddim's code instrumented, LibTorch as Debian built it. LibTorch keeps allocations alive
  # until exit (thread pools, caches), which LeakSanitizer would report: leaks are not checked.
  export DDIM_BUILD_DIR="${DDIM_BUILD_DIR:-build-sanitize}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
  scripts/build.sh -DDDIM_BUILD_TESTS=ON -DDDIM_SANITIZE=ON
  cd "$DDIM_BUILD_DIR"
  # Without arguments: the unit tests and the corpus replays (the CLI tests pass too, slowly).
  [ $# -eq 0 ] && set -- -L "unit|fuzz"
  ctest --output-on-failure --parallel "$(nproc)" "$@"
  exit
fi
scripts/build.sh -DDDIM_BUILD_TESTS=ON
cd "${DDIM_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)" "$@"
