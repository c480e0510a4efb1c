#!/usr/bin/env bash
# ddim against eager PyTorch (Debian's python3-torch, the same LibTorch version) on the same
# machine and thread count: training and DDIM sampling of the paper's U-Net. Writes JSON lines
# to bench/results-<host>.jsonl (or OUT) and prints them.
#   bench/run.sh [--quick] [--ddim PATH] [OUT]
#   bench/run.sh                 # CPU, all cores
#   THREADS=1 bench/run.sh       # one thread
#   BF16=1 bench/run.sh          # also bf16 autocast, both sides (CPUs with AVX512-BF16/AMX)
# --quick: one round of one iteration at batch 4 (the ctest smoke run; the numbers mean nothing).
# --ddim PATH (or DDIM=PATH): this built ddim; else build/ddim, built when missing. ROUNDS=N rounds
# (default 5); PYTHON: the interpreter with torch (default /usr/bin/python3). Exits 77 (ctest: skipped)
# when that Python has no torch.
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/../scripts/common.sh"
out=""
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
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
if [ -z "${DDIM:-}" ]; then
  DDIM="$root/build/ddim"
  [ -x "$DDIM" ] || scripts/build.sh >/dev/null
fi
net=(--widths 32,64,96,128 --image-size 32 --channels 1)
train=(--batch 64 --iters 10)
sample=(--batch 64 --iters 3 --steps 10)
if [ "$quick" = 1 ]; then
  rounds=1
  train=(--batch 4 --iters 1)
  sample=(--batch 4 --iters 1 --steps 2)
fi
compare=("$py" bench/compare.py --ddim "$DDIM" --python "$py" --rounds "$rounds" --threads "$threads" "${bf16[@]}")
{
  "${compare[@]}" train -- "${net[@]}" "${train[@]}"
  "${compare[@]}" sample -- "${net[@]}" "${sample[@]}"
} | tee "$out"
