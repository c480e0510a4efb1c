#!/usr/bin/env bash
# Reference run: Diff-AE's latent DDIM (Preechakul et al. 2022, section 3.4) over the semantic codes of the shipped
# faces Diff-AE (models/faces-diffae.pt, its encoder frozen): an MLP of 10 layers of width 256 with skips, L1 loss,
# the codes of the first 12,000 training faces, seed 1. `ddim sample --model models/faces-diffae.pt --latent
# models/faces-diffae-latent.pt` draws z_sem from it and decodes with random x_T. Shipped as
# models/faces-diffae-latent.pt (see models/README.md).
#   scripts/reference/faces-diffae-latent.sh [OUT_DIR] [STEPS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="$(realpath -m "${1:-$here/runs/reference/faces-diffae-latent}")"
steps="${2:-3000}"
threads="${3:-1}"
# From the repository root, so that the latent model names its Diff-AE as models/faces-diffae.pt, not a path of
# this machine.
cd "$here"
exec "$ddim" --threads "$threads" --seed 1 train-latent --model models/faces-diffae.pt --limit 12000 \
  --width 256 --layers 10 --batch 256 --lr 0.001 --steps "$steps" --out "$out"
