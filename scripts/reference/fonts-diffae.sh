#!/usr/bin/env bash
# Reference run: a diffusion autoencoder (Diff-AE, Preechakul et al. 2022) on the Fonts subset of
# scripts/diffusegae-tables.sh (capitals, two sizes, five font and five background colours, six distinct
# fonts: 7,800 tuples at 32x32), the base of DiffuseGAE's experiment (Leng et al. 2023). Built as that script's
# full run (widths 16-32-64-128, z_sem 64, batch 64) with an encoder that flattens its last feature map
# (--encoder-head flatten): pooling keeps the colours and loses the glyph's shape, so nothing would tell the
# letter apart. Shipped as models/fonts-diffae.pt (models/README.md), where a linear probe on z_sem reads the
# letter (docs/reference/diffusegae-fonts/probe-curve.md follows it over the checkpoints).
#   scripts/reference/fonts-diffae.sh [OUT_DIR] [STEPS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/fonts-diffae}"
steps="${2:-3500}"
threads="${3:-1}"
if [[ -d "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
  exec "$ddim" --threads "$threads" train --resume "$out"
fi
exec "$ddim" --threads "$threads" --seed 1 train --data fonts --where letter=A..Z --where size=small,large \
  --where font_colour=black,white,red,green,blue --where background_colour=maroon,tan,olive,teal,steel \
  --where font=DejaVuSans-Bold,DejaVuSerif,FreeMono,FreeSerifItalic,Purisa,OpenSans-CondBold \
  --arch diffae --z-dim 64 --encoder-head flatten --widths 16,32,64,128 --batch 64 --lr 0.001 \
  --steps "$steps" --checkpoint-every 250 --keep 20 --log-every 50 --out "$out"
