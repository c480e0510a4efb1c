#!/usr/bin/env bash
# The tables and pictures of the reference runs (scripts/reference/) from the weights that ship
# in models/ (models/README.md), with no training: fashion-mnist alone took 21.5 minutes on a 2-core CPU, diffae-faces
# 28 minutes at --n 400 on one thread (a smaller --n is shorter); diffusegae-fonts trains its five attribute
# classifiers (8 epochs each, about 4 minutes on one thread) and ignores --n, as diffusegae-faces does (2 epochs
# each, 27 minutes for the five on one thread); faces-glasses edits 32 faces per 1,000 of --n (32 at the default:
# about 12 minutes on one thread).
#   scripts/reproduce.sh [NAME ...]     # NAME: fashion-mnist, embedding, independence, faces, diffae-faces,
#                                       # diffusegae-fonts, diffusegae-faces, faces-glasses (default: all)
# Options: --out DIR (default runs/reproduce), --n N (images per measure, default 1000; faces use N/5).
# Writes DIR/NAME/ (each command's own output) and DIR/NAME/summary.md, the README's tables.
# DDIM_THREADS=N runs every command on N threads (default: all the CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
out="runs/reproduce"
n=1000
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --n) n="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "reproduce: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) names+=("$1") ;;
  esac
  shift
done
[ ${#names[@]} -gt 0 ] || names=(fashion-mnist embedding independence faces diffae-faces diffusegae-fonts diffusegae-faces faces-glasses)
ddim=("${DDIM_BUILD_DIR:-build}/ddim")
if [ ! -x "${ddim[0]}" ]; then
  scripts/install-deps.sh >/dev/null
  scripts/build.sh -DDDIM_BUILD_TESTS=OFF >/dev/null
fi
[ -n "${DDIM_THREADS:-}" ] && ddim+=(--threads "$DDIM_THREADS")
step() { echo; echo "== $*"; }

fashion_mnist() {
  local m=models/fashion-mnist.pt c=models/fashion-mnist-classifier.pt o="$out/fashion-mnist"
  mkdir -p "$o"
  local start; start=$(date +%s)
  "${ddim[@]}" info "$m" > "$o/info.txt"
  step "samples (S = 10) and the Fréchet distance on the shipped classifier's features, with the real-data floor"
  "${ddim[@]}" sample --model "$m" --n 64 --steps 10 --out "$o/samples"
  "${ddim[@]}" eval --classifier "$c" --model "$m" --n "$n" --steps 10 --out "$o/fd-samples-s10"
  "${ddim[@]}" eval --classifier "$c" --model "$m" --n "$n" --steps 50 --out "$o/fd-samples-s50"
  "${ddim[@]}" eval --classifier "$c" --real --n "$n" --out "$o/fd-floor"
  step "reconstruction of test images: DDIM inversion and fixed-point inversion (S = 10)"
  "${ddim[@]}" reconstruct --model "$m" --limit "$n" --steps 10 --method ddim --out "$o/reconstruct-ddim"
  "${ddim[@]}" reconstruct --model "$m" --limit "$n" --steps 10 --method fixed-point --iters 3 --out "$o/reconstruct-fixed-point"
  step "interpolation between two test images through their seeds (Fig. 19)"
  "${ddim[@]}" interpolate --model "$m" --from 0 --to 2 --frames 9 --method fixed-point --out "$o/interpolation.png"
  step "inversion statistics (There and back again, Tables 1-2)"
  "${ddim[@]}" analyze inversion --model "$m" --n "$(( n < 500 ? n : 500 ))" --steps 10,50 --out "$o/inversion"
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

# The best embedding of Fashion-MNIST test images that ddim reaches without training an embedder (Table 1's
# aim, 0.0005): fixed-point inversion at more steps, and gradient refinement of its seeds (Fig. 18).
embedding() {
  local m=models/fashion-mnist.pt o="$out/embedding"
  local nb=$(( n / 5 < 1 ? 1 : n / 5 )) nr=$(( n / 50 < 1 ? 1 : n / 50 ))
  mkdir -p "$o"
  local s
  for s in 10 20 50 100; do
    step "fixed-point inversion (K = 3) of $nb test images at S = $s"
    "${ddim[@]}" reconstruct --model "$m" --limit "$nb" --steps "$s" --method fixed-point --iters 3 --out "$o/fixed-point-s$s"
  done
  step "fixed-point inversion at S = 10 refined by 100 gradient steps, $nr test images"
  "${ddim[@]}" reconstruct --model "$m" --limit "$nr" --steps 10 --method fixed-point --iters 3 --refine 100 \
    --out "$o/refined-100"
  python3 - "$o" "$nb" "$nr" <<'PY'
import json, sys
o, nb, nr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def m(name): return json.load(open(f"{o}/{name}/metrics.json"))
lines = ["# Embedding Fashion-MNIST test images without an embedder (models/fashion-mnist.pt)", "",
         "MSE over the original 28x28 pixels in [0, 1]; the paper's best (U-Net embedder, S = 10): 0.000890.", "",
         "| method | S | images | MSE | PSNR | SSIM | seconds / image |", "|---|---|---|---|---|---|---|"]
for s in (10, 20, 50, 100):
    r = m(f"fixed-point-s{s}")
    lines.append(f"| fixed-point inversion, K = 3 | {s} | {nb} | {r['mean']['mse']:.6f} | {r['mean']['psnr']:.2f} | "
                 f"{r['mean']['ssim']:.4f} | {r['seconds_per_image_embed']:.4f} |")
b = m("refined-100")
lines.append(f"| fixed-point inversion, K = 3 (the {nr} images below) | 10 | {nr} | {b['before_refinement']['mse']:.6f} | "
             f"{b['before_refinement']['psnr']:.2f} | {b['before_refinement']['ssim']:.4f} | {b['seconds_per_image_embed']:.4f} |")
for k in (100,):
    r = m(f"refined-{k}")
    lines.append(f"| + {k} gradient steps (Adam 1e-2, Fig. 18) | 10 | {nr} | {r['mean']['mse']:.6f} | {r['mean']['psnr']:.2f} | "
                 f"{r['mean']['ssim']:.4f} | {r['seconds_per_image_embed'] + r['seconds_per_image_refine']:.4f} |")
open(f"{o}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
}

# Seed paper Fig. 10: the same seeds through the two differently built Fashion-MNIST models.
independence() {
  local o="$out/independence"
  mkdir -p "$o"
  step "model independence: the same seeds through models/fashion-mnist.pt and models/fashion-mnist-3level.pt"
  "${ddim[@]}" analyze independence --model models/fashion-mnist.pt --model models/fashion-mnist-3level.pt --n "$n" \
    --steps 10 --out "$o"
  python3 - "$o" <<'PY'
import json, sys
o = sys.argv[1]
j = json.load(open(f"{o}/independence.json"))
lines = ["# Model independence (seed paper Fig. 10)", "", "| measure | value |", "|---|---|"]
lines += [f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in j.items()
          if not isinstance(v, (list, dict))]
open(f"{o}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
}

# The seed paper's face experiments on the rendered faces (Table 2, Fig. 16-19), from models/faces.pt.
faces() {
  local m=models/faces.pt o="$out/faces"
  local nf=$(( n / 5 < 1 ? 1 : n / 5 )) nr=16
  mkdir -p "$o"
  local start; start=$(date +%s)
  # The model's data is `--data faces`, the default set in ddim's cache, rendered there on first use (44 s).
  [ -d tools/faces/node_modules ] || scripts/install-faces.sh >/dev/null
  "${ddim[@]}" info "$m" > "$o/info.txt"
  step "samples (S = 10 and 50) and $nf generated faces to embed"
  "${ddim[@]}" sample --model "$m" --n 64 --steps 10 --out "$o/samples"
  "${ddim[@]}" sample --model "$m" --n 64 --steps 50 --out "$o/samples-s50"
  "${ddim[@]}" sample --model "$m" --n "$nf" --steps 10 --seed 7 --out "$o/generated"
  step "Table 2: data-set faces against generated faces, by DDIM and fixed-point inversion (S = 10)"
  "${ddim[@]}" reconstruct --model "$m" --limit "$nf" --method ddim --out "$o/dataset-ddim"
  "${ddim[@]}" reconstruct --model "$m" --limit "$nf" --method fixed-point --iters 3 --out "$o/dataset-fixed-point"
  "${ddim[@]}" reconstruct --model "$m" --tensor "$o/generated/samples.pt" --method ddim --out "$o/generated-ddim"
  "${ddim[@]}" reconstruct --model "$m" --tensor "$o/generated/samples.pt" --method fixed-point --iters 3 \
    --out "$o/generated-fixed-point"
  step "Table 2 through the U-Net embedder (models/faces-embedder.pt; Fig. 16), and its refinement (Fig. 18)"
  local e=models/faces-embedder.pt
  "${ddim[@]}" reconstruct --model "$m" --embedder "$e" --limit "$nf" --out "$o/dataset-embedder"
  "${ddim[@]}" reconstruct --model "$m" --embedder "$e" --tensor "$o/generated/samples.pt" --out "$o/generated-embedder"
  "${ddim[@]}" reconstruct --model "$m" --embedder "$e" --limit "$nr" --refine 50 --out "$o/dataset-embedder-refined"
  step "gradient refinement of the fixed-point seeds of $nr data-set faces (Fig. 18)"
  "${ddim[@]}" reconstruct --model "$m" --limit "$nr" --method fixed-point --iters 3 --refine 50 \
    --out "$o/dataset-refined"
  step "interpolation between two test faces through their seeds (Fig. 19)"
  "${ddim[@]}" interpolate --model "$m" --from 0 --to 3 --frames 9 --method fixed-point --out "$o/interpolation.png"
  python3 - "$o" "$(( $(date +%s) - start ))" "$nf" "$nr" <<'PY'
import json, sys
o, seconds, nf, nr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def m(name): return json.load(open(f"{o}/{name}/metrics.json"))
lines = [f"# faces (models/faces.pt): reproduced in {seconds} s", "",
         f"Reconstruction MSE over [0, 1] pixels, S = 10; {nf} test faces, {nf} generated faces (seed 7).", "",
         "| embedding | data-set faces | generated faces | SSIM data-set | SSIM generated | seconds / image (data-set) |",
         "|---|---|---|---|---|---|"]
for k, label in [("embedder", "U-Net embedder (faces-embedder.pt)"), ("ddim", "DDIM inversion"),
                 ("fixed-point", "fixed-point inversion, K = 3")]:
    d, g = m(f"dataset-{k}"), m(f"generated-{k}")
    lines.append(f"| {label} | {d['mean']['mse']:.5f} | {g['mean']['mse']:.5f} | {d['mean']['ssim']:.4f} | "
                 f"{g['mean']['ssim']:.4f} | {d['seconds_per_image_embed']:.3f} |")
lines += ["", f"| {nr} data-set faces | MSE | SSIM | seconds / image |", "|---|---|---|---|"]
for k, label in [("dataset-embedder-refined", "U-Net embedder"), ("dataset-refined", "fixed-point inversion")]:
    r = m(k)
    lines += [f"| {label} | {r['before_refinement']['mse']:.5f} | {r['before_refinement']['ssim']:.4f} | "
              f"{r['seconds_per_image_embed']:.3f} |",
              f"| + 50 gradient steps | {r['mean']['mse']:.5f} | {r['mean']['ssim']:.4f} | "
              f"{r['seconds_per_image_embed'] + r['seconds_per_image_refine']:.3f} |"]
lines += [
          "", "The seed paper (CelebA 64x64, U-Net embedder): data-set 0.00147, generated 0.00074, refined 0.00058."]
open(f"{o}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
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
  "${ddim[@]}" info "$ae" > "$o/info.txt"
  local t
  for t in 10 20 50 100; do
    step "reconstruction of $nd test faces at T = $t: DDIM inversion, Diff-AE with the inferred and a random x_T"
    "${ddim[@]}" reconstruct --model "$m" --limit "$nd" --steps "$t" --method ddim --out "$o/ddim-T$t"
    "${ddim[@]}" reconstruct --model "$ae" --limit "$nd" --steps "$t" --out "$o/diffae-T$t"
    "${ddim[@]}" reconstruct --model "$ae" --limit "$nd" --steps "$t" --random-xt --out "$o/diffae-random-T$t"
  done
  step "manipulation of $nm faces along eyeglasses, male and a hair colour, scored against the rendered truth (Fig. 5)"
  "${ddim[@]}" manipulate --model "$ae" --class-attribute eyeglasses --attribute class:yes --where eyeglasses=no \
    --limit "$nm" --scales 0,1,2,3,4,6 --train-examples 4000 --out "$o/manipulate-eyeglasses"
  "${ddim[@]}" manipulate --model "$ae" --class-attribute male --attribute class:yes --where male=no \
    --limit "$nm" --scales 0,1,2,3,4,6 --train-examples 4000 --out "$o/manipulate-male"
  "${ddim[@]}" manipulate --model "$ae" --class-attribute hair_colour --attribute class:golden_blond \
    --where hair_colour=black --limit "$nm" --scales 0,1,2,3,4,6 --train-examples 4000 --out "$o/manipulate-blond"
  step "unconditional samples through the latent DDIM over z_sem (Fig. 7)"
  "${ddim[@]}" sample --model "$ae" --latent models/faces-diffae-latent.pt --n 64 --steps 20 --out "$o/samples"
  python3 - "$o" "$(( $(date +%s) - start ))" "$nd" "$nm" <<'PY'
import json, sys
o, seconds, nd, nm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def m(name): return json.load(open(f"{o}/{name}/metrics.json"))["mean"]
ts = [10, 20, 50, 100]
lines = [f"# Diff-AE on faces (models/faces-diffae.pt against models/faces.pt): reproduced in {seconds} s", "",
         f"Reconstruction of {nd} test faces, pixels in [0, 1].", "",
         "| model | " + " | ".join(f"SSIM T={t}" for t in ts) + " | " + " | ".join(f"MSE T={t}" for t in ts) + " |",
         "|---|" + "---|" * (2 * len(ts))]
for k, label in [("ddim", "DDIM (inversion), models/faces.pt"), ("diffae", "Diff-AE, inferred x_T"),
                 ("diffae-random", "Diff-AE, random x_T")]:
    lines.append(f"| {label} | " + " | ".join(f"{m(f'{k}-T{t}')['ssim']:.4f}" for t in ts) + " | "
                 + " | ".join(f"{m(f'{k}-T{t}')['mse']:.5f}" for t in ts) + " |")
a, b = m("diffae-T20")["ssim"], m("ddim-T100")["ssim"]
lines += ["", f"Diff-AE at T = 20 (SSIM {a:.4f}) {'beats' if a > b else 'does not beat'} DDIM at T = 100 ({b:.4f}); "
              "the paper (FFHQ 128): 0.927 against 0.917.", "",
          f"Manipulation of {nm} test faces without the attribute: the linear classifier's P(attribute) of the "
          "re-encoded result, and its MSE to the same face rendered with the attribute (scale 0: the reconstruction).", ""]
for k in ("eyeglasses", "male", "blond"):
    j = json.load(open(f"{o}/manipulate-{k}/manipulate.json"))
    c = j["classifier"]
    lines += [f"| {j['class_attribute']} = {j['attribute_name']} (AUROC {c['auroc']:.3f}) | "
              + " | ".join(f"{s['scale']:+g}" for s in j["scales"]) + " |",
              "|---|" + "---|" * len(j["scales"]),
              "| P(attribute) | " + " | ".join(f"{s['probability']:.3f}" for s in j["scales"]) + " |",
              "| MSE to the truth | " + " | ".join(f"{s['truth_mse']:.5f}" for s in j["scales"]) + " |", ""]
open(f"{o}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
}

# DiffuseGAE on the Fonts subset (Leng et al. 2023, Tables 1-2, swaps) from models/fonts-diffae.pt, -gae.pt and
# -gae-ft.pt: every evaluation of scripts/diffusegae-tables.sh --cpu, which writes tables.md.
diffusegae_fonts() {
  local o="$out/diffusegae-fonts"
  scripts/diffusegae-tables.sh --cpu --ddim "${ddim[0]}" ${DDIM_THREADS:+--threads "$DDIM_THREADS"} \
    --diffae models/fonts-diffae.pt --gae models/fonts-gae.pt --gae-ft models/fonts-gae-ft.pt --out "$o"
  cp "$o/tables.md" "$o/summary.md"
}

# DiffuseGAE on faces (Leng et al. 2023, Tables 1-2, swaps) from models/faces-gae.pt, the post hoc GAE, and the
# Diff-AE it carries (exported from it bit for bit: `export --autoencoder`); the fine-tuned GAE does not ship, so
# its rows (docs/reference/diffusegae-faces/tables.md) are left out. Trains the five attribute classifiers (2
# epochs each, about 4 minutes on one thread) and ignores --n.
diffusegae_faces() {
  local o="$out/diffusegae-faces"
  DDIM="${ddim[0]}" scripts/reference/faces-glasses-data.sh >/dev/null
  mkdir -p "$o"
  [ -f "$o/diffae.pt" ] || "${ddim[@]}" export --model models/faces-gae.pt --autoencoder --release --storage fp16 \
    --out "$o/diffae.pt"
  scripts/diffusegae-tables.sh --faces --cpu --no-finetune --ddim "${ddim[0]}" ${DDIM_THREADS:+--threads "$DDIM_THREADS"} \
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
  DDIM="${ddim[0]}" scripts/reference/faces-glasses-data.sh >/dev/null
  DDIM="${ddim[0]}" DDIM_THREADS="${DDIM_THREADS:-}" scripts/direct-inversion-study.sh --quick \
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
    *) echo "reproduce: no shipped model named $name (see models/README.md)" >&2; exit 2 ;;
  esac
done
