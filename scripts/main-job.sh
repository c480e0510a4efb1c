#!/usr/bin/env bash
# The README's main job on the embedded default data set (Fashion-MNIST from Debian's
# dataset-fashion-mnist): installs what is missing, builds, and runs the pipeline, writing
# pictures and a short summary into runs/main (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/main}"
scripts/install-deps.sh
scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
ddim="${DDIM_BUILD_DIR:-build}/ddim"
mkdir -p "$out"
start=$(date +%s)

"$ddim" data info --data fashion-mnist --split all | tee "$out/data-info.txt"
"$ddim" data grid --data fashion-mnist --n 64 --out "$out/data-grid.png"

{
  echo "# ddim main job"
  echo
  echo "- data: $(head -1 "$out/data-info.txt")"
  echo "- data grid: data-grid.png"
  echo "- total time: $(( $(date +%s) - start )) s"
} > "$out/summary.md"
cat "$out/summary.md"
