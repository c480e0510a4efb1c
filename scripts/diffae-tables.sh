#!/usr/bin/env bash
# Diff-AE's Tables 1-2 on Fashion-MNIST: reconstruction MSE and SSIM at T = 10, 20, 50, 100
# DDIM steps for the plain DDIM model (inversion), Diff-AE with the inferred x_T, and Diff-AE
# with a random x_T. The paper's claim to check: Diff-AE at T = 20 beats DDIM at T = 100.
#   scripts/diffae-tables.sh [--images N] [--denoiser MODEL] [--diffae MODEL] [--out DIR] [--ddim PATH]
# Without models it trains both with the quick settings (configs/quick.toml and
# configs/diffae-quick.toml: the same widths and steps). Writes DIR/tables.md (default
# runs/diffae-tables; scripts/ddim_tables.py diffae-tables). --ddim PATH (or DDIM=PATH): this built
# ddim, else what is missing is installed and build/ddim built. DDIM_THREADS=N: N threads.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
out=runs/diffae-tables
n=200
ddim_model=""
ae_model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --images) n="$2"; shift ;;
    --denoiser) ddim_model="$2"; shift ;;
    --diffae) ae_model="$2"; shift ;;
    --out) out="$2"; shift ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
use_ddim
mkdir -p "$out"
if [ -z "$ddim_model" ]; then
  ddim_model="$out/ddim/model.pt"
  [ -e "$ddim_model" ] || ddim train --config configs/quick.toml --out "$out/ddim"
fi
if [ -z "$ae_model" ]; then
  ae_model="$out/diffae/model.pt"
  [ -e "$ae_model" ] || ddim train --config configs/diffae-quick.toml --out "$out/diffae"
fi
for t in 10 20 50 100; do
  [ -e "$out/ddim-T$t/metrics.json" ] || ddim reconstruct --model "$ddim_model" --limit "$n" --steps "$t" --out "$out/ddim-T$t"
  [ -e "$out/diffae-T$t/metrics.json" ] || ddim reconstruct --model "$ae_model" --limit "$n" --steps "$t" --out "$out/diffae-T$t"
  [ -e "$out/diffae-random-T$t/metrics.json" ] || ddim reconstruct --model "$ae_model" --limit "$n" --steps "$t" \
    --random-xt --out "$out/diffae-random-T$t"
done
python3 scripts/ddim_tables.py diffae-tables "$out" --images "$n" > "$out/tables.md"
cat "$out/tables.md"
