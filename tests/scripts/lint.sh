#!/usr/bin/env bash
# The scripts' syntax (bash -n), and shellcheck's warnings where it is installed (tests/scripts.cmake).
#   tests/scripts/lint.sh ROOT
set -euo pipefail
cd "$1"
files=(scripts/*.sh bench/run.sh tests/scripts/*.sh)
for f in "${files[@]}"; do bash -n "$f"; done
echo "bash -n: ${#files[@]} scripts"
if command -v shellcheck >/dev/null; then
  # SC2054: commas inside array elements are ddim's list values (--widths 16,32), not separators.
  shellcheck -x --severity=warning -e SC2054 "${files[@]}"
  echo "shellcheck: no warnings"
else
  echo "shellcheck: not installed, skipped"
fi
