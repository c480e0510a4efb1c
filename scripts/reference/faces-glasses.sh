#!/usr/bin/env bash
# Reference run: a faces denoiser conditioned on glasses, for Direct Inversion's experiment on faces
# (issue 27, experiment 3: add or remove glasses, scored against the rendered counterfactual, the same face
# drawn with and without them). The faces are rendered with glasses on half of them (`--p eyeglasses=0.5`;
# facesjs draws them on 10%), so that both classes are common, into runs/reference/faces-glasses-data
# (30,000 faces at 64x64, 83 s on one core), read at 32x32 (`--resize 32`: a quarter of the 64x64 model's
# time a step, so that the model and the whole edit study fit one session on two cores; the glasses remain
# plain at 32x32). The network is models/faces.pt's (U-Net widths 16-32-64-128, block depth 2, noise
# embedding 32, AdamW 1e-3) at batch 64, with a class embedding of the glasses label (classifier-free
# guidance training, the label dropped to the null class 10% of the time).
#   scripts/reference/faces-glasses.sh [OUT_DIR] [STEPS] [THREADS]
# Run from anywhere; the data set is named relative to the repository root, where ddim's commands on the
# shipped model (models/faces-glasses.pt) look for it: render it there first on another machine.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-runs/reference/faces-glasses}"
steps="${2:-2500}"
threads="${3:-1}"
data="$(scripts/reference/faces-glasses-data.sh "$threads")"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out" --steps "$steps"
fi
exec "$ddim" --threads "$threads" --seed 1 train --data "faces:$data" --resize 32 --class-attribute eyeglasses \
  --class-conditional --cond-drop 0.1 --class-embedding-dims 64 --widths 16,32,64,128 --block-depth 2 \
  --embedding-dims 32 --batch 64 --lr 0.001 --weight-decay 0.0001 --steps "$steps" --checkpoint-every 250 \
  --keep 20 --log-every 50 --out "$out"
