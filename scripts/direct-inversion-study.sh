#!/usr/bin/env bash
# Direct Inversion's study (Elarabawy et al. 2022, Figs. 6-9) on Fashion-MNIST, with
# class-conditional classifier-free guidance in place of text guidance:
#   landscape/  reconstruction MSE over inversion steps x inference steps, no guidance (Fig. 8)
#   tradeoff/   fidelity and editability over the merge λ at fixed w (Fig. 7), SDEdit over its
#               strength t0 and inversion + guidance, on one fidelity-editability plot
#   heatmap/    the λ x w heat maps of fidelity and editability (Fig. 9)
#   picture/    test images x 4 target classes at the best Direct Inversion setting (Fig. 1)
#   table.md    success rate at a fixed fidelity and fidelity at a fixed success rate, a method
# Every part writes summary.csv (a row a setting) and its PNGs.
#   scripts/direct-inversion-study.sh [--quick] [--model CC] [--classifier C] [--images N]
#                                     [--guidance W] [--out DIR]
# Without models it trains a class-conditional denoiser (configs/class-conditional-quick.toml;
# --quick: 600 steps) and a classifier (3 epochs; --quick: 1). DDIM_THREADS sets --threads;
# DDIM=path/to/ddim uses that binary instead of installing and building.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/direct-inversion-study
quick=0
n=""
w=3
model=""
classifier=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --model) model="$2"; shift ;;
    --classifier) classifier="$2"; shift ;;
    --images) n="$2"; shift ;;
    --guidance) w="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "direct-inversion-study: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  n="${n:-16}"; train_steps=600; epochs=1
  grid_steps=5,10,20; steps=20; merges=0,0.5,0.75,0.85,0.9,0.95,1; guidances=0,1,2,3,5
  strengths=0.25,0.5,0.6,0.7,0.8,0.9,1
else
  n="${n:-64}"; train_steps=2000; epochs=3
  grid_steps=10,20,50,100; steps=50; merges=0,0.25,0.5,0.6,0.7,0.8,0.85,0.9,0.95,1; guidances=0,1,2,3,5,7
  strengths=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1
fi
if [ -z "${DDIM:-}" ]; then
  scripts/install-deps.sh >/dev/null
  scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
fi
ddim=("${DDIM:-${DDIM_BUILD_DIR:-build}/ddim}")
[ -n "${DDIM_THREADS:-}" ] && ddim+=(--threads "$DDIM_THREADS")
mkdir -p "$out"
start=$SECONDS
timed() {  # timed NAME COMMAND...: runs it once (skipped when its output exists) and logs its seconds
  local name="$1"; shift
  if [ ! -e "$out/$name.done" ]; then
    local t0=$SECONDS
    "$@"
    echo "$name $((SECONDS - t0))" >> "$out/times.txt"
    touch "$out/$name.done"
  fi
}
if [ -z "$model" ]; then
  model="$out/model/model.pt"
  timed train "${ddim[@]}" train --config configs/class-conditional-quick.toml --steps "$train_steps" \
    --out "$out/model"
fi
if [ -z "$classifier" ]; then
  classifier="$out/classifier/model.pt"
  timed classifier "${ddim[@]}" train-classifier --epochs "$epochs" --out "$out/classifier"
fi
edit=("${ddim[@]}" edit --model "$model" --classifier "$classifier")
targets=Sneaker,Bag,Trouser,Dress
# Fig. 8: inversion then sampling with the null class on both sides, no injection: a reconstruction.
timed landscape "${edit[@]}" --limit "$n" --to 0 --from none --method inversion --guidance 0 \
  --inversion-steps "$grid_steps" --steps "$grid_steps" --out "$out/landscape"
# Fig. 7 and the baselines: one w, every method through its knob.
timed tradeoff "${edit[@]}" --limit "$n" --to "$targets" --method direct-inversion,inversion,sdedit --guidance "$w" \
  --merge "$merges" --strength "$strengths" --inversion-steps "$steps" --steps "$steps" --out "$out/tradeoff"
# Fig. 9: λ x w.
timed heatmap "${edit[@]}" --limit "$n" --to "$targets" --method direct-inversion --guidance "$guidances" --merge "$merges" \
  --inversion-steps "$steps" --steps "$steps" --out "$out/heatmap"
python3 - "$out" "$n" "$w" > "$out/table.md" <<'PY'
import csv, sys
out, n, w = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(f"{out}/tradeoff/summary.csv")))
for r in rows:
    for k in ("ssim", "success_rate", "target_probability", "mse", "merge", "strength"):
        r[k] = float(r[k]) if r[k] else None
knob = {"direct-inversion": ("merge", "λ"), "sdedit": ("strength", "t0"), "inversion": (None, "")}
# The fixed levels: the median fidelity and median success over every setting of every method,
# so that both lie inside the range the methods span.
ssims = sorted(r["ssim"] for r in rows)
rates = sorted(r["success_rate"] for r in rows)
fid = ssims[len(ssims) // 2]
suc = rates[len(rates) // 2]
def setting(r):
    k, name = knob[r["method"]]
    return f"{name} = {r[k]:g}" if k else "-"
print(f"# Direct Inversion study: {n} test images x 4 targets (Sneaker, Bag, Trouser, Dress), w = {w}")
print()
print(f"| method | best success with SSIM >= {fid:.3f} | setting | best SSIM with success >= {suc:.2f} | setting |")
print("|---|---|---|---|---|")
best = {}
for m in ("direct-inversion", "inversion", "sdedit"):
    of = [r for r in rows if r["method"] == m]
    a = [r for r in of if r["ssim"] >= fid]
    b = [r for r in of if r["success_rate"] >= suc]
    ra = max(a, key=lambda r: (r["success_rate"], r["ssim"])) if a else None
    rb = max(b, key=lambda r: (r["ssim"], r["success_rate"])) if b else None
    cell = lambda r, v, f: (f.format(r[v]), setting(r)) if r else ("unreachable", "-")
    print("| {} | {} | {} | {} | {} |".format(m, *cell(ra, "success_rate", "{:.2f}"), *cell(rb, "ssim", "{:.3f}")))
    if m == "direct-inversion" and ra:
        best["merge"] = ra["merge"]
open(f"{out}/best-merge.txt", "w").write(f"{best.get('merge', 0.5):g}\n")
PY
merge=$(cat "$out/best-merge.txt")
# Fig. 1: the best Direct Inversion setting at the fixed fidelity, 8 images x 4 targets.
timed picture "${edit[@]}" --limit 8 --show 8 --to "$targets" --method direct-inversion --guidance "$w" \
  --merge "$merge" --inversion-steps "$steps" --steps "$steps" --out "$out/picture"
{
  echo
  echo "Times (seconds): $(tr '\n' ' ' < "$out/times.txt")"
} >> "$out/table.md"
cat "$out/table.md"
echo "wrote $out: landscape/ tradeoff/ heatmap/ picture/ (summary.csv and PNGs each), table.md"
