#!/usr/bin/env bash
# Reference run: the diffusion autoencoder (Diff-AE, Preechakul et al. 2022) under DiffuseGAE's experiment on
# faces (Leng et al. 2023; issue 27, experiment 2). The faces are scripts/reference/faces-glasses.sh's set
# (30,000 faces rendered with glasses on half of them, so that eyeglasses is as common as male), read at 32x32;
# the network is that script's U-Net (widths 16-32-64-128, block depth 2, noise embedding 32, batch 64, AdamW
# 1e-3) with a semantic encoder that flattens its last feature map into a 64-dimensional z_sem
# (--encoder-head flatten, as the fonts Diff-AE: the pooled faces Diff-AE, models/faces-diffae.pt, reads
# glasses at AUROC 0.58 only, since pooling keeps the colours and loses where things are). Stopped at the
# first checkpoint where a linear probe on z_sem reads the attributes of the GAE's partition well
# (docs/reference/diffusegae-faces/probe-curve.md); its fp16 release is the base of models/faces-gae.pt.
#   scripts/reference/faces-diffae-flatten.sh [OUT_DIR] [STEPS] [THREADS]
# Run from anywhere; the data set is named relative to the repository root, as faces-glasses.sh names it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-runs/reference/faces-diffae-flatten}"
steps="${2:-3000}"
threads="${3:-1}"
data="$(scripts/reference/faces-glasses-data.sh "$threads")"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out" --steps "$steps"
fi
exec "$ddim" --threads "$threads" --seed 1 train --data "faces:$data" --resize 32 --arch diffae --z-dim 64 \
  --encoder-head flatten --widths 16,32,64,128 --block-depth 2 --embedding-dims 32 --batch 64 --lr 0.001 \
  --weight-decay 0.0001 --steps "$steps" --checkpoint-every 250 --keep 20 --log-every 50 --out "$out"
