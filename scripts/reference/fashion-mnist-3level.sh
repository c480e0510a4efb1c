#!/usr/bin/env bash
# Reference run: a second, differently built Fashion-MNIST denoiser for the model-independence study (seed paper
# Fig. 10): three levels of widths 32-64-128 (the reference model, scripts/reference/fashion-mnist.sh, has four,
# 32-64-96-128), another seed (2), otherwise the same recipe and the same schedule, so that the same seed can be
# sent through both (`ddim analyze independence`). The paper pairs 32-64-128 with 48-96-192-384; this cheaper
# pair fits the 2-core CPU. Shipped as models/fashion-mnist-3level.pt (see models/README.md).
#   scripts/reference/fashion-mnist-3level.sh [OUT_DIR] [STEPS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/fashion-mnist-3level}"
steps="${2:-8000}"
threads="${3:-1}"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out"
fi
exec "$ddim" --threads "$threads" --seed 2 train --data fashion-mnist --widths 32,64,128 --block-depth 2 \
  --embedding-dims 32 --batch 64 --lr 0.001 --weight-decay 0.0001 --steps "$steps" --checkpoint-every 250 --keep 2 \
  --log-every 100 --out "$out"
