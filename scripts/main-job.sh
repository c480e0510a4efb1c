#!/usr/bin/env bash
# The README's main job, about 15 minutes on a 2-core CPU after the build:
#   scripts/main-job.sh [--train-faces] [--quick] [--ddim PATH] [OUT]
# Installs what is missing and builds (unless --ddim PATH or DDIM=PATH names a built ddim), then:
# Fashion-MNIST (the embedded default data set, Debian's dataset-fashion-mnist): trains a small denoiser
#   (configs/quick.toml, about 9 minutes), samples it, embeds test images into seeds by DDIM inversion and by
#   fixed-point inversion, reconstructs them, interpolates between two of them, and scores its samples against
#   the shipped reference model's (models/, the Fréchet distance on the shipped classifier's features).
# Faces at 64x64: renders the faces set into ddim's cache on first use (scripts/install-faces.sh installs its
#   renderer), then samples, reconstructs (fixed-point inversion, and the shipped U-Net embedder, which embeds
#   each face into its seed in one pass) and interpolates faces with the shipped models/faces.pt and
#   models/faces-embedder.pt.
# Writes the pictures and summary.md (scripts/ddim_tables.py main-job) into OUT (default runs/main).
#   --train-faces  trains its own faces denoiser instead (configs/faces-quick.toml, about 20 minutes more;
#                  at that length its samples are rough) and uses it for the faces
#   --quick        a smoke run of a minute: a few training steps, a few images, the Fréchet distances against
#                  64 test images (the ctest test)
#   --ddim PATH    this built ddim; nothing is installed or built
# DDIM_THREADS=N runs every command on N threads. On a CUDA build it runs on the GPU.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"
out=""
quick=0
train_faces=0
while [ $# -gt 0 ]; do
  case "$1" in
    --train-faces) train_faces=1 ;;
    --quick) quick=1 ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$out" ] || die "one OUT, not '$out' and '$1' (see --help)"; out="$1" ;;
  esac
  shift
done
out="${out:-runs/main}"
if [ -z "${DDIM:-}" ]; then
  scripts/install-deps.sh
  scripts/install-faces.sh
fi
use_ddim
[ -d tools/faces/node_modules ] || scripts/install-faces.sh
if [ -e "$out/model/model.pt" ]; then
  die "$out already holds a run; remove it or give another directory"
fi
# Sizes: the job's, or --quick's (every command once, on a few images).
if [ "$quick" = 1 ]; then
  train=(--steps 2 --checkpoint-every 2 --log-every 1 --preview-samples 4 --preview-steps 2)
  reference=(--limit 64)
  n_grid=4; n_samples=4; n_rec=4; n_fd=16; n_faces=2; frames=3; s=2; s_faces=2
else
  train=()
  reference=()
  n_grid=64; n_samples=64; n_rec=200; n_fd=500; n_faces=64; frames=9; s=10; s_faces=20
fi
mkdir -p "$out"
start=$(date +%s)
step() { echo; echo "== $*"; }

step "data: Fashion-MNIST"
ddim data info --data fashion-mnist --split all | tee "$out/data-info.txt"
ddim data grid --data fashion-mnist --n "$n_grid" --out "$out/data-grid.png"

step "schedules (paper Fig. 6-7)"
ddim schedule --kind all --out "$out/schedules"

step "train a denoiser (configs/quick.toml)"
ddim train --config configs/quick.toml "${train[@]}" --out "$out/model"

step "sample $n_samples images (S = $s)"
ddim sample --model "$out/model/model.pt" --n "$n_samples" --steps "$s" --trajectory --out "$out/samples"

step "reconstruct $n_rec test images by DDIM inversion and by fixed-point inversion (S = $s)"
ddim reconstruct --model "$out/model/model.pt" --limit "$n_rec" --steps "$s" --method ddim --out "$out/reconstruct-ddim"
ddim reconstruct --model "$out/model/model.pt" --limit "$n_rec" --steps "$s" --method fixed-point --iters 3 \
  --out "$out/reconstruct-fixed-point"

step "interpolate between two test images (paper Fig. 19)"
ddim interpolate --model "$out/model/model.pt" --from 0 --to 2 --frames "$frames" --steps "$s" --method fixed-point \
  --out "$out/interpolation.png"

step "sample quality on the shipped classifier's features: this run's quick model against the shipped reference model"
eval=(ddim eval --classifier models/fashion-mnist-classifier.pt "${reference[@]}")
"${eval[@]}" --model "$out/model/model.pt" --n "$n_fd" --steps "$s" --out "$out/fd-quick"
"${eval[@]}" --model models/fashion-mnist.pt --n "$n_fd" --steps "$s" --out "$out/fd-shipped"
"${eval[@]}" --real --n "$n_fd" --out "$out/fd-floor"

step "faces: the rendered set (cached on first use) and its counterfactuals"
ddim data grid --data faces --n "$n_grid" --out "$out/faces-grid.png"
ddim data counterfactuals --data faces --attribute eyeglasses --n "$(( n_grid / 8 > 2 ? n_grid / 8 : 2 ))" \
  --out "$out/faces-glasses.png"
faces=models/faces.pt
embedder=(--faces-embedder models/faces-embedder.pt)
if [ "$train_faces" = 1 ]; then
  step "faces: train a quick 64x64 denoiser (configs/faces-quick.toml)"
  ddim train --config configs/faces-quick.toml "${train[@]}" --out "$out/faces-model"
  faces="$out/faces-model/model.pt"
  embedder=()
fi

step "faces ($faces): samples, a reconstruction by fixed-point inversion, Fig. 19"
ddim sample --model "$faces" --n "$n_samples" --steps "$s_faces" --out "$out/faces-samples"
ddim reconstruct --model "$faces" --limit "$n_faces" --steps "$s_faces" --method fixed-point --iters 3 \
  --out "$out/faces-reconstruct"
if [ ${#embedder[@]} -gt 0 ]; then
  step "faces embedded into their seeds by the shipped U-Net embedder (models/faces-embedder.pt, Fig. 16) and generated back"
  ddim reconstruct --model "$faces" --embedder models/faces-embedder.pt --limit "$n_faces" \
    --out "$out/faces-reconstruct-embedder"
fi
ddim interpolate --model "$faces" --from 0 --to 3 --frames "$frames" --steps "$s_faces" --method fixed-point \
  --out "$out/faces-interpolation.png"

faces_label=$([ "$train_faces" = 1 ] && echo configs/faces-quick.toml || echo models/faces.pt)
python3 scripts/ddim_tables.py main-job "$out" --seconds "$(( $(date +%s) - start ))" --images "$n_rec" \
  --steps "$s" --samples "$n_fd" --faces "$n_faces" --faces-steps "$s_faces" --faces-model "$faces_label" "${embedder[@]}" > "$out/summary.md"
cat "$out/summary.md"
