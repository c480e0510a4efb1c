#!/usr/bin/env bash
# The presets of configs/*.toml as ddim reads them (tests/scripts.cmake): each one's [table] names the
# command; DDIM_PARSE_ONLY=1 parses the command line with the file and runs nothing, so an unknown key or a
# renamed option fails here. (configs/reference/: scripts/reference.sh --check.) $DDIM is the ddim to ask.
#   tests/scripts/configs-parse.sh ROOT
set -euo pipefail
cd "$1"
for config in configs/*.toml; do
  read -r -a cmd <<< "$(sed -n 's/^\[\([a-z.-]*\)\][[:space:]]*$/\1/p' "$config" | tr . ' ')"
  DDIM_PARSE_ONLY=1 "$DDIM" --config "$config" "${cmd[@]}" --out runs/parse-only
  echo "ok $config (${cmd[*]})"
done
