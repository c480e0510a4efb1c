#!/usr/bin/env bash
# The tiny models and data the script tests (tests/scripts.cmake) share, trained in seconds:
#   tests/scripts/tiny-models.sh DDIM OUT
# OUT/ddim, OUT/diffae, OUT/conditional: denoisers of 2 steps on 64 Fashion-MNIST images (U-Net 8-16);
# OUT/classifier: a classifier of one epoch on them; OUT/cache/faces-64: 50 rendered faces, a stand-in
# for ddim's cached faces set (DDIM_CACHE_DIR=OUT/cache), on which the shipped faces models run.
set -euo pipefail
ddim="$1"
out="$2"
rm -rf "$out"
mkdir -p "$out"
tiny=(--data fashion-mnist --limit 64 --widths 8,16 --block-depth 1 --embedding-dims 8 --batch 8 --steps 2
      --preview-samples 0 --log-every 1)
"$ddim" --threads 1 train "${tiny[@]}" --out "$out/ddim"
"$ddim" --threads 1 train "${tiny[@]}" --arch diffae --z-dim 8 --out "$out/diffae"
"$ddim" --threads 1 train "${tiny[@]}" --class-conditional --out "$out/conditional"
"$ddim" --threads 1 train-classifier --data fashion-mnist --limit 64 --batch 16 --epochs 1 --out "$out/classifier"
"$ddim" --threads 1 data render-faces --count 50 --jobs 1 --out "$out/cache/faces-64"
