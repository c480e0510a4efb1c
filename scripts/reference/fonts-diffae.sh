#!/usr/bin/env bash
# Reference run: a diffusion autoencoder (Diff-AE, Preechakul et al. 2022) on the Fonts subset of
# scripts/diffusegae-tables.sh (capitals, two sizes, five font and five background colours, six distinct
# fonts: 7,800 tuples at 32x32), the base of DiffuseGAE's experiment (Leng et al. 2023). Built as that script's
# full run (widths 16-32-64-128, z_sem 64, batch 64) with an encoder that flattens its last feature map
# (--encoder-head flatten): pooling keeps the colours and loses the glyph's shape, so nothing would tell the
# letter apart. Shipped as models/fonts-diffae.pt (models/README.md), where a linear probe on z_sem reads the
# letter (docs/reference/diffusegae-fonts/probe-curve.md follows it over the checkpoints).
#
# It ran in two sessions, and this script repeats them as they ran:
#   stage 1: 3,500 steps from scratch (seed 1), then an fp16 release of its EMA weights;
#   stage 2: 2,000 more steps from that release (`train --init`: a fresh AdamW, eased in over 200 steps of
#            learning-rate warm-up; the EMA starts at the released weights), seed 2, so that the data order
#            does not repeat stage 1's first epochs; stopped at the first checkpoint where a linear probe on
#            z_sem reads the letter at 0.60 or more. Its fp16 release is models/fonts-diffae.pt.
# Each stage resumes where it stopped when run again.
#   scripts/reference/fonts-diffae.sh [OUT_DIR] [THREADS] [STAGE1_STEPS] [STAGE2_STEPS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/fonts-diffae}"
threads="${2:-1}"
steps1="${3:-3500}"
steps2="${4:-2000}"
subset=(--data fonts --where letter=A..Z --where size=small,large
  --where font_colour=black,white,red,green,blue --where background_colour=maroon,tan,olive,teal,steel
  --where font=DejaVuSans-Bold,DejaVuSerif,FreeMono,FreeSerifItalic,Purisa,OpenSans-CondBold)
run=(--batch 64 --lr 0.001 --checkpoint-every 250 --keep 20 --log-every 50)
mkdir -p "$out"

# A stage's directory holds its run once started: continue it there.
stage() {  # DIR STEPS ARGS...
  local dir="$1" steps="$2"
  shift 2
  if [[ -f "$dir/model.pt" && "$(cat "$dir/.done" 2>/dev/null)" == "$steps" ]]; then return; fi
  if [[ -d "$dir" && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
    "$ddim" --threads "$threads" train --resume "$dir" --steps "$steps"
  else
    "$ddim" --threads "$threads" "$@" --steps "$steps" --out "$dir"
  fi
  echo "$steps" > "$dir/.done"
}

stage "$out/stage1" "$steps1" --seed 1 train "${subset[@]}" --arch diffae --z-dim 64 --encoder-head flatten \
  --widths 16,32,64,128 "${run[@]}"
"$ddim" export --release --storage fp16 --model "$out/stage1/model.pt" --out "$out/stage1-release.pt"
stage "$out/stage2" "$steps2" --seed 2 train "${subset[@]}" --init "$out/stage1-release.pt" --warmup 200 \
  --ema-warmup false "${run[@]}"
"$ddim" export --release --storage fp16 --model "$out/stage2/model.pt" --out "$out/fonts-diffae.pt"
echo "fonts-diffae: $out/fonts-diffae.pt"
