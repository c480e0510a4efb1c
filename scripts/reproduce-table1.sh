#!/usr/bin/env bash
# The seed paper's Table 1 (embedding networks) and Table 2 (dataset vs generated images) on
# Fashion-MNIST (or MNIST), plus rows for every other way ddim embeds: DDIM inversion,
# fixed-point inversion, and the U-Net embedder refined by gradient descent.
#
#   scripts/reproduce-table1.sh --quick                 # reduced: about 30 minutes on a 2-core CPU
#   scripts/reproduce-table1.sh                         # the full run (meant for a GPU)
#   scripts/reproduce-table1.sh --data mnist:DIR        # MNIST, compared with the paper's MNIST column
# Options: --out DIR (default runs/table1[-quick]), --denoiser MODEL.pt (reuse a denoiser),
# --ddim PATH (this built ddim, or DDIM=PATH; else what is missing is installed and build/ddim built);
# sizes: --images N (test images measured and samples generated), --embedder-steps N (each embedder's
# training), --refine N (gradient steps of the refined row; its images: --images/5 with --quick). Finished
# pieces in DIR are reused, so an interrupted run continues where it stopped. Writes DIR/table1.md
# (scripts/ddim_tables.py table1). DDIM_THREADS=N runs every command on N threads.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
quick=0
data="fashion-mnist"
out=""
denoiser=""
images=""
embedder_steps=""
refine_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --data) data="$2"; shift ;;
    --out) out="$2"; shift ;;
    --denoiser) denoiser="$2"; shift ;;
    --images) images="$2"; shift ;;
    --embedder-steps) embedder_steps="$2"; shift ;;
    --refine) refine_arg="$2"; shift ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ -n "$out" ] || out="runs/table1$([ $quick = 1 ] && echo -quick)"
use_ddim
mkdir -p "$out"
start=$(date +%s)

if [ $quick = 1 ]; then
  denoiser_args=(--config configs/quick.toml)
  embedder_args=(--batch 32 --lr 0.001 --log-every 50)
  embedder_length=(--steps 150 --checkpoint-every 150)
  n_eval=500; n_refine=100; refine=50; n_generated=500
else
  config=configs/fashion-mnist.toml
  case "$data" in mnist*) config=configs/mnist.toml ;; esac
  denoiser_args=(--config "$config")
  embedder_args=(--batch 64 --lr 0.0001 --log-every 500)
  embedder_length=(--epochs 20 --checkpoint-every 5000)
  n_eval=1000; n_refine=1000; refine=300; n_generated=1000
fi
if [ -n "$images" ]; then
  n_eval=$images; n_generated=$images
  n_refine=$(( quick == 1 ? (images / 5 > 0 ? images / 5 : 1) : images ))
fi
[ -z "$embedder_steps" ] || embedder_length=(--steps "$embedder_steps" --checkpoint-every "$embedder_steps")
embedder_args+=("${embedder_length[@]}")
refine="${refine_arg:-$refine}"

# 1. The denoiser.
if [ -z "$denoiser" ]; then
  denoiser="$out/denoiser/model.pt"
  if [ ! -e "$denoiser" ]; then
    ddim train "${denoiser_args[@]}" --data "$data" --out "$out/denoiser"
  fi
fi

# 2. The five embedding networks of Table 1.
archs=(conv1 conv3-16 conv3-64 conv5-128 unet)
for a in "${archs[@]}"; do
  if [ ! -e "$out/embedder-$a/model.pt" ]; then
    ddim train-embedder --model "$denoiser" --arch "$a" "${embedder_args[@]}" --out "$out/embedder-$a"
  fi
done

# 3. Test MSE of every method, over the original pixels (padding cropped).
eval_run() {  # name, extra args...
  local name="$1"; shift
  [ -e "$out/eval-$name/metrics.json" ] || ddim reconstruct --model "$denoiser" --split test "$@" --steps 10 \
    --out "$out/eval-$name"
}
for a in "${archs[@]}"; do eval_run "$a" --embedder "$out/embedder-$a/model.pt" --limit "$n_eval"; done
eval_run ddim --method ddim --limit "$n_eval"
eval_run fixed-point --method fixed-point --iters 3 --limit "$n_eval"
eval_run unet-refined --embedder "$out/embedder-unet/model.pt" --refine "$refine" --limit "$n_refine"

# 4. Table 2: dataset images against generated ones, through the U-Net embedder.
[ -e "$out/generated/samples.pt" ] || ddim sample --model "$denoiser" --n "$n_generated" --out "$out/generated"
[ -e "$out/eval-generated/metrics.json" ] || ddim reconstruct --model "$denoiser" \
  --embedder "$out/embedder-unet/model.pt" --tensor "$out/generated/samples.pt" --steps 10 --out "$out/eval-generated"

# 5. The tables, with each embedder's parameter count from `ddim info --json`.
for a in "${archs[@]}"; do ddim info "$out/embedder-$a/model.pt" --json > "$out/embedder-$a/info.json"; done
quick_flag=(); [ $quick = 0 ] || quick_flag=(--quick)
python3 scripts/ddim_tables.py table1 "$out" --data "$data" "${quick_flag[@]}" \
  --seconds "$(( $(date +%s) - start ))" --images "$n_eval" --refined "$n_refine" --refine "$refine" > "$out/table1.md"
cat "$out/table1.md"
