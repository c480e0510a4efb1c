#!/usr/bin/env bash
# Reference run: a class-conditional Fashion-MNIST denoiser for Direct Inversion and the other edits (`ddim edit`):
# the second reference model's network and length (scripts/reference/fashion-mnist-3level.sh: three levels
# 32-64-128, batch 64, AdamW 1e-3, 3,250 steps on this CPU) with a 64-dimensional learned class embedding and 10%
# label dropout for classifier-free guidance (Ho & Salimans 2021), seed 3. Shipped as
# models/fashion-mnist-conditional.pt (see models/README.md).
#   scripts/reference/fashion-mnist-conditional.sh [OUT_DIR] [STEPS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/fashion-mnist-conditional}"
steps="${2:-3250}"
threads="${3:-1}"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out"
fi
exec "$ddim" --threads "$threads" --seed 3 train --data fashion-mnist --class-conditional --cond-drop 0.1 \
  --class-embedding-dims 64 --widths 32,64,128 --block-depth 2 --embedding-dims 32 --batch 64 --lr 0.001 \
  --weight-decay 0.0001 --steps "$steps" --checkpoint-every 250 --keep 2 --log-every 100 --out "$out"
