#!/usr/bin/env bash
# The seed paper's Table 1 (embedding networks) and Table 2 (dataset vs generated images) on
# Fashion-MNIST (or MNIST), plus rows for every other way ddim embeds: DDIM inversion,
# fixed-point inversion, and the U-Net embedder refined by gradient descent.
#
#   scripts/reproduce-table1.sh --quick                 # reduced: about 30 minutes on a 2-core CPU
#   scripts/reproduce-table1.sh                         # the full run (meant for a GPU)
#   scripts/reproduce-table1.sh --data mnist:DIR        # MNIST, compared with the paper's MNIST column
# Options: --out DIR (default runs/table1[-quick]), --denoiser MODEL.pt (reuse a denoiser).
# Finished pieces in DIR are reused, so an interrupted run continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
data="fashion-mnist"
out=""
denoiser=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --data) data="$2"; shift ;;
    --out) out="$2"; shift ;;
    --denoiser) denoiser="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "reproduce-table1: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || out="runs/table1$([ $quick = 1 ] && echo -quick)"
scripts/install-deps.sh >/dev/null
scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
ddim="${DDIM_BUILD_DIR:-build}/ddim"
mkdir -p "$out"
start=$(date +%s)

if [ $quick = 1 ]; then
  denoiser_args=(--config configs/quick.toml)
  embedder_args=(--batch 32 --steps 150 --lr 0.001 --log-every 50 --checkpoint-every 150)
  n_eval=500; n_refine=100; refine=50; n_generated=500
else
  config=configs/fashion-mnist.toml
  case "$data" in mnist*) config=configs/mnist.toml ;; esac
  denoiser_args=(--config "$config")
  embedder_args=(--batch 64 --epochs 20 --lr 0.0001 --log-every 500 --checkpoint-every 5000)
  n_eval=1000; n_refine=1000; refine=300; n_generated=1000
fi

# 1. The denoiser.
if [ -z "$denoiser" ]; then
  denoiser="$out/denoiser/model.pt"
  if [ ! -e "$denoiser" ]; then
    "$ddim" train "${denoiser_args[@]}" --data "$data" --out "$out/denoiser"
  fi
fi

# 2. The five embedding networks of Table 1.
archs=(conv1 conv3-16 conv3-64 conv5-128 unet)
for a in "${archs[@]}"; do
  if [ ! -e "$out/embedder-$a/model.pt" ]; then
    "$ddim" train-embedder --model "$denoiser" --arch "$a" "${embedder_args[@]}" --out "$out/embedder-$a"
  fi
done

# 3. Test MSE of every method, over the original pixels (padding cropped).
eval_run() {  # name, extra args...
  local name="$1"; shift
  [ -e "$out/eval-$name/metrics.json" ] || "$ddim" reconstruct --model "$denoiser" --split test "$@" --steps 10 \
    --out "$out/eval-$name"
}
for a in "${archs[@]}"; do eval_run "$a" --embedder "$out/embedder-$a/model.pt" --limit "$n_eval"; done
eval_run ddim --method ddim --limit "$n_eval"
eval_run fixed-point --method fixed-point --iters 3 --limit "$n_eval"
eval_run unet-refined --embedder "$out/embedder-unet/model.pt" --refine "$refine" --limit "$n_refine"

# 4. Table 2: dataset images against generated ones, through the U-Net embedder.
[ -e "$out/generated/samples.pt" ] || "$ddim" sample --model "$denoiser" --n "$n_generated" --out "$out/generated"
[ -e "$out/eval-generated/metrics.json" ] || "$ddim" reconstruct --model "$denoiser" \
  --embedder "$out/embedder-unet/model.pt" --tensor "$out/generated/samples.pt" --steps 10 --out "$out/eval-generated"

python3 - "$ddim" "$out" "$data" "$quick" "$(( $(date +%s) - start ))" "$n_eval" "$n_refine" "$refine" <<'PY'
import json, subprocess, sys
ddim, out, data, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
secs, n_eval, n_refine, refine = map(int, sys.argv[5:])
mnist = data.startswith("mnist")
# The paper's Table 1: parameter counts (of its CelebA instances) and MSE.
paper = {"conv1": (78, .00704, .0152), "conv3-16": (7233, .00271, .00523), "conv3-64": (105729, .00206, .00454),
         "conv5-128": (859009, .00121, .00172), "unet": (9577683, .000361, .000890)}
names = {"conv1": "1 conv 5x5", "conv3-16": "3 conv 5x5, 16-16-out", "conv3-64": "3 conv 5x5, 64-64-out",
         "conv5-128": "2 conv 5x5 + 3 conv 3x3, 128", "unet": "U-Net"}
def metrics(name):
    return json.load(open(f"{out}/eval-{name}/metrics.json"))
def parameters(model):
    r = subprocess.run([ddim, "info", model, "--json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["meta"]["parameters"]
col = "MNIST" if mnist else "Fashion-MNIST"
lines = [f"# Table 1 on {col}" + (" (REDUCED --quick run: short training, a test subset)" if quick else ""), ""]
lines.append(f"Test MSE over the original 28x28 pixels of {n_eval} test images (pixels in [0, 1]), S = 10 DDIM steps; "
             f"run time {secs // 60} min. Parameter counts: ours for this data; the paper's are of its CelebA instances.")
lines.append("")
lines.append(f"| method | parameters (ours) | parameters (paper) | MSE (ours) | MSE (paper, {col}) | PSNR | SSIM | seconds / image |")
lines.append("|---|---|---|---|---|---|---|---|")
for a in ["conv1", "conv3-16", "conv3-64", "conv5-128", "unet"]:
    m = metrics(a)
    p = paper[a]
    lines.append(f"| embedder: {names[a]} | {parameters(f'{out}/embedder-{a}/model.pt'):,} | {p[0]:,} | {m['mean']['mse']:.5f} | "
                 f"{p[1] if mnist else p[2]} | {m['mean']['psnr']:.2f} | {m['mean']['ssim']:.4f} | {m['seconds_per_image_embed']:.4f} |")
for name, label in [("ddim", "DDIM inversion"), ("fixed-point", "fixed-point inversion, K = 3")]:
    m = metrics(name)
    lines.append(f"| {label} | 0 | - | {m['mean']['mse']:.5f} | - | {m['mean']['psnr']:.2f} | {m['mean']['ssim']:.4f} | "
                 f"{m['seconds_per_image_embed']:.4f} |")
m = metrics("unet-refined")
lines.append(f"| U-Net embedder + {refine} gradient steps ({n_refine} images) | - | - | {m['mean']['mse']:.5f} | - | "
             f"{m['mean']['psnr']:.2f} | {m['mean']['ssim']:.4f} | {m['seconds_per_image_embed']:.4f} |")
lines += ["", "# Table 2: dataset against generated images (U-Net embedder)", "",
          "| source images | MSE (ours) | MSE (paper, CelebA) |", "|---|---|---|"]
lines.append(f"| dataset ({n_eval} test images) | {metrics('unet')['mean']['mse']:.5f} | 0.00147 |")
g = metrics("generated")
lines.append(f"| generated ({g['count']} samples) | {g['mean']['mse']:.5f} | 0.00074 |")
open(f"{out}/table1.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
