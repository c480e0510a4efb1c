#!/usr/bin/env bash
# Direct Inversion's study (Elarabawy et al. 2022, Figs. 1 and 6-9) on Fashion-MNIST, with
# class-conditional classifier-free guidance in place of text guidance. Direct Inversion runs
# both ways the paper describes the injected noise (--merge-with eps: each step's inverted eps,
# Fig. 4; xT: the final inverted noise x~_T, section 3.2) and inverts under the null class (the
# authors' empty prompt) and under the source class; SDEdit runs Meng et al.'s stochastic
# process (eta = 1) under several noise seeds, summaries giving means and 95% confidence
# intervals; pairs whose source class already is the target are left out of the scores.
#   tradeoff/   fidelity and editability over the merge λ at fixed w (Fig. 7), SDEdit over its
#               strength t0 and inversion + guidance: fig7-tradeoff-ssim.png and
#               fig7-tradeoff-feature-distance.png (the classifier-feature distance, our
#               stand-in for the paper's LPIPS axis)
#   landscape/  fidelity over inversion steps x inference steps at fixed w and λ (Fig. 8):
#               fig8-mse-by-inversion-and-inference-steps.png, fig8-feature-distance-...
#   steps/      fidelity over inversion steps up to 250 at fixed inference steps (Fig. 6):
#               fig6-fidelity-over-inversion-steps.png
#   heatmap/    the λ x w heat maps of fidelity and editability (Fig. 9):
#               fig9-{mse,ssim,feature-distance,target-probability}-by-merge-and-guidance.png
#   picture/    test images x 4 target classes at the best Direct Inversion setting (Fig. 1)
#   table.md    success rate at a fixed fidelity and fidelity at a fixed success rate, a method
#               (and condition and injected noise), on SSIM and on the feature distance
# Every part writes summary.csv (a row a setting) and its PNGs; the figures are copied to the
# top of --out under the names above.
#   scripts/direct-inversion-study.sh [--quick] [--model CC] [--classifier C] [--images N]
#                                     [--guidance W] [--seeds S] [--steps T] [--parts LIST]
#                                     [--invert-under null,source] [--targets LIST] [--out DIR]
#                                     [--train-steps N] [--ddim PATH]
# --targets: the classes edited to (default Sneaker,Bag,Trouser,Dress, Fashion-MNIST's); any model's class
# names, e.g. `--model models/faces-glasses.pt --classifier C --targets no,yes` adds and removes glasses, and
# on rendered faces (and fonts) every edit is also scored against the true counterfactual (truth_* columns).
# --steps T sets the inversion and inference steps of the fixed-step parts (default 100, --quick 20);
# --parts runs only some of tradeoff,landscape,steps,heatmap,picture (table.md comes with tradeoff);
# --invert-under null (the authors' empty prompt) halves the tradeoff's inversions.
# Without models it trains a class-conditional denoiser (configs/class-conditional-quick.toml;
# --quick: 600 steps; --train-steps N: N) and a classifier (3 epochs; --quick: 1). table.md comes from
# scripts/ddim_tables.py direct-inversion. DDIM_THREADS sets --threads; --ddim PATH (or DDIM=PATH) uses
# that binary instead of installing and building.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
out=runs/direct-inversion-study
quick=0
n=""
w=3
seeds=""
steps_arg=""
conditions=null,source
parts=tradeoff,landscape,steps,heatmap,picture
model=""
classifier=""
targets=Sneaker,Bag,Trouser,Dress
train_steps_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --model) model="$2"; shift ;;
    --classifier) classifier="$2"; shift ;;
    --images) n="$2"; shift ;;
    --guidance) w="$2"; shift ;;
    --seeds) seeds="$2"; shift ;;
    --steps) steps_arg="$2"; shift ;;
    --parts) parts="$2"; shift ;;
    --targets) targets="$2"; shift ;;
    --invert-under) conditions="$2"; shift ;;
    --out) out="$2"; shift ;;
    --train-steps) train_steps_arg="$2"; shift ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
# steps: the inversion and inference steps of the fixed-step parts (the paper: 100 each);
# grid_steps: Fig. 8's axes; inversion_steps: Fig. 6's axis at `steps` inference steps.
if [ "$quick" = 1 ]; then
  n="${n:-16}"; train_steps=600; epochs=1; seeds="${seeds:-2}"
  grid_steps=5,10,20; steps=20; inversion_steps=5,10,20,50,100,250
  merges=0,0.5,0.75,0.85,0.9,0.95,1; guidances=0,1,2,3,5
  strengths=0.25,0.5,0.6,0.7,0.8,0.9,1
else
  n="${n:-64}"; train_steps=2000; epochs=3; seeds="${seeds:-3}"
  grid_steps=10,20,50,100; steps=100; inversion_steps=10,25,50,75,100,150,200,250
  merges=0,0.25,0.5,0.6,0.7,0.8,0.85,0.9,0.95,1; guidances=0,1,2,3,5,7
  strengths=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1
fi
steps="${steps_arg:-$steps}"
train_steps="${train_steps_arg:-$train_steps}"
for p in ${parts//,/ }; do
  case "$p" in
    tradeoff|landscape|steps|heatmap|picture) ;;
    *) die "--parts: no part '$p' (tradeoff, landscape, steps, heatmap, picture)" ;;
  esac
done
want() { [[ ",$parts," == *",$1,"* ]]; }
use_ddim
mkdir -p "$out"
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
  timed train ddim train --config configs/class-conditional-quick.toml --steps "$train_steps" \
    --out "$out/model"
fi
if [ -z "$classifier" ]; then
  classifier="$out/classifier/model.pt"
  timed classifier ddim train-classifier --epochs "$epochs" --out "$out/classifier"
fi
edit=(ddim edit --model "$model" --classifier "$classifier" --exclude-same-class)
# Fig. 7 and the baselines: one w, every method through its knob; Direct Inversion both ways of
# injecting and both inversion conditions, inversion + guidance under both conditions, SDEdit
# stochastic under several seeds.
if want tradeoff; then
timed tradeoff "${edit[@]}" --limit "$n" --to "$targets" --method direct-inversion,inversion,sdedit \
  --guidance "$w" --merge "$merges" --merge-with eps,xT --invert-under "$conditions" --strength "$strengths" \
  --eta 1 --seeds "$seeds" --inversion-steps "$steps" --steps "$steps" --out "$out/tradeoff"
python3 scripts/ddim_tables.py direct-inversion "$out" --images "$n" --guidance "$w" --seeds "$seeds" \
  --targets "$targets" --best-merge "$out/best-merge.txt" > "$out/table.md"
fi
merge=$(cat "$out/best-merge.txt" 2>/dev/null || echo 0.85)
# Fig. 8: fidelity over inversion x inference steps at fixed guidance and injection.
want landscape && timed landscape "${edit[@]}" --limit "$n" --to "$targets" --method direct-inversion --guidance "$w" \
  --merge "$merge" --inversion-steps "$grid_steps" --steps "$grid_steps" --out "$out/landscape"
# Fig. 6: fidelity over inversion steps (up to 250) at fixed inference steps, guidance and injection.
want steps && timed steps "${edit[@]}" --limit "$n" --to "$targets" --method direct-inversion --guidance "$w" \
  --merge "$merge" --inversion-steps "$inversion_steps" --steps "$steps" --out "$out/steps"
# Fig. 9: λ x w.
want heatmap && timed heatmap "${edit[@]}" --limit "$n" --to "$targets" --method direct-inversion --guidance "$guidances" \
  --merge "$merges" --inversion-steps "$steps" --steps "$steps" --out "$out/heatmap"
# Fig. 1: the best Direct Inversion setting at the fixed fidelity, 8 images x 4 targets.
want picture && timed picture "${edit[@]}" --limit 8 --show 8 --to "$targets" --method direct-inversion --guidance "$w" \
  --merge "$merge" --inversion-steps "$steps" --steps "$steps" --out "$out/picture"
# The figures under the names of what they show.
family=direct-inversion-null-eps
if want tradeoff; then
  cp "$out/tradeoff/tradeoff-ssim.png" "$out/fig7-tradeoff-ssim.png"
  cp "$out/tradeoff/tradeoff-feature-distance.png" "$out/fig7-tradeoff-feature-distance.png"
fi
if want landscape; then
  for metric in mse ssim feature-distance; do
    cp "$out/landscape/heatmap-$family-$metric-by-inversion-steps-and-inference-steps.png" \
      "$out/fig8-$metric-by-inversion-and-inference-steps.png"
  done
fi
want steps && cp "$out/steps/curve-$family-over-inversion-steps.png" "$out/fig6-fidelity-over-inversion-steps.png"
if want heatmap; then
  for metric in mse ssim feature-distance target-probability; do
    cp "$out/heatmap/heatmap-$family-$metric-by-guidance-w-and-merge-lambda.png" \
      "$out/fig9-$metric-by-merge-and-guidance.png"
  done
fi
want picture && cp "$out/picture/edits.png" "$out/fig1-edits-at-the-best-merge.png"
if want tradeoff; then
  {
    echo
    echo "Times (seconds): $(tr '\n' ' ' < "$out/times.txt")"
  } >> "$out/table.md"
  cat "$out/table.md"
fi
echo "wrote $out: the parts $parts (summary.csv and PNGs each), their figures at the top"
