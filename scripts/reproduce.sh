#!/usr/bin/env bash
# The tables and pictures of the reference runs (scripts/reference.sh) from the weights that ship
# in models/ (models/README.md), with no training: fashion-mnist alone took 21.5 minutes on a 2-core CPU, diffae-faces
# 28 minutes at --n 400 on one thread (a smaller --n is shorter); diffusegae-fonts trains its five attribute
# classifiers (8 epochs each, about 4 minutes on one thread) and ignores --n, as diffusegae-faces does (2 epochs
# each, 27 minutes for the five on one thread); faces-glasses edits 32 faces per 1,000 of --n (32 at the default:
# about 12 minutes on one thread).
#   scripts/reproduce.sh [NAME ...]     # NAME: fashion-mnist, embedding, independence, faces, diffae-faces,
#                                       # diffusegae-fonts, diffusegae-faces, faces-glasses (default: all)
# Options: --out DIR (default runs/reproduce), --n N (images per measure, default 1000; faces use N/5;
# pictures show at most 64), --limit N (the Fréchet distances' reference: the first N test images, default all),
# --ddim PATH (this built ddim, or DDIM=PATH; else what is missing is installed and build/ddim built).
# Writes DIR/NAME/ (each command's own output) and DIR/NAME/summary.md, the README's tables
# (scripts/ddim_tables.py). DDIM_THREADS=N runs every command on N threads (default: all the CPUs).
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
out="runs/reproduce"
n=1000
limit=()
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --n) n="$2"; shift ;;
    --limit) limit=(--limit "$2"); shift ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) names+=("$1") ;;
  esac
  shift
done
[ ${#names[@]} -gt 0 ] || names=(fashion-mnist embedding independence faces diffae-faces diffusegae-fonts diffusegae-faces faces-glasses)
for name in "${names[@]}"; do
  case "$name" in
    fashion-mnist|embedding|independence|faces|diffae-faces|diffusegae-fonts|diffusegae-faces|faces-glasses) ;;
    *) die "no shipped model named $name (see models/README.md)" ;;
  esac
done
use_ddim
ns=$(( n < 64 ? n : 64 ))  # images in a picture
tables() { python3 scripts/ddim_tables.py "$@"; }
step() { echo; echo "== $*"; }

fashion_mnist() {
  local m=models/fashion-mnist.pt c=models/fashion-mnist-classifier.pt o="$out/fashion-mnist"
  mkdir -p "$o"
  local start; start=$(date +%s)
  ddim info "$m" > "$o/info.txt"
  step "samples (S = 10) and the Fréchet distance on the shipped classifier's features, with the real-data floor"
  ddim sample --model "$m" --n "$ns" --steps 10 --out "$o/samples"
  ddim eval --classifier "$c" "${limit[@]}" --model "$m" --n "$n" --steps 10 --out "$o/fd-samples-s10"
  ddim eval --classifier "$c" "${limit[@]}" --model "$m" --n "$n" --steps 50 --out "$o/fd-samples-s50"
  ddim eval --classifier "$c" "${limit[@]}" --real --n "$n" --out "$o/fd-floor"
  step "reconstruction of test images: DDIM inversion and fixed-point inversion (S = 10)"
  ddim reconstruct --model "$m" --limit "$n" --steps 10 --method ddim --out "$o/reconstruct-ddim"
  ddim reconstruct --model "$m" --limit "$n" --steps 10 --method fixed-point --iters 3 --out "$o/reconstruct-fixed-point"
  step "interpolation between two test images through their seeds (Fig. 19)"
  ddim interpolate --model "$m" --from 0 --to 2 --frames 9 --method fixed-point --out "$o/interpolation.png"
  step "inversion statistics (There and back again, Tables 1-2)"
  ddim analyze inversion --model "$m" --n "$(( n < 500 ? n : 500 ))" --steps 10,50 --out "$o/inversion"
  tables fashion-mnist "$o" --seconds "$(( $(date +%s) - start ))" > "$o/summary.md"
  cat "$o/summary.md"
}

# The best embedding of Fashion-MNIST test images that ddim reaches without training an embedder (Table 1's
# aim, 0.0005): fixed-point inversion at more steps, and gradient refinement of its seeds (Fig. 18).
embedding() {
  local m=models/fashion-mnist.pt o="$out/embedding"
  local nb=$(( n / 5 < 1 ? 1 : n / 5 )) nr=$(( n / 50 < 1 ? 1 : n / 50 ))
  mkdir -p "$o"
  local s
  for s in 10 20 50 100; do
    step "fixed-point inversion (K = 3) of $nb test images at S = $s"
    ddim reconstruct --model "$m" --limit "$nb" --steps "$s" --method fixed-point --iters 3 --out "$o/fixed-point-s$s"
  done
  step "fixed-point inversion at S = 10 refined by 100 gradient steps, $nr test images"
  ddim reconstruct --model "$m" --limit "$nr" --steps 10 --method fixed-point --iters 3 --refine 100 \
    --out "$o/refined-100"
  tables embedding "$o" --images "$nb" --refined "$nr" > "$o/summary.md"
  cat "$o/summary.md"
}

# Seed paper Fig. 10: the same seeds through the two differently built Fashion-MNIST models.
independence() {
  local o="$out/independence"
  mkdir -p "$o"
  step "model independence: the same seeds through models/fashion-mnist.pt and models/fashion-mnist-3level.pt"
  ddim analyze independence --model models/fashion-mnist.pt --model models/fashion-mnist-3level.pt --n "$n" \
    --steps 10 --out "$o"
  tables independence "$o" > "$o/summary.md"
  cat "$o/summary.md"
}

# The seed paper's face experiments on the rendered faces (Table 2, Fig. 16-19), from models/faces.pt.
faces() {
  local m=models/faces.pt o="$out/faces"
  local nf=$(( n / 5 < 1 ? 1 : n / 5 )) nr=16
  mkdir -p "$o"
  local start; start=$(date +%s)
  # The model's data is `--data faces`, the default set in ddim's cache, rendered there on first use (44 s).
  [ -d tools/faces/node_modules ] || scripts/install-faces.sh >/dev/null
  ddim info "$m" > "$o/info.txt"
  step "samples (S = 10 and 50) and $nf generated faces to embed"
  ddim sample --model "$m" --n "$ns" --steps 10 --out "$o/samples"
  ddim sample --model "$m" --n "$ns" --steps 50 --out "$o/samples-s50"
  ddim sample --model "$m" --n "$nf" --steps 10 --seed 7 --out "$o/generated"
  step "Table 2: data-set faces against generated faces, by DDIM and fixed-point inversion (S = 10)"
  ddim reconstruct --model "$m" --limit "$nf" --method ddim --out "$o/dataset-ddim"
  ddim reconstruct --model "$m" --limit "$nf" --method fixed-point --iters 3 --out "$o/dataset-fixed-point"
  ddim reconstruct --model "$m" --tensor "$o/generated/samples.pt" --method ddim --out "$o/generated-ddim"
  ddim reconstruct --model "$m" --tensor "$o/generated/samples.pt" --method fixed-point --iters 3 \
    --out "$o/generated-fixed-point"
  step "Table 2 through the U-Net embedder (models/faces-embedder.pt; Fig. 16), and its refinement (Fig. 18)"
  local e=models/faces-embedder.pt
  ddim reconstruct --model "$m" --embedder "$e" --limit "$nf" --out "$o/dataset-embedder"
  ddim reconstruct --model "$m" --embedder "$e" --tensor "$o/generated/samples.pt" --out "$o/generated-embedder"
  ddim reconstruct --model "$m" --embedder "$e" --limit "$nr" --refine 50 --out "$o/dataset-embedder-refined"
  step "gradient refinement of the fixed-point seeds of $nr data-set faces (Fig. 18)"
  ddim reconstruct --model "$m" --limit "$nr" --method fixed-point --iters 3 --refine 50 \
    --out "$o/dataset-refined"
  step "interpolation between two test faces through their seeds (Fig. 19)"
  ddim interpolate --model "$m" --from 0 --to 3 --frames 9 --method fixed-point --out "$o/interpolation.png"
  tables faces "$o" --seconds "$(( $(date +%s) - start ))" --images "$nf" --refined "$nr" > "$o/summary.md"
  cat "$o/summary.md"
}

# Diff-AE on the rendered faces (Preechakul et al. 2022, Tables 1-2, Fig. 5, Fig. 7) from models/faces-diffae.pt
# against the plain DDIM of the same widths, steps and batch (models/faces.pt), models/faces-diffae-latent.pt for
# unconditional samples.
diffae_faces() {
  local m=models/faces.pt ae=models/faces-diffae.pt o="$out/diffae-faces"
  local nd=$(( n / 10 < 1 ? 1 : n / 10 )) nm=$(( n / 50 < 4 ? 4 : n / 50 ))
  mkdir -p "$o"
  local start; start=$(date +%s)
  [ -d tools/faces/node_modules ] || scripts/install-faces.sh >/dev/null
  ddim info "$ae" > "$o/info.txt"
  local t
  for t in 10 20 50 100; do
    step "reconstruction of $nd test faces at T = $t: DDIM inversion, Diff-AE with the inferred and a random x_T"
    ddim reconstruct --model "$m" --limit "$nd" --steps "$t" --method ddim --out "$o/ddim-T$t"
    ddim reconstruct --model "$ae" --limit "$nd" --steps "$t" --out "$o/diffae-T$t"
    ddim reconstruct --model "$ae" --limit "$nd" --steps "$t" --random-xt --out "$o/diffae-random-T$t"
  done
  step "manipulation of $nm faces along eyeglasses, male and a hair colour, scored against the rendered truth (Fig. 5)"
  ddim manipulate --model "$ae" --class-attribute eyeglasses --attribute class:yes --where eyeglasses=no \
    --limit "$nm" --scales 0,1,2,3,4,6 --train-examples 4000 --out "$o/manipulate-eyeglasses"
  ddim manipulate --model "$ae" --class-attribute male --attribute class:yes --where male=no \
    --limit "$nm" --scales 0,1,2,3,4,6 --train-examples 4000 --out "$o/manipulate-male"
  ddim manipulate --model "$ae" --class-attribute hair_colour --attribute class:golden_blond \
    --where hair_colour=black --limit "$nm" --scales 0,1,2,3,4,6 --train-examples 4000 --out "$o/manipulate-blond"
  step "unconditional samples through the latent DDIM over z_sem (Fig. 7)"
  ddim sample --model "$ae" --latent models/faces-diffae-latent.pt --n "$ns" --steps 20 --out "$o/samples"
  tables diffae-faces "$o" --seconds "$(( $(date +%s) - start ))" --images "$nd" --manipulated "$nm" \
    > "$o/summary.md"
  cat "$o/summary.md"
}

# DiffuseGAE on the Fonts subset (Leng et al. 2023, Tables 1-2, swaps) from models/fonts-diffae.pt, -gae.pt and
# -gae-ft.pt: every evaluation of scripts/diffusegae-tables.sh --cpu, which writes tables.md.
diffusegae_fonts() {
  local o="$out/diffusegae-fonts"
  scripts/diffusegae-tables.sh --cpu ${DDIM_THREADS:+--threads "$DDIM_THREADS"} \
    --diffae models/fonts-diffae.pt --gae models/fonts-gae.pt --gae-ft models/fonts-gae-ft.pt --out "$o"
  cp "$o/tables.md" "$o/summary.md"
}

# DiffuseGAE on faces (Leng et al. 2023, Tables 1-2, swaps) from models/faces-gae.pt, the post hoc GAE, and the
# Diff-AE it carries (exported from it bit for bit: `export --autoencoder`); the fine-tuned GAE does not ship, so
# its rows (docs/results/diffusegae-faces/tables.md) are left out. Trains the five attribute classifiers (2
# epochs each, about 4 minutes on one thread) and ignores --n.
diffusegae_faces() {
  local o="$out/diffusegae-faces"
  mkdir -p "$o"
  [ -f "$o/diffae.pt" ] || ddim export --model models/faces-gae.pt --autoencoder --release --storage fp16 \
    --out "$o/diffae.pt"
  scripts/diffusegae-tables.sh --faces --cpu --no-finetune ${DDIM_THREADS:+--threads "$DDIM_THREADS"} \
    --diffae "$o/diffae.pt" --gae models/faces-gae.pt --out "$o"
  cp "$o/tables.md" "$o/summary.md"
}

# Direct Inversion on faces (issue 27, experiment 3): glasses added and removed by models/faces-glasses.pt,
# scored by models/faces-glasses-classifier.pt and against the true edits (the faces rendered with the glasses
# changed): scripts/direct-inversion-study.sh's tradeoff (Direct Inversion over λ both ways of injecting,
# inversion + guidance, SDEdit over t0 with 2 seeds) and its picture, 20 inversion and inference steps.
faces_glasses() {
  local o="$out/faces-glasses"
  local ni=$(( n * 32 / 1000 < 4 ? 4 : n * 32 / 1000 ))
  scripts/reference.sh faces-glasses-data --threads "${DDIM_THREADS:-0}"
  scripts/direct-inversion-study.sh --quick \
    --model models/faces-glasses.pt --classifier models/faces-glasses-classifier.pt --targets no,yes \
    --images "$ni" --steps 20 --seeds 2 --invert-under null --parts tradeoff,picture --out "$o"
  cp "$o/table.md" "$o/summary.md"
}

mkdir -p "$out"
for name in "${names[@]}"; do
  case "$name" in
    fashion-mnist) fashion_mnist ;;
    embedding) embedding ;;
    independence) independence ;;
    faces) faces ;;
    diffae-faces) diffae_faces ;;
    diffusegae-fonts) diffusegae_fonts ;;
    diffusegae-faces) diffusegae_faces ;;
    faces-glasses) faces_glasses ;;
  esac
done
