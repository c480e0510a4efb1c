#!/usr/bin/env bash
# A script's --help (tests/scripts.cmake): exits 0 and prints its usage, a line that names it.
#   tests/scripts/check-help.sh SCRIPT NAME     # NAME: how the usage names it, e.g. scripts/reproduce.sh
set -euo pipefail
text="$("$1" --help)"
if [[ "$text" != *"$2"* ]]; then
  printf '%s --help does not name %s:\n%s\n' "$1" "$2" "$text" >&2
  exit 1
fi
echo "$2 --help: $(wc -l <<< "$text") lines"
