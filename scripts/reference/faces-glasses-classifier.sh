#!/usr/bin/env bash
# The glasses classifier that scores the edits of models/faces-glasses.pt (Direct Inversion's experiment on
# faces): ddim's small CNN on the same faces at 32x32 (scripts/reference/faces-glasses.sh renders them), the
# eyeglasses attribute as its label. Shipped as models/faces-glasses-classifier.pt (fp16 release).
#   scripts/reference/faces-glasses-classifier.sh [OUT_DIR] [EPOCHS] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-runs/reference/faces-glasses-classifier}"
epochs="${2:-2}"
threads="${3:-1}"
data="$(scripts/reference/faces-glasses-data.sh "$threads")"
exec "$ddim" --threads "$threads" --seed 1 train-classifier --data "faces:$data" --resize 32 \
  --class-attribute eyeglasses --epochs "$epochs" --out "$out"
