#!/usr/bin/env bash
# DiffuseGAE (Leng et al. 2023) on a subset of the Fonts set at 32x32 sized for a CPU (capitals,
# two sizes, five font and five background colours, six distinct fonts: 7,800 tuples): its
# Table 1 (linear probes of every attribute on every part of the code; the Diff-AE baseline's
# z_sem divided in the GAE's part sizes, vs DiffuseGAE post hoc and fine-tuned), its Table 2 by
# the paper's protocol (each test image decoded from the code reassembled from its group's
# parts) beside plain reconstruction (MSE, SSIM and a classifier-feature distance at T = 10,
# 20, 50, inferred and random x_T), the attribute-swap success rate under attribute classifiers
# trained on real images with the error against the rendered true swap, and swap grids. The
# Diff-AE's encoder flattens its last feature map (--encoder-head flatten): pooling keeps the
# colours and loses the glyph's shape.
#
#   scripts/diffusegae-tables.sh --quick        # a CPU smoke run: tiny nets, short training, small subsets
#   scripts/diffusegae-tables.sh --cpu          # the reference run on a 2-core CPU, on models/fonts-diffae.pt
#   scripts/diffusegae-tables.sh                # the full run (meant for a GPU)
#   scripts/diffusegae-tables.sh --faces --cpu  # the same tables on faces (eyeglasses, male, smiling, hair colour,
#                                               # skin tone) at 32x32, on the Diff-AE inside models/faces-gae.pt
# Options: --faces (the faces of configs/reference/faces-glasses-data.toml, rendered first by
# scripts/reference.sh, instead of fonts), --out DIR (default runs/diffusegae[-faces][-quick|-cpu|-tiny]),
# --diffae MODEL.pt (reuse a Diff-AE), --gae MODEL.pt (reuse a post hoc GAE of that Diff-AE), --gae-ft
# MODEL.pt (reuse a fine-tuned GAE), --no-finetune (no fine-tuned GAE: its rows are left out), --threads N
# (CPU threads of every ddim command), --ddim PATH (use this built binary, or DDIM=PATH: no dependency
# install, no build), --tiny (the ctest smoke run: a few steps of tiny nets on a few hundred images, every
# table in a minute or two). Finished pieces in DIR are reused and unfinished training runs resumed, so an
# interrupted run continues. The tables are scripts/ddim_tables.py diffusegae's.
# shellcheck disable=SC2046  # $(part_of M) and $(... echo --random-xt): zero or one word on purpose
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
quick=0
out=""
ae=""
gae=""
ft=""
threads=""
set_name=fonts
finetune=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --cpu) quick=2 ;;
    --tiny) quick=3 ;;
    --faces) set_name=faces ;;
    --no-finetune) finetune=0 ;;
    --out) out="$2"; shift ;;
    --diffae) ae="$2"; shift ;;
    --gae) gae="$2"; shift ;;
    --gae-ft) ft="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
size=$(case $quick in 0) echo full ;; 1) echo quick ;; 2) echo cpu ;; 3) echo tiny ;; esac)
[ -n "$out" ] || out="runs/diffusegae$([ $set_name = faces ] && echo -faces)$([ "$size" = full ] || echo "-$size")"
use_ddim
[ -z "$threads" ] || export DDIM_THREADS="$threads"
mkdir -p "$out"
start=$(date +%s)

attributes=(letter font font_colour background_colour size)
if [ $quick = 1 ]; then
  # Sized for a CPU (measured: 24 min with --threads 1 on two cores shared with builds and
  # tests): the numbers show that the pipeline runs, not what the method can do (the Diff-AE
  # and the classifiers are far from trained).
  limit=4000; ae_steps=600; gae_steps=600; ft_steps=60; cls_epochs=1
  n_rec=24; pairs=24; probe_train=2000; probe_test=500; swap_steps=10; grid_steps=10
  ae_net=(--z-dim 32 --widths 16,32,64 --block-depth 1 --embedding-dims 16 --batch 32 --encoder-head flatten)
  gae_net=(--width 128)
  partition=letter:8,font:8,font_colour:4,background_colour:4,size:4,rest:4
elif [ $quick = 3 ]; then
  # The ctest smoke run: every step of the pipeline on tiny nets and a few hundred images; the numbers
  # mean nothing.
  limit=300; ae_steps=4; gae_steps=4; ft_steps=2; cls_epochs=1
  n_rec=2; pairs=4; probe_train=100; probe_test=50; swap_steps=2; grid_steps=2
  ae_net=(--z-dim 16 --widths 8,16 --block-depth 1 --embedding-dims 8 --batch 8 --encoder-head flatten)
  gae_net=(--width 16)
  partition=letter:4,font:4,font_colour:2,background_colour:2,size:2,rest:2
elif [ $quick = 2 ]; then
  # The reference run of a CPU session: the shipped Diff-AE (scripts/reference.sh fonts-diffae, trained
  # until a linear probe on z_sem reads the letter), the GAE and the evaluations sized to follow it in
  # about an hour on two cores.
  [ -n "$ae" ] || ae=models/fonts-diffae.pt
  limit=100000; gae_steps=2000; ft_steps=300; cls_epochs=8
  n_rec=100; pairs=100; probe_train=6241; probe_test=1559; swap_steps=20; grid_steps=20
  gae_net=()
  partition=letter:24,font:16,font_colour:8,background_colour:8,size:8
else
  limit=100000; ae_steps=20000; gae_steps=10000; ft_steps=3000; cls_epochs=3
  n_rec=500; pairs=500; probe_train=20000; probe_test=5000; swap_steps=20; grid_steps=20
  ae_net=(--z-dim 64 --widths 16,32,64,128 --batch 64 --encoder-head flatten)
  gae_net=()
  partition=letter:24,font:16,font_colour:8,background_colour:8,size:8
fi
data=(--data fonts --limit "$limit" --where letter=A..Z --where size=small,large
      --where font_colour=black,white,red,green,blue --where background_colour=maroon,tan,olive,teal,steel
      --where font=DejaVuSans-Bold,DejaVuSerif,FreeMono,FreeSerifItalic,Purisa,OpenSans-CondBold)
title="a Fonts subset at 32x32"
if [ $set_name = faces ]; then
  # The faces of configs/reference/faces-glasses-data.toml (glasses on half of them), read at 32x32: five
  # attributes a face shows at that size, each given a part of 8 of the 64 dimensions, and the rest (hair style,
  # mouth, face shape, ...: nothing labels them) to a rest part of 24.
  faces_dir=runs/reference/faces-glasses-data
  scripts/reference.sh faces-glasses-data --threads "${threads:-0}"
  title="faces at 32x32"
  attributes=(eyeglasses male smiling hair_colour skin_tone)
  partition=eyeglasses:8,male:8,smiling:8,hair_colour:8,skin_tone:8,rest:24
  data=(--data "faces:$faces_dir" --resize 32 --limit "$limit")
  if [ $quick = 2 ]; then
    [ -n "$ae" ] || ae=runs/reference/faces-diffae-flatten/release.pt
    probe_train=10000; probe_test=3000; cls_epochs=2
  elif [ $quick = 0 ]; then
    ae_net=(--z-dim 64 --widths 16,32,64,128 --block-depth 2 --embedding-dims 32 --batch 64 --encoder-head flatten)
  elif [ $quick = 3 ]; then
    partition=eyeglasses:2,male:2,smiling:2,hair_colour:2,skin_tone:2,rest:6  # --tiny's z_sem of 16
  else
    partition=eyeglasses:4,male:4,smiling:4,hair_colour:4,skin_tone:4,rest:12  # --quick's z_sem of 32
  fi
fi
feature_cls=${attributes[0]}

# A training run to `steps`: started, resumed when an earlier one stopped short, or kept.
steps_of() { ddim info "$1" --json | python3 scripts/ddim_tables.py field - meta.step; }
train() {  # dir, steps, command and options...
  local dir="$1" steps="$2"; shift 2
  if [ ! -e "$dir/model.pt" ]; then
    ddim "$@" --steps "$steps" --out "$dir"
  elif [ "$(steps_of "$dir/model.pt")" -lt "$steps" ]; then
    ddim "$1" --resume "$dir" --steps "$steps"
  fi
}
timed() {  # name, command...: runs it and records its wall time in $out/times.txt
  local name="$1" t0; shift
  t0=$(date +%s)
  "$@"
  echo "$name $(( $(date +%s) - t0 ))" >> "$out/times.txt"
}

# 1. The Diff-AE (quick widths, z_sem 64), the GAE post hoc (eq. 11), then fine-tuned (eq. 12).
if [ -z "$ae" ]; then
  ae="$out/diffae/model.pt"
  timed diffae train "$out/diffae" "$ae_steps" train "${data[@]}" --arch diffae "${ae_net[@]}" \
    --lr 0.001 --checkpoint-every 500 --log-every 100
fi
if [ -z "$gae" ]; then
  gae="$out/gae/model.pt"
  timed gae train "$out/gae" "$gae_steps" train-gae --model "$ae" "${data[@]}" --partition "$partition" \
    "${gae_net[@]}" --checkpoint-every 500 --log-every 100
fi
if [ -z "$ft" ] && [ $finetune = 1 ]; then
  ft="$out/gae-ft/model.pt"
  timed finetune train "$out/gae-ft" "$ft_steps" train-gae --model "$gae" --finetune "${data[@]}" \
    --checkpoint-every 50 --log-every 10
fi

# 2. A classifier per attribute, on real images.
for a in "${attributes[@]}"; do
  [ -e "$out/cls-$a/model.pt" ] || timed "cls-$a" ddim train-classifier "${data[@]}" --class-attribute "$a" \
    --epochs "$cls_epochs" --out "$out/cls-$a"
done
classifiers=()
for a in "${attributes[@]}"; do classifiers+=(--classifier "$a=$out/cls-$a/model.pt"); done

# 3. Table 1: linear probes (the Diff-AE's z_sem divided in the GAE's part sizes: a fair baseline).
models=(diffae gae)
[ $finetune = 0 ] || models+=(gae-ft)
path_of() { case "$1" in diffae) echo "$ae" ;; gae) echo "$gae" ;; gae-ft) echo "$ft" ;; esac; }
part_of() { [ "$1" = diffae ] && echo "--partition=$partition" || true; }
for m in "${models[@]}"; do
  [ -e "$out/dis-$m/disentanglement.json" ] || timed "dis-$m" ddim analyze disentanglement --model "$(path_of $m)" \
    $(part_of $m) --train-examples "$probe_train" --test-examples "$probe_test" --out "$out/dis-$m"
done

# 4. Table 2: reconstruction at T = 10, 20, 50 with the inferred and a random x_T, and the
# first attribute's classifier's feature distance between each reconstruction and its original.
for m in "${models[@]}"; do
  for t in 10 20 50; do
    for x in inferred random; do
      d="$out/rec-$m-$x-T$t"
      [ -e "$d/metrics.json" ] || timed "rec-$m-$x-T$t" ddim reconstruct --model "$(path_of $m)" --limit "$n_rec" \
        --steps "$t" $([ $x = random ] && echo --random-xt) --out "$d"
      [ -e "$d/eval/eval.json" ] || ddim eval --classifier "$out/cls-$feature_cls/model.pt" --reconstruction "$d" \
        --out "$d/eval"
    done
  done
done

# 4b. Table 2 by the paper's protocol: each test image decoded from the code reassembled from
# its group's parts (each attribute's part from another image with the same value).
for m in "${models[@]}"; do
  for x in inferred random; do
    d="$out/reasm-$m-$x"
    [ -e "$d/reassembly.json" ] || timed "reasm-$m-$x" ddim analyze reassembly --model "$(path_of $m)" $(part_of $m) \
      --groups "$n_rec" --steps 20 --classifier "$out/cls-$feature_cls/model.pt" $([ $x = random ] && echo --random-xt) \
      --out "$d"
  done
done

# 5. The attribute-swap success rate and the swap grids (sources 0-5, donors 6-11 of the test split).
for m in "${models[@]}"; do
  for x in inferred random; do
    d="$out/success-$m-$x"
    [ -e "$d/swap.json" ] || timed "success-$m-$x" ddim analyze swap --model "$(path_of $m)" $(part_of $m) \
      "${classifiers[@]}" --pairs "$pairs" --steps "$swap_steps" $([ $x = random ] && echo --random-xt) --out "$d"
    d="$out/grids-$m-$x"
    [ -e "$d/swap.json" ] || timed "grids-$m-$x" ddim swap --model "$(path_of $m)" $(part_of $m) \
      --from 0,1,2,3,4,5 --to 6,7,8,9,10,11 --attributes "$(IFS=,; echo "${attributes[*]}")" --steps "$grid_steps" \
      $([ $x = random ] && echo --random-xt) --out "$d"
  done
done

python3 scripts/ddim_tables.py diffusegae "$out" --size "$size" --set "$set_name" --seconds "$(( $(date +%s) - start ))" \
  --title "$title" --feature-classifier "$feature_cls" > "$out/tables.md"
cat "$out/tables.md"
