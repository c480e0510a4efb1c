#!/usr/bin/env bash
# Diff-AE's Tables 1-2 on Fashion-MNIST: reconstruction MSE and SSIM at T = 10, 20, 50, 100
# DDIM steps for the plain DDIM model (inversion), Diff-AE with the inferred x_T, and Diff-AE
# with a random x_T. The paper's claim to check: Diff-AE at T = 20 beats DDIM at T = 100.
#   scripts/diffae-tables.sh [--images N] [--ddim MODEL] [--diffae MODEL] [--out DIR]
# Without models it trains both with the quick settings (configs/quick.toml and
# configs/diffae-quick.toml: the same widths and steps).
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/diffae-tables
n=200
ddim_model=""
ae_model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --images) n="$2"; shift ;;
    --ddim) ddim_model="$2"; shift ;;
    --diffae) ae_model="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "diffae-tables: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
scripts/install-deps.sh >/dev/null
scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
ddim="${DDIM_BUILD_DIR:-build}/ddim"
mkdir -p "$out"
if [ -z "$ddim_model" ]; then
  ddim_model="$out/ddim/model.pt"
  [ -e "$ddim_model" ] || "$ddim" train --config configs/quick.toml --out "$out/ddim"
fi
if [ -z "$ae_model" ]; then
  ae_model="$out/diffae/model.pt"
  [ -e "$ae_model" ] || "$ddim" train --config configs/diffae-quick.toml --out "$out/diffae"
fi
for t in 10 20 50 100; do
  [ -e "$out/ddim-T$t/metrics.json" ] || "$ddim" reconstruct --model "$ddim_model" --limit "$n" --steps "$t" --out "$out/ddim-T$t"
  [ -e "$out/diffae-T$t/metrics.json" ] || "$ddim" reconstruct --model "$ae_model" --limit "$n" --steps "$t" --out "$out/diffae-T$t"
  [ -e "$out/diffae-random-T$t/metrics.json" ] || "$ddim" reconstruct --model "$ae_model" --limit "$n" --steps "$t" \
    --random-xt --out "$out/diffae-random-T$t"
done
python3 - "$out" "$n" <<'PY'
import json, sys
out, n = sys.argv[1], sys.argv[2]
m = lambda name, t: json.load(open(f"{out}/{name}-T{t}/metrics.json"))["mean"]
ts = [10, 20, 50, 100]
lines = [f"# Diff-AE reconstruction on Fashion-MNIST ({n} test images, pixels in [0, 1], padding cropped)", "",
         "| model | " + " | ".join(f"MSE T={t}" for t in ts) + " | " + " | ".join(f"SSIM T={t}" for t in ts) + " |",
         "|---|" + "---|" * (2 * len(ts))]
for name, label in [("ddim", "DDIM (inversion)"), ("diffae", "Diff-AE, inferred x_T"), ("diffae-random", "Diff-AE, random x_T")]:
    lines.append(f"| {label} | " + " | ".join(f"{m(name, t)['mse']:.5f}" for t in ts) + " | "
                 + " | ".join(f"{m(name, t)['ssim']:.4f}" for t in ts) + " |")
claim = m("diffae", 20)["mse"] < m("ddim", 100)["mse"]
lines += ["", f"Diff-AE at T = 20 ({m('diffae', 20)['mse']:.5f}) {'beats' if claim else 'does not beat'} "
              f"DDIM at T = 100 ({m('ddim', 100)['mse']:.5f}) in MSE."]
open(f"{out}/tables.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
