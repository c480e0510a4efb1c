#!/usr/bin/env bash
# The faces of the glasses experiments (faces-glasses.sh, faces-glasses-classifier.sh, faces-diffae-flatten.sh and
# their studies): 30,000 faces at 64x64 drawn with glasses on half of them (`render-faces --p eyeglasses=0.5`;
# facesjs draws them on 10%), rendered once into runs/reference/faces-glasses-data, relative to the repository
# root, where the shipped models name them (83 s on one core). Prints that folder.
#   scripts/reference/faces-glasses-data.sh [JOBS]    # JOBS: renderer threads (default: every CPU)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
ddim="${DDIM:-$here/build/ddim}"
data=runs/reference/faces-glasses-data
if [[ ! -f "$data/attributes.csv" ]]; then
  [[ -d tools/faces/node_modules ]] || scripts/install-faces.sh >/dev/null
  "$ddim" --seed 0 data render-faces --out "$data" --p eyeglasses=0.5 --jobs "${1:-0}" >&2
fi
echo "$data"
