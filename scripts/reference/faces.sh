#!/usr/bin/env bash
# Reference run: a faces denoiser at 64x64 on the rendered faces (`ddim data render-faces`, 30,000 faces,
# the default frequencies), with configs/faces-quick.toml's network (U-Net widths 16-32-64-128, block depth 2,
# noise embedding 32, continuous cosine schedule, AdamW 1e-3, batch 32, EMA 0.999) trained for as long as one
# session allows on this project's 2-core CPU; the shipped weights are the EMA of the newest checkpoint,
# exported with `ddim export --release` into models/faces.pt (see models/README.md).
#   scripts/reference/faces.sh [OUT_DIR] [STEPS] [THREADS]
# The data is `--data faces`, the default set in ddim's cache (rendered there on first use, 44 s on 2 cores), so
# that the shipped model names no folder of this machine: `ddim reconstruct --model models/faces.pt` finds the
# same faces anywhere.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/faces}"
steps="${2:-8000}"
threads="${3:-1}"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out"
fi
exec "$ddim" --threads "$threads" --seed 1 train --data faces --widths 16,32,64,128 --block-depth 2 \
  --embedding-dims 32 --batch 32 --lr 0.001 --weight-decay 0.0001 --steps "$steps" --checkpoint-every 250 --keep 2 \
  --log-every 50 --out "$out"
