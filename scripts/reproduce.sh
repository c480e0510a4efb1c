#!/usr/bin/env bash
# The tables and pictures of the reference runs (scripts/reference/) from the weights that ship
# in models/ (models/README.md), with no training: 21.5 minutes measured on a 2-core CPU (a smaller --n is shorter).
#   scripts/reproduce.sh [NAME ...]     # NAME: fashion-mnist (default: every shipped model)
# Options: --out DIR (default runs/reproduce), --n N (images per measure, default 1000).
# Writes DIR/NAME/ (each command's own output) and DIR/NAME/summary.md, the README's tables.
set -euo pipefail
cd "$(dirname "$0")/.."
out="runs/reproduce"
n=1000
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --n) n="$2"; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    -*) echo "reproduce: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) names+=("$1") ;;
  esac
  shift
done
[ ${#names[@]} -gt 0 ] || names=(fashion-mnist)
ddim="${DDIM_BUILD_DIR:-build}/ddim"
if [ ! -x "$ddim" ]; then
  scripts/install-deps.sh >/dev/null
  scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
fi
step() { echo; echo "== $*"; }

fashion_mnist() {
  local m=models/fashion-mnist.pt c=models/fashion-mnist-classifier.pt o="$out/fashion-mnist"
  mkdir -p "$o"
  local start; start=$(date +%s)
  "$ddim" info "$m" > "$o/info.txt"
  step "samples (S = 10) and the Fréchet distance on the shipped classifier's features, with the real-data floor"
  "$ddim" sample --model "$m" --n 64 --steps 10 --out "$o/samples"
  "$ddim" eval --classifier "$c" --model "$m" --n "$n" --steps 10 --out "$o/fd-samples-s10"
  "$ddim" eval --classifier "$c" --model "$m" --n "$n" --steps 50 --out "$o/fd-samples-s50"
  "$ddim" eval --classifier "$c" --real --n "$n" --out "$o/fd-floor"
  step "reconstruction of test images: DDIM inversion and fixed-point inversion (S = 10)"
  "$ddim" reconstruct --model "$m" --limit "$n" --steps 10 --method ddim --out "$o/reconstruct-ddim"
  "$ddim" reconstruct --model "$m" --limit "$n" --steps 10 --method fixed-point --iters 3 --out "$o/reconstruct-fixed-point"
  step "interpolation between two test images through their seeds (Fig. 19)"
  "$ddim" interpolate --model "$m" --from 0 --to 2 --frames 9 --method fixed-point --out "$o/interpolation.png"
  step "inversion statistics (There and back again, Tables 1-2)"
  "$ddim" analyze inversion --model "$m" --n "$(( n < 500 ? n : 500 ))" --steps 10,50 --out "$o/inversion"
  python3 - "$o" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
o, seconds = sys.argv[1], int(sys.argv[2])
def load(p): return json.load(open(f"{o}/{p}"))
fd = {k: load(f"fd-{k}/eval.json") for k in ("samples-s10", "samples-s50", "floor")}
rec = {k: load(f"reconstruct-{k}/metrics.json")["mean"] for k in ("ddim", "fixed-point")}
lines = [f"# fashion-mnist (models/fashion-mnist.pt): reproduced in {seconds} s", "",
         "| Fréchet distance on the shipped classifier's features | value |", "|---|---|",
         f"| samples, S = 10 | {fd['samples-s10']['frechet_distance']:.3f} |",
         f"| samples, S = 50 | {fd['samples-s50']['frechet_distance']:.3f} |",
         f"| floor: training images against the test split | {fd['floor']['frechet_distance']:.3f} |", "",
         "| reconstruction of test images (S = 10) | MSE | PSNR | SSIM |", "|---|---|---|---|"]
for k, r in rec.items():
    lines.append(f"| {k} inversion | {r['mse']:.5f} | {r['psnr']:.2f} | {r['ssim']:.4f} |")
lines += ["", "Inversion statistics (There and back again):", "", open(f"{o}/inversion/inversion.md").read()]
open(f"{o}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
}

mkdir -p "$out"
for name in "${names[@]}"; do
  case "$name" in
    fashion-mnist) fashion_mnist ;;
    *) echo "reproduce: no shipped model named $name (see models/README.md)" >&2; exit 2 ;;
  esac
done
