#!/usr/bin/env bash
# Runs a command in a clean output folder, for the script tests (tests/scripts.cmake): a script that reuses
# what its folder already holds would otherwise skip the work a test must see done.
#   tests/scripts/fresh.sh DIR COMMAND [ARGS...]    # removes DIR, makes its parent, runs COMMAND
set -euo pipefail
rm -rf "$1"
mkdir -p "$(dirname "$1")"
shift
exec "$@"
