#!/usr/bin/env bash
# The README's main job on the embedded default data set (Fashion-MNIST from Debian's
# dataset-fashion-mnist): installs what is missing, builds, then trains a small denoiser
# (configs/quick.toml), samples it, embeds test images into seeds by DDIM inversion and by
# fixed-point inversion, reconstructs them, interpolates between two of them, scores its samples
# against the shipped reference model's (models/, the Fréchet distance on the shipped classifier), and writes
# the pictures and a summary into runs/main (or $1). Then the same on faces at 64x64: renders
# the faces set into the cache on first use (scripts/install-faces.sh installs its renderer),
# trains configs/faces-quick.toml, samples, reconstructs and interpolates faces. On a CUDA build
# it runs on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/main}"
scripts/install-deps.sh
scripts/install-faces.sh
scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
ddim="${DDIM_BUILD_DIR:-build}/ddim"
if [ -e "$out/model/model.pt" ]; then
  echo "main-job: $out already holds a run; remove it or give another directory" >&2
  exit 2
fi
mkdir -p "$out"
start=$(date +%s)
step() { echo; echo "== $*"; }

step "data: Fashion-MNIST"
"$ddim" data info --data fashion-mnist --split all | tee "$out/data-info.txt"
"$ddim" data grid --data fashion-mnist --n 64 --out "$out/data-grid.png"

step "schedules (paper Fig. 6-7)"
"$ddim" schedule --kind all --out "$out/schedules"

step "train a denoiser (configs/quick.toml)"
"$ddim" train --config configs/quick.toml --out "$out/model"

step "sample 64 images (S = 10)"
"$ddim" sample --model "$out/model/model.pt" --n 64 --steps 10 --trajectory --out "$out/samples"

step "reconstruct 200 test images by DDIM inversion and by fixed-point inversion (S = 10)"
"$ddim" reconstruct --model "$out/model/model.pt" --limit 200 --steps 10 --method ddim --out "$out/reconstruct-ddim"
"$ddim" reconstruct --model "$out/model/model.pt" --limit 200 --steps 10 --method fixed-point --iters 3 \
  --out "$out/reconstruct-fixed-point"

step "interpolate between two test images (paper Fig. 19)"
"$ddim" interpolate --model "$out/model/model.pt" --from 0 --to 2 --frames 9 --method fixed-point \
  --out "$out/interpolation.png"

step "sample quality on the shipped classifier's features: this run's quick model against the shipped reference model"
"$ddim" eval --classifier models/fashion-mnist-classifier.pt --model "$out/model/model.pt" --n 500 --out "$out/fd-quick"
"$ddim" eval --classifier models/fashion-mnist-classifier.pt --model models/fashion-mnist.pt --n 500 --out "$out/fd-shipped"
"$ddim" eval --classifier models/fashion-mnist-classifier.pt --real --n 500 --out "$out/fd-floor"

step "faces: the rendered set (cached on first use), a quick 64x64 denoiser, its samples, a reconstruction, Fig. 19"
"$ddim" data grid --data faces --n 64 --out "$out/faces-grid.png"
"$ddim" data counterfactuals --data faces --attribute eyeglasses --n 8 --out "$out/faces-glasses.png"
"$ddim" train --config configs/faces-quick.toml --out "$out/faces-model"
"$ddim" sample --model "$out/faces-model/model.pt" --n 64 --steps 20 --out "$out/faces-samples"
"$ddim" reconstruct --model "$out/faces-model/model.pt" --limit 64 --steps 20 --method fixed-point --iters 3 \
  --out "$out/faces-reconstruct"
"$ddim" interpolate --model "$out/faces-model/model.pt" --from 0 --to 3 --frames 9 --steps 20 --method fixed-point \
  --out "$out/faces-interpolation.png"

elapsed=$(( $(date +%s) - start ))
python3 - "$out" "$elapsed" <<'PY'
import json, sys
out, elapsed = sys.argv[1], int(sys.argv[2])
def mean(path):
    return json.load(open(f"{out}/{path}/metrics.json"))["mean"]
lines = ["# ddim main job", ""]
lines.append(f"Fashion-MNIST, trained with configs/quick.toml; total time {elapsed // 60} min {elapsed % 60} s.")
lines.append("")
lines.append("| picture | file |")
lines.append("|---|---|")
for what, f in [("training data", "data-grid.png"), ("schedules (Fig. 6)", "schedules/alpha.png"),
                ("noising (Fig. 7)", "schedules/noising.png"), ("samples", "samples/samples.png"),
                ("sampling trajectories", "samples/trajectory.png"),
                ("reconstruction, DDIM inversion (Fig. 3)", "reconstruct-ddim/reconstruction.png"),
                ("reconstruction, fixed-point inversion", "reconstruct-fixed-point/reconstruction.png"),
                ("interpolation (Fig. 19)", "interpolation.png"), ("faces", "faces-grid.png"),
                ("faces with and without glasses (counterfactuals)", "faces-glasses.png"),
                ("faces samples (configs/faces-quick.toml)", "faces-samples/samples.png"),
                ("faces reconstruction, fixed-point inversion", "faces-reconstruct/reconstruction.png"),
                ("faces interpolation (Fig. 19)", "faces-interpolation.png")]:
    lines.append(f"| {what} | {f} |")
lines += ["", "Reconstruction of test images (200 Fashion-MNIST at S = 10; pixels in [0, 1], padding cropped):", "",
          "| method | MSE | PSNR (dB) | SSIM |", "|---|---|---|---|"]
for name, path in [("DDIM inversion", "reconstruct-ddim"), ("fixed-point inversion (K = 3)", "reconstruct-fixed-point"),
                   ("faces 64x64, fixed-point inversion (K = 3, S = 20, 64 images)", "faces-reconstruct")]:
    m = mean(path)
    lines.append(f"| {name} | {m['mse']:.5f} | {m['psnr']:.2f} | {m['ssim']:.4f} |")
lines += ["", "Sample quality (500 samples, S = 10): the Fréchet distance on the shipped classifier's features "
          "(models/fashion-mnist-classifier.pt; not Inception FID):", "", "| images | FD |", "|---|---|"]
for name, path in [("this run's quick model", "fd-quick"), ("the shipped reference model (models/fashion-mnist.pt)",
                   "fd-shipped"), ("floor: 500 training images", "fd-floor")]:
    fd = json.load(open(f"{out}/{path}/eval.json"))["frechet_distance"]
    lines.append(f"| {name} | {fd:.2f} |")
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
