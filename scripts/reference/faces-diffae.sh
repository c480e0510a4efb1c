#!/usr/bin/env bash
# Reference run: a diffusion autoencoder (Diff-AE, Preechakul et al. 2022) on the rendered faces at 64x64, built
# like the shipped faces denoiser (scripts/reference/faces.sh: widths 16-32-64-128, block depth 2, noise embedding
# 32, batch 32, AdamW 1e-3, EMA 0.999, seed 1) plus the semantic encoder (global average pooling, as Diff-AE's) and a
# 128-dimensional z_sem, so that "Diff-AE against plain DDIM of the same size and time" compares two networks of the
# same widths trained for the same steps on the same faces. Shipped as models/faces-diffae.pt (models/README.md).
#   scripts/reference/faces-diffae.sh [OUT_DIR] [STEPS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/faces-diffae}"
steps="${2:-2250}"
threads="${3:-1}"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out"
fi
exec "$ddim" --threads "$threads" --seed 1 train --data faces --arch diffae --z-dim 128 --encoder-head pool \
  --widths 16,32,64,128 --block-depth 2 --embedding-dims 32 --batch 32 --lr 0.001 --weight-decay 0.0001 \
  --steps "$steps" --checkpoint-every 250 --keep 2 --log-every 50 --out "$out"
