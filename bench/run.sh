#!/usr/bin/env bash
# ddim against eager PyTorch (Debian's python3-torch, the same LibTorch version) and, for
# sampling and inversion, ONNX Runtime, on the same machine and thread count: training, DDIM
# sampling, DDIM and fixed-point inversion of the paper's U-Net, and embedder training through the
# 10-step sampler, alternating rounds. Writes JSON lines to bench/results-<host>.jsonl (or OUT) and
# prints them; each has every implementation's median, range, GFLOP/s and fraction of the
# machine's matrix-product rate, and ddim's ratios to each.
#   bench/run.sh [--quick] [--onnxruntime] [--ddim PATH] [OUT]
#   bench/run.sh                 # CPU, all cores
#   THREADS=1 bench/run.sh       # one thread
#   BF16=1 bench/run.sh          # also bf16 autocast, both sides (CPUs with AVX512-BF16/AMX)
#   bench/run.sh --onnxruntime   # also ONNX Runtime (fp32 sampling and inversion, batch 64 and 1)
# --quick: one round of one iteration at batch 4 (the ctest smoke run; the numbers mean nothing).
# --onnxruntime: npm's onnxruntime-node (its CPU library is inside the package, 297 MB), installed
# on first use under ORT_DIR (default ~/.cache/ddim/onnxruntime), version ORT_VERSION (1.31.1);
# with ORT_NO_INSTALL=1 a missing package exits 77 instead (ctest: skipped). The network goes to
# ONNX through bench/export_onnx.py (torch's exporter, a fixed batch).
# --ddim PATH (or DDIM=PATH): this built ddim; else build/ddim, built when missing. ROUNDS=N rounds
# (default 5); PYTHON: the interpreter with torch (default /usr/bin/python3). Exits 77 (ctest: skipped)
# when that Python has no torch.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/../scripts/common.sh"
out=""
quick=0
onnx=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --onnxruntime) onnx=1 ;;
    --ddim) DDIM="$(abs "$2")"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) out="$(abs "$1")" ;;
  esac
  shift
done
out="${out:-bench/results-$(hostname).jsonl}"
threads="${THREADS:-0}"
rounds="${ROUNDS:-5}"
bf16=(); [ "${BF16:-0}" = 1 ] && bf16=(--bf16)
# Debian's interpreter: python3-torch is installed for it, whatever python3 comes first on PATH.
py="${PYTHON:-/usr/bin/python3}"
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench/run.sh: skipped: $py has no torch (scripts/install-deps.sh installs python3-torch)"
  exit 77
fi
ort=()
if [ "$onnx" = 1 ]; then
  ort_dir="${ORT_DIR:-$HOME/.cache/ddim/onnxruntime}"
  if [ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]; then
    if [ "${ORT_NO_INSTALL:-0}" = 1 ]; then
      echo "bench/run.sh: skipped: no onnxruntime-node under $ort_dir (bench/run.sh --onnxruntime installs it)"
      exit 77
    fi
    command -v npm >/dev/null || die "--onnxruntime needs node and npm"
    echo "bench/run.sh: installing onnxruntime-node@${ORT_VERSION:-1.31.1} under $ort_dir (297 MB)" >&2
    mkdir -p "$ort_dir"
    npm install --ignore-scripts --no-audit --no-fund --silent --prefix "$ort_dir" \
      "onnxruntime-node@${ORT_VERSION:-1.31.1}" >&2 || die "npm could not install onnxruntime-node"
  fi
  ort=(--onnxruntime "$ort_dir")
fi
if [ -z "${DDIM:-}" ]; then
  DDIM="$root/build/ddim"
  [ -x "$DDIM" ] || scripts/build.sh >/dev/null
fi
net=(--widths 32,64,96,128 --image-size 32 --channels 1)
train=(--batch 64 --iters 10)
sample=(--batch 64 --iters 3 --steps 10)
sample1=(--batch 1 --iters 20 --steps 10)
invert=(--batch 64 --iters 3 --steps 10)
invert1=(--batch 1 --iters 20 --steps 10)
fixed=(--batch 64 --iters 1 --steps 10 --fixed-point 3)
embed=(--batch 16 --iters 3 --steps 10)
if [ "$quick" = 1 ]; then
  rounds=1
  train=(--batch 4 --iters 1 --warmup 0)
  sample=(--batch 4 --iters 1 --steps 2 --warmup 0)
  sample1=(--batch 1 --iters 1 --steps 2 --warmup 0)
  invert=(--batch 4 --iters 1 --steps 2 --warmup 0)
  invert1=(--batch 1 --iters 1 --steps 2 --warmup 0)
  fixed=(--batch 4 --iters 1 --steps 2 --warmup 0 --fixed-point 1)
  embed=(--batch 2 --iters 1 --steps 2 --warmup 0)
fi
compare=("$py" bench/compare.py --ddim "$DDIM" --python "$py" --rounds "$rounds" --threads "$threads" "${bf16[@]}")
{
  "${compare[@]}" train -- "${net[@]}" "${train[@]}"
  "${compare[@]}" train-embedder -- "${net[@]}" "${embed[@]}"
  "${compare[@]}" "${ort[@]}" sample -- "${net[@]}" "${sample[@]}"
  "${compare[@]}" "${ort[@]}" sample -- "${net[@]}" "${sample1[@]}"
  "${compare[@]}" "${ort[@]}" invert -- "${net[@]}" "${invert[@]}"
  "${compare[@]}" "${ort[@]}" invert -- "${net[@]}" "${invert1[@]}"
  "${compare[@]}" "${ort[@]}" invert -- "${net[@]}" "${fixed[@]}"
} | tee "$out"
