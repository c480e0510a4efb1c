#!/usr/bin/env bash
# ddim against eager PyTorch (Debian's python3-torch, the same LibTorch version) on the same
# machine and thread count: training and DDIM sampling of the paper's U-Net. Writes JSON lines
# to bench/results-<host>.jsonl (or $1) and prints them.
#   bench/run.sh                 # CPU, all cores
#   THREADS=1 bench/run.sh       # one thread
#   BF16=1 bench/run.sh          # also bf16 autocast, both sides (CPUs with AVX512-BF16/AMX)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/results-$(hostname).jsonl}"
threads="${THREADS:-0}"
rounds="${ROUNDS:-5}"
bf16=(); [ "${BF16:-0}" = 1 ] && bf16=(--bf16)
# Debian's interpreter: python3-torch is installed for it, whatever python3 comes first on PATH.
py="${PYTHON:-/usr/bin/python3}"
[ -x build/ddim ] || scripts/build.sh >/dev/null
net=(--widths 32,64,96,128 --image-size 32 --channels 1)
{
  "$py" bench/compare.py --python "$py" --rounds "$rounds" --threads "$threads" "${bf16[@]}" train -- "${net[@]}" --batch 64 --iters 10
  "$py" bench/compare.py --python "$py" --rounds "$rounds" --threads "$threads" "${bf16[@]}" sample -- "${net[@]}" --batch 64 --iters 3 --steps 10
} | tee "$out"
