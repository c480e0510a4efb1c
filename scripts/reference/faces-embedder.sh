#!/usr/bin/env bash
# Reference run: the seed paper's U-Net embedding network (Sec. 5.2, Table 1's last row) for the shipped faces
# denoiser (models/faces.pt), trained through the frozen denoiser's unrolled S = 10 DDIM sampler on the training
# faces, MAE loss, Adam 1e-4 (the paper's). One step costs ten denoiser passes forward and back, so on the 2-core
# CPU it sees a few thousand faces a session; shipped as models/faces-embedder.pt (see models/README.md).
#   scripts/reference/faces-embedder.sh [OUT_DIR] [STEPS] [THREADS] [BATCH]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="$(realpath -m "${1:-$here/runs/reference/faces-embedder}")"
steps="${2:-2000}"
threads="${3:-1}"
batch="${4:-8}"
cd "$here"  # the embedder records the denoiser's path as given: models/faces.pt, not this machine's
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train-embedder --resume "$out"
fi
exec "$ddim" --threads "$threads" --seed 1 train-embedder --model models/faces.pt --arch unet \
  --batch "$batch" --lr 0.0001 --steps "$steps" --checkpoint-every 100 --keep 2 --log-every 25 --out "$out"
