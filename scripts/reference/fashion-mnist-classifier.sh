#!/usr/bin/env bash
# Reference run: the classifier whose features `ddim eval` measures Fashion-MNIST samples on (the
# Fréchet distance, the edit and reconstruction scores), shipped as models/fashion-mnist-classifier.pt
# (`ddim export --release`; see models/README.md).
#   scripts/reference/fashion-mnist-classifier.sh [OUT_DIR] [THREADS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ddim="${DDIM:-$here/build/ddim}"
out="${1:-$here/runs/reference/fashion-mnist-classifier}"
threads="${2:-1}"
exec "$ddim" --threads "$threads" --seed 1 train-classifier --data fashion-mnist --epochs 5 --out "$out"
