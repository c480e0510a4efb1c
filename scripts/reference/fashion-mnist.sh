#!/usr/bin/env bash
# Reference run: the seed paper's Fashion-MNIST denoiser (section 4; U-Net widths 32-64-96-128, block depth 2,
# noise embedding 32, continuous cosine schedule, AdamW 1e-3, batch 64, MAE loss, EMA 0.999).
# Trained on this project's 2-core CPU for as long as one session allows; the shipped weights are the EMA of
# the newest checkpoint, exported with `ddim export --release` into models/fashion-mnist.pt (see models/README.md).
#   scripts/reference/fashion-mnist.sh [OUT_DIR] [STEPS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/fashion-mnist}"
steps="${2:-8000}"
threads="${3:-1}"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out"
fi
# configs/fashion-mnist.toml's options, with a step count instead of its 50 epochs.
exec "$ddim" --threads "$threads" --seed 1 train --data fashion-mnist --widths 32,64,96,128 --block-depth 2 \
  --embedding-dims 32 --batch 64 --lr 0.001 --weight-decay 0.0001 --steps "$steps" --checkpoint-every 500 --keep 2 --log-every 100 --out "$out"
